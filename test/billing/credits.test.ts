// Real-time credits over HTTP: grants drawn by the kernel at ingestion with the balance after each event in the
// ack, the two depletion policies, top-ups that cover the very next event, grant order and scope, voids, and a
// double-entry ledger that balances after every step.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUpTenant, startService, type Harness, type TenantFixture } from '../service/harness.ts';
import { billingBook, client, gpuJob, tokens } from './fixtures.ts';
import { checkLedger, nano } from './ledger-check.ts';

describe('real-time credits and the ledger', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;

  const grant = (customer: string, body: Record<string, unknown>) =>
    api.ok('POST', `/v1/customers/${customer}/credit_grants`, body);
  const customer = async (id: string, policy?: 'overage' | 'block') => {
    await api.ok('POST', '/v1/customers', { external_id: id, currency: 'USD' });
    await api.ok('PUT', `/v1/customers/${id}/price_book`, {
      price_book: 'ai-platform',
      effective_from: '2026-01-01T00:00:00Z',
    });
    if (policy) await api.ok('PATCH', `/v1/customers/${id}/wallet`, { on_depletion: policy });
  };

  beforeAll(async () => {
    harness = await startService({ now: '2026-03-20T00:00:00Z' });
    tenant = await signUpTenant(harness);
    api = client(harness, tenant);
    await api.ok('POST', '/v1/price_books', { book: billingBook });
    await api.ok('POST', '/v1/meters', {
      code: 'gpu_jobs',
      name: 'GPU jobs',
      event_type: 'gpu.job',
      aggregation: 'count',
    });
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('draws a $500 prepaid wallet to zero mid-period; with overage, the rest and the batch job after depletion are billed', async () => {
    await customer('wallet-overage', 'overage');
    await grant('wallet-overage', { kind: 'prepaid', amount: '500', name: 'Starter wallet' });
    // $200, $200, then $150 of which $100 is covered: the balance reaches zero inside one batch.
    const acks = await api.events(
      tokens('wo-1', 'wallet-overage', 10_000_000, '2026-03-02T00:00:00Z'),
      tokens('wo-2', 'wallet-overage', 10_000_000, '2026-03-03T00:00:00Z'),
      tokens('wo-3', 'wallet-overage', 7_500_000, '2026-03-04T00:00:00Z'),
    );
    expect(acks.map((a) => [a.status, a.amount, a.credits_applied, a.credit_balance])).toEqual([
      ['accepted', '0.000000000', '200.000000000', '300.000000000'],
      ['accepted', '0.000000000', '200.000000000', '100.000000000'],
      ['accepted', '50.000000000', '100.000000000', '0.000000000'],
    ]);
    // A batch job that finishes after depletion: 8 H100s for 10 hours = $200, billed in full.
    const [job] = await api.events(gpuJob('wo-job', 'wallet-overage', 8, 36_000, '2026-03-05T00:00:00Z'));
    expect(job).toMatchObject({
      status: 'accepted',
      amount: '200.000000000',
      credits_applied: '0.000000000',
      credit_balance: '0.000000000',
      period_total: '250.000000000',
    });

    const wallet = await api.ok('GET', '/v1/customers/wallet-overage/wallet');
    expect(wallet).toMatchObject({ on_depletion: 'overage', balance: '0.000000000', currency: 'USD' });
    expect(wallet.grants).toEqual([
      expect.objectContaining({ kind: 'prepaid', amount: '500.000000000', balance: '0.000000000', status: 'active' }),
    ]);
    const receipt = await api.ok('GET', '/v1/events/wo-3/receipt');
    expect(receipt.receipt.filter((s: any) => s.step === 'credit')).toEqual([
      { step: 'credit', grant: wallet.grants[0].id, kind: 'prepaid', amount: '100.000000000', balance: '0.000000000' },
    ]);

    // Each drawdown is one ledger transaction referencing its event: debit the grant, credit usage revenue.
    const drawdowns = await api.ok('GET', '/v1/ledger/transactions?customer_id=wallet-overage&limit=100');
    const byReference = new Map(drawdowns.data.map((t: any) => [t.reference, t]));
    expect(byReference.get('wo-3')).toMatchObject({
      kind: 'usage_drawdown',
      occurred_at: '2026-03-04T00:00:00.000Z',
      entries: [
        { account: `grant:${wallet.grants[0].id}`, amount: '100.000000000' },
        { account: 'revenue:usage:USD', amount: '-100.000000000' },
      ],
    });
    expect(byReference.has('wo-job')).toBe(false);
    expect(byReference.get(wallet.grants[0].id)).toMatchObject({ kind: 'grant_issued' });
    const balances = await checkLedger(harness.database.owner, tenant.tenantId);
    expect(balances.get(`grant:${wallet.grants[0].id}`)).toBe(0n);

    const [period] = await harness.database.owner`
      select p.amount::text, p.credits_applied::text from customer_periods p join customers c on c.tenant_id = p.tenant_id and c.id = p.customer_id
      where c.external_id = 'wallet-overage'`;
    expect(period).toEqual({ amount: '250.000000000', credits_applied: '500.000000000' });
  });

  it('with block, rejects what the credits do not cover with credits_exhausted, and a top-up covers the very next event', async () => {
    await customer('wallet-block', 'block');
    await grant('wallet-block', { kind: 'prepaid', amount: '500' });
    const acks = await api.refusing(
      tokens('wb-1', 'wallet-block', 10_000_000, '2026-03-02T00:00:00Z'),
      tokens('wb-2', 'wallet-block', 10_000_000, '2026-03-03T00:00:00Z'),
      // $150 against $100 left: rejected whole, nothing drawn.
      tokens('wb-3', 'wallet-block', 7_500_000, '2026-03-04T00:00:00Z'),
      tokens('wb-4', 'wallet-block', 5_000_000, '2026-03-04T01:00:00Z'),
    );
    expect(acks.map((a) => [a.status, a.error?.code ?? a.credit_balance])).toEqual([
      ['accepted', '300.000000000'],
      ['accepted', '100.000000000'],
      ['rejected', 'credits_exhausted'],
      ['accepted', '0.000000000'],
    ]);
    // The batch job after depletion is refused, and the refusal stores nothing.
    const [job] = await api.refusing(gpuJob('wb-job', 'wallet-block', 8, 36_000, '2026-03-05T00:00:00Z'));
    expect(job).toMatchObject({ status: 'rejected', transaction_id: 'wb-job', error: { code: 'credits_exhausted' } });
    expect((await api.call('GET', '/v1/events/wb-job/receipt')).status).toBe(404);
    // Allowance-free zero-cost events still pass: only an uncovered remainder blocks.
    const [free] = await api.refusing(tokens('wb-zero', 'wallet-block', 0, '2026-03-05T00:00:00Z'));
    expect(free).toMatchObject({ status: 'accepted', amount: '0.000000000' });

    await grant('wallet-block', { kind: 'prepaid', amount: '300', name: 'Top-up' });
    const [retried] = await api.refusing(gpuJob('wb-job', 'wallet-block', 8, 36_000, '2026-03-05T00:00:00Z'));
    expect(retried).toMatchObject({
      status: 'accepted',
      amount: '0.000000000',
      credits_applied: '200.000000000',
      credit_balance: '100.000000000',
    });
    const wallet = await api.ok('GET', '/v1/customers/wallet-block/wallet');
    expect(wallet.balance).toBe('100.000000000');
    expect(wallet.grants.map((g: any) => g.balance)).toEqual(['0.000000000', '100.000000000']);
    await checkLedger(harness.database.owner, tenant.tenantId);
  });

  it('never draws the same credit twice: concurrent batches and two periods in one batch share the balance', async () => {
    await customer('racer', 'block');
    await grant('racer', { kind: 'prepaid', amount: '500' });
    // Ten requests of $100 each at once against $500: exactly five get through.
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        api.refusing(tokens(`race-${i}`, 'racer', 5_000_000, '2026-03-10T00:00:00Z')),
      ),
    );
    const statuses = responses.map((r) => r[0].status);
    expect(statuses.filter((s) => s === 'accepted')).toHaveLength(5);
    expect(
      responses.filter((r) => r[0].status === 'rejected').every((r) => r[0].error.code === 'credits_exhausted'),
    ).toBe(true);
    expect((await api.ok('GET', '/v1/customers/racer/wallet')).balance).toBe('0.000000000');

    // A late event for March and one for April in the same batch, against $150: the first takes $100, the second is refused.
    harness.clock.set('2026-04-02T00:00:00Z');
    await grant('racer', { kind: 'prepaid', amount: '150' });
    const acks = await api.refusing(
      tokens('late-march', 'racer', 5_000_000, '2026-03-31T23:00:00Z'),
      tokens('early-april', 'racer', 5_000_000, '2026-04-01T01:00:00Z'),
    );
    expect(acks.map((a) => [a.status, a.error?.code ?? a.credit_balance])).toEqual([
      ['accepted', '50.000000000'],
      ['rejected', 'credits_exhausted'],
    ]);
    harness.clock.set('2026-03-20T00:00:00Z');
    await checkLedger(harness.database.owner, tenant.tenantId);
  });

  it('draws free credit before prepaid, honours scope and effective dates, and voiding returns the rest to its source', async () => {
    await customer('mixed');
    const prepaid = await grant('mixed', { kind: 'prepaid', amount: '300' });
    const promo = await grant('mixed', {
      kind: 'promotional',
      amount: '10',
      scope: { cards: ['llm/tokens'] },
      expires_at: '2026-06-01T00:00:00Z',
    });
    const later = await grant('mixed', {
      kind: 'goodwill',
      amount: '25',
      reason: 'Outage on 2026-03-15',
      effective_at: '2026-03-25T00:00:00Z',
    });
    const gpuOnly = await grant('mixed', {
      kind: 'promotional',
      amount: '5',
      priority: 1,
      scope: { meters: ['gpu_jobs'] },
    });
    expect(gpuOnly.scope).toEqual({ cards: null, event_types: ['gpu.job'], meters: ['gpu_jobs'] });

    // GPU job ($200): the tokens-only promotion and the not-yet-effective goodwill are skipped; the GPU promotion, then prepaid.
    const [job] = await api.events(gpuJob('mx-job', 'mixed', 8, 36_000, '2026-03-10T00:00:00Z'));
    expect(job).toMatchObject({
      status: 'accepted',
      amount: '0.000000000',
      credits_applied: '200.000000000',
      credit_balance: '115.000000000',
    });
    const jobReceipt = await api.ok('GET', '/v1/events/mx-job/receipt');
    expect(jobReceipt.receipt.filter((s: any) => s.step === 'credit').map((s: any) => [s.grant, s.amount])).toEqual([
      [gpuOnly.id, '5.000000000'],
      [prepaid.id, '195.000000000'],
    ]);
    // Tokens ($20): the promotion first, then prepaid. The goodwill is not in force yet, so not in the balance.
    const [llm] = await api.events(tokens('mx-llm', 'mixed', 1_000_000, '2026-03-11T00:00:00Z'));
    expect(llm).toMatchObject({ credits_applied: '20.000000000', credit_balance: '95.000000000' });
    const llmReceipt = await api.ok('GET', '/v1/events/mx-llm/receipt');
    expect(
      llmReceipt.receipt.filter((s: any) => s.step === 'credit').map((s: any) => [s.grant, s.kind, s.amount]),
    ).toEqual([
      [promo.id, 'promotional', '10.000000000'],
      [prepaid.id, 'prepaid', '10.000000000'],
    ]);
    // Once the goodwill takes effect it counts, and as free credit it is drawn before prepaid.
    harness.clock.set('2026-03-27T00:00:00Z');
    const [after] = await api.events(tokens('mx-after', 'mixed', 500_000, '2026-03-26T00:00:00Z'));
    expect(after).toMatchObject({ credits_applied: '10.000000000', credit_balance: '110.000000000' });
    const afterReceipt = await api.ok('GET', '/v1/events/mx-after/receipt');
    expect(afterReceipt.receipt.filter((s: any) => s.step === 'credit').map((s: any) => s.grant)).toEqual([later.id]);

    const voided = await api.ok('POST', `/v1/customers/mixed/credit_grants/${prepaid.id}/void`, {
      reason: 'refund requested',
    });
    expect(voided).toMatchObject({ status: 'voided', balance: '0.000000000' });
    expect((await api.call('POST', `/v1/customers/mixed/credit_grants/${prepaid.id}/void`, {})).status).toBe(409);
    const voids = await api.ok('GET', `/v1/ledger/transactions?reference=${prepaid.id}`);
    expect(voids.data[0]).toMatchObject({
      kind: 'grant_voided',
      entries: [
        { account: `grant:${prepaid.id}`, amount: '95.000000000' },
        { account: 'clearing:prepaid_purchases:USD', amount: '-95.000000000' },
      ],
    });
    const list = await api.ok('GET', '/v1/customers/mixed/credit_grants?status=active');
    expect(list.data.map((g: any) => g.id)).toEqual([promo.id, later.id, gpuOnly.id]);

    const balances = await checkLedger(harness.database.owner, tenant.tenantId);
    const accounts = await api.ok('GET', '/v1/ledger/accounts?customer_id=mixed');
    for (const account of accounts.data) {
      // The API's balance is the sum of the entries, shown in the account's normal direction.
      const debit = balances.get(account.code)!;
      expect(nano(account.balance)).toBe(account.kind === 'liability' || account.kind === 'revenue' ? -debit : debit);
    }
    expect(accounts.data.find((a: any) => a.code === `grant:${later.id}`).balance).toBe('15.000000000');
  });

  it('refuses bad grants with 4xx naming the field, and keeps the ledger append-only', async () => {
    await customer('strict');
    const cases: [unknown, number, string][] = [
      [{ kind: 'prepaid', amount: '-5' }, 400, 'amount'],
      [{ kind: 'prepaid', amount: '0' }, 400, 'amount'],
      [{ kind: 'prepaid', amount: 100 }, 400, 'amount'],
      [{ kind: 'prepaid', amount: '1.0000000001' }, 400, 'amount'],
      [{ kind: 'cash', amount: '5' }, 400, 'kind'],
      [{ kind: 'goodwill', amount: '5' }, 400, 'reason'],
      [
        { kind: 'prepaid', amount: '5', effective_at: '2026-05-01T00:00:00Z', expires_at: '2026-04-01T00:00:00Z' },
        400,
        'expires_at',
      ],
      [{ kind: 'prepaid', amount: '5', expires_at: '2026-03-01T00:00:00Z' }, 422, 'expires_at'],
      [{ kind: 'prepaid', amount: '5', scope: {} }, 400, 'scope'],
      [{ kind: 'prepaid', amount: '5', scope: { meters: ['nope'] } }, 400, 'scope.meters.0'],
      [{ kind: 'prepaid', amount: '5', colour: 'red' }, 400, 'colour'],
    ];
    for (const [body, status, field] of cases) {
      const response = await api.call('POST', '/v1/customers/strict/credit_grants', body);
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect(
        response.body.error.details.map((d: any) => d.field),
        JSON.stringify(body),
      ).toContain(field);
    }
    expect(
      (await api.call('POST', '/v1/customers/nobody/credit_grants', { kind: 'prepaid', amount: '5' })).status,
    ).toBe(404);
    expect(
      (await api.call('PATCH', '/v1/customers/strict/wallet', { on_depletion: 'sometimes' })).body.error.details[0]
        .field,
    ).toBe('on_depletion');
    expect(
      (await api.call('POST', '/v1/customers/strict/credit_grants/not-a-uuid/void', {})).body.error.details[0].field,
    ).toBe('path.grant_id');
    const viewer = await api.ok('POST', '/v1/api_keys', { kind: 'secret', name: 'viewer', role: 'viewer' });
    const asViewer = await fetch(`${harness.url}/v1/customers/strict/credit_grants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${viewer.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'prepaid', amount: '5' }),
    });
    expect(asViewer.status).toBe(403);

    for (const statement of [
      'update ledger_entries set amount = 1',
      'delete from ledger_entries',
      'delete from ledger_transactions',
      "update ledger_accounts set kind = 'asset'",
    ]) {
      await expect(
        harness.database.app.begin(async (tx) => {
          await tx`select set_config('app.tenant_id', ${tenant.tenantId}, true)`;
          await tx.unsafe(statement);
        }),
      ).rejects.toThrow(/permission denied/);
    }
    // A posting written past the service, straight as the service role: its transaction and its entries.
    const forge = (id: string, entries: [account: string, amount: number][]) =>
      harness.database.app.begin(async (tx) => {
        await tx`select set_config('app.tenant_id', ${tenant.tenantId}, true)`;
        await tx`insert into ledger_transactions (tenant_id, id, kind, currency, reference, occurred_at, recorded_at)
                 values (${tenant.tenantId}, ${id}, 'grant_issued', 'USD', 'forged', now(), now())`;
        await tx`insert into ledger_entries (tenant_id, transaction_id, line, account, amount)
                 select ${tenant.tenantId}, ${id}, e.line - 1, e.account, e.amount
                 from unnest(${entries.map((e) => e[0])}::text[], ${entries.map((e) => e[1])}::numeric[])
                   with ordinality as e(account, amount, line)`;
      });
    // An unbalanced posting is refused by the database itself.
    await expect(forge('00000000-0000-4000-8000-000000000001', [['revenue:usage:USD', -1]])).rejects.toThrow(
      /does not balance/,
    );
    // So is a posting that sums to zero across two currencies.
    await harness.database.owner`insert into ledger_accounts (tenant_id, code, kind, currency, created_at)
                                  values (${tenant.tenantId}, 'forged:EUR', 'revenue', 'EUR', now())`;
    await expect(
      forge('00000000-0000-4000-8000-000000000002', [
        ['revenue:usage:USD', -1],
        ['forged:EUR', 1],
      ]),
    ).rejects.toThrow(/does not balance \(sum 0(\.0+)?, 2 currencies\)/);
    await checkLedger(harness.database.owner, tenant.tenantId);
  });
});
