// Property: for random plans, credit grants, depletion policies and event streams, the period's invoice total
// equals the sum of its lines and equals (sum of receipts - credits applied + fees) rounded once to the minor
// unit, and the ledger balances, with each grant's balance its amount less what receipts drew from it.
// Expected values are computed here independently of the service (BigInt, from the receipts over HTTP).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUpTenant, startService, type Harness, type TenantFixture } from '../service/harness.ts';
import { billingBook, client, gpuJob, tokens } from './fixtures.ts';
import { startJobRunner, type Jobs } from './jobs-harness.ts';
import { checkLedger, nano } from './ledger-check.ts';

const money = (n: bigint) => {
  const text = n.toString().padStart(10, '0');
  return `${text.slice(0, -9)}.${text.slice(-9)}`;
};
const halfEven = (n: bigint, d: bigint) => {
  let q = n / d;
  let r = n % d;
  if (r < 0n) {
    q -= 1n;
    r += d;
  }
  return r * 2n > d || (r * 2n === d && q % 2n !== 0n) ? q + 1n : q;
};

const monthStart = Date.parse('2026-03-01T00:00:00Z');
const monthEnd = Date.parse('2026-04-01T00:00:00Z');

const scenario = fc.record({
  baseFee: fc.bigInt({ min: 0n, max: 500_000_000_000n }),
  minimum: fc.option(fc.bigInt({ min: 1n, max: 300_000_000_000n }), { nil: undefined }),
  allowance: fc.integer({ min: 0, max: 3_000_000 }),
  discount: fc.option(fc.integer({ min: 1, max: 500_000_000 }), { nil: undefined }),
  startOffset: fc.integer({ min: 0, max: 9 * 86_400 }),
  policy: fc.constantFrom('overage' as const, 'block' as const),
  grants: fc.array(
    fc.record({
      kind: fc.constantFrom('prepaid', 'promotional', 'goodwill'),
      amount: fc.bigInt({ min: 1n, max: 200_000_000_000n }),
      priority: fc.integer({ min: -2, max: 2 }),
    }),
    { maxLength: 3 },
  ),
  events: fc.array(
    fc.oneof(
      fc.record({
        type: fc.constant('tokens' as const),
        count: fc.integer({ min: 0, max: 5_000_000 }),
        model: fc.constantFrom('a', 'b', 'c'),
        at: fc.integer({ min: 0, max: 9 * 86_400 }),
      }),
      fc.record({
        type: fc.constant('gpu' as const),
        gpus: fc.constantFrom(0.25, 1, 2, 8),
        seconds: fc.integer({ min: 1, max: 40_000 }),
        at: fc.integer({ min: 0, max: 9 * 86_400 }),
      }),
    ),
    { minLength: 1, maxLength: 12 },
  ),
  batches: fc.integer({ min: 1, max: 3 }),
});

describe('invoice totals and the ledger, for random event streams', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;
  let jobs: Jobs;
  let run = 0;

  beforeAll(async () => {
    harness = await startService({ now: '2026-03-20T00:00:00Z' });
    tenant = await signUpTenant(harness);
    api = client(harness, tenant);
    jobs = await startJobRunner(harness);
    await api.ok('POST', '/v1/price_books', { book: billingBook });
  });
  afterAll(async () => {
    await jobs?.stop();
    await harness?.close();
  });

  it('total = sum of lines = round(sum of receipts - credits applied + fees), and the ledger balances', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        run += 1;
        const id = `prop-${run}`;
        harness.clock.set('2026-03-20T00:00:00Z');
        const startMs = monthStart + s.startOffset * 1000;
        await api.ok('POST', '/v1/plans', {
          code: id,
          name: `Plan ${run}`,
          price_book: 'ai-platform',
          base_fee: money(s.baseFee),
          interval: 'month',
          allowances: { tokens: s.allowance },
          ...(s.minimum !== undefined ? { minimum_spend: money(s.minimum) } : {}),
          invoice_grace_hours: 0,
        });
        await api.ok('POST', '/v1/customers', { external_id: id, currency: 'USD' });
        await api.ok('POST', `/v1/customers/${id}/subscriptions`, {
          plan: id,
          started_at: new Date(startMs).toISOString(),
          anchor_day: 1,
          ...(s.discount !== undefined ? { discount_percent: (s.discount / 1e7).toFixed(7) } : {}),
        });
        await api.ok('PATCH', `/v1/customers/${id}/wallet`, { on_depletion: s.policy });
        const grants: { id: string; amount: bigint }[] = [];
        for (const g of s.grants) {
          const created = await api.ok('POST', `/v1/customers/${id}/credit_grants`, {
            kind: g.kind,
            amount: money(g.amount),
            priority: g.priority,
            reason: 'property test',
          });
          grants.push({ id: created.id, amount: g.amount });
        }

        const events = s.events.map((e, i) => {
          const at = new Date(Math.min(startMs + e.at * 1000, Date.parse('2026-03-19T23:59:59Z'))).toISOString();
          return e.type === 'tokens'
            ? tokens(`${id}-${i}`, id, e.count, at, e.model)
            : gpuJob(`${id}-${i}`, id, e.gpus, e.seconds, at);
        });
        const size = Math.ceil(events.length / s.batches);
        const acks: any[] = [];
        for (let i = 0; i < events.length; i += size)
          acks.push(...(await (s.policy === 'block' ? api.refusing : api.events)(...events.slice(i, i + size))));
        for (const ack of acks) if (ack.status === 'rejected') expect(ack.error.code).toBe('credits_exhausted');
        const accepted = acks.filter((a) => a.status === 'accepted');

        // From the receipts: usage net of discounts, credits drawn (per grant), what is left to bill.
        let net = 0n;
        let credits = 0n;
        let billed = 0n;
        const drawn = new Map<string, bigint>();
        for (const ack of accepted) {
          const receipt = await api.ok('GET', `/v1/events/${ack.transaction_id}/receipt`);
          const discount = receipt.receipt
            .filter((st: any) => st.step === 'discount')
            .reduce((sum: bigint, st: any) => sum + nano(st.amount), 0n);
          net += nano(receipt.subtotal) - discount;
          for (const st of receipt.receipt.filter((st: any) => st.step === 'credit')) {
            credits += nano(st.amount);
            drawn.set(st.grant, (drawn.get(st.grant) ?? 0n) + nano(st.amount));
          }
          billed += nano(receipt.amount);
          expect(nano(ack.credits_applied)).toBe(
            receipt.receipt
              .filter((st: any) => st.step === 'credit')
              .reduce((sum: bigint, st: any) => sum + nano(st.amount), 0n),
          );
        }
        expect(billed).toBe(net - credits);

        // Fees: the base fee and the minimum, both prorated by the second over [start, April 1) of March.
        const seconds = BigInt((monthEnd - startMs) / 1000);
        const fullSeconds = BigInt((monthEnd - monthStart) / 1000);
        const prorated = (amount: bigint) =>
          seconds === fullSeconds ? amount : halfEven(amount * seconds, fullSeconds);
        const fee = prorated(s.baseFee);
        const minimum = s.minimum === undefined ? 0n : prorated(s.minimum);
        const trueUp = minimum > net ? minimum - net : 0n;
        const exact = net - credits + fee + trueUp;

        harness.clock.set('2026-04-01T00:00:00Z');
        await jobs.tick();
        const invoices = await api.ok('GET', `/v1/invoices?customer_id=${id}`);
        expect(invoices.data).toHaveLength(1);
        const invoice = invoices.data[0];
        expect(invoice.status).toBe(exact === 0n || halfEven(exact, 10_000_000n) === 0n ? 'paid' : 'finalized');
        const lines = invoice.lines as any[];
        expect(lines.reduce((sum, l) => sum + nano(l.amount), 0n)).toBe(nano(invoice.total));
        expect(lines.reduce((sum, l) => sum + nano(l.amount_exact), 0n)).toBe(exact);
        expect(nano(invoice.total)).toBe(halfEven(exact, 10_000_000n) * 10_000_000n);
        expect(nano(invoice.total_exact)).toBe(exact);
        for (const l of lines) {
          expect(nano(l.amount) % 10_000_000n).toBe(0n);
          const diff = nano(l.amount) - nano(l.amount_exact);
          expect(diff > -10_000_000n && diff < 10_000_000n).toBe(true);
        }
        expect(lines.filter((l) => l.kind === 'credit').reduce((sum, l) => sum + nano(l.amount_exact), 0n)).toBe(
          -credits,
        );

        const balances = await checkLedger(harness.database.owner, tenant.tenantId);
        const customerAccounts = (await api.ok('GET', `/v1/ledger/accounts?customer_id=${id}`)).data;
        const receivable = customerAccounts.find((a: any) => a.code.startsWith('receivable:'));
        expect(receivable ? nano(receivable.balance) : 0n).toBe(
          invoice.status === 'finalized' ? nano(invoice.total) : 0n,
        );
        for (const g of grants) {
          expect(balances.get(`grant:${g.id}`) ?? 0n).toBe(-(g.amount - (drawn.get(g.id) ?? 0n)));
        }
      }),
      { numRuns: 15 },
    );
  });
});
