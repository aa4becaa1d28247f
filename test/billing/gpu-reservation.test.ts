// A GPU reservation over HTTP with a frozen clock: 100 H100-hours reserved at $2.00 (the plan's base fee, and an
// allowance pool the on-demand card draws), on-demand at $3.50 above it, spot at $1.20; a spot job preempted
// after 3 of its 5 hours is charged its actual time, and the operator's SLA credit for it is its own invoice
// line with the reason.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slaCreditAmount } from '../../service/src/domains/sla/service.ts';
import { signUpTenant, startService, type Harness, type TenantFixture } from '../service/harness.ts';
import { client } from './fixtures.ts';
import { startJobRunner, type Jobs } from './jobs-harness.ts';
import { checkLedger } from './ledger-check.ts';

const gpuBook = {
  id: 'gpu-cloud',
  currency: 'USD',
  versions: [
    {
      effective_from: '2026-01-01T00:00:00Z',
      rate_cards: [
        {
          id: 'h100/on-demand',
          match: { event_type: 'gpu.job', gpu_type: 'h100', availability_class: 'on_demand' },
          dimensions: { gpu_seconds: { gpu_time: {} } },
          // Reserved hours come out of the allowance (paid for by the reservation fee); the rest at on-demand.
          charges: [
            {
              dimension: 'gpu_seconds',
              allowance: 'h100_reserved',
              price: { model: 'per_unit', rate: '3.5', per: '3600' },
            },
          ],
        },
        {
          id: 'h100/spot',
          match: { event_type: 'gpu.job', gpu_type: 'h100', availability_class: 'spot' },
          dimensions: { gpu_seconds: { gpu_time: {} } },
          charges: [{ dimension: 'gpu_seconds', price: { model: 'per_unit', rate: '1.2', per: '3600' } }],
        },
      ],
    },
  ],
};

const job = (
  id: string,
  availability: 'on_demand' | 'spot',
  gpus: number,
  seconds: number,
  timestamp: string,
  outcome?: string,
) => ({
  transaction_id: id,
  customer_id: 'lab',
  event_type: 'gpu.job',
  timestamp,
  properties: {
    gpu_type: 'h100',
    gpu_count: gpus,
    duration_seconds: seconds,
    region: 'us-east',
    availability_class: availability,
    ...(outcome ? { outcome } : {}),
  },
});

describe('GPU reservation with a preempted spot job and an SLA credit', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;
  let jobs: Jobs;

  beforeAll(async () => {
    harness = await startService({ now: '2026-03-01T00:00:00Z' });
    tenant = await signUpTenant(harness);
    api = client(harness, tenant);
    jobs = await startJobRunner(harness);
    await api.ok('POST', '/v1/price_books', { book: gpuBook });
    await api.ok('POST', '/v1/plans', {
      code: 'h100-reservation',
      name: 'H100 reservation (100 GPU-hours at $2.00)',
      price_book: 'gpu-cloud',
      base_fee: '200',
      interval: 'month',
      allowances: { h100_reserved: '360000' },
      invoice_grace_hours: 0,
    });
    await api.ok('POST', '/v1/customers', { external_id: 'lab', currency: 'USD' });
    await api.ok('POST', '/v1/customers/lab/subscriptions', {
      plan: 'h100-reservation',
      started_at: '2026-03-01T00:00:00Z',
    });
  });
  afterAll(async () => {
    await jobs?.stop();
    await harness?.close();
  });

  it('bills reserved hours at the reserved price, on-demand above, the preempted spot job at its actual time, less the SLA credit', async () => {
    harness.clock.set('2026-03-20T00:00:00Z');
    const acks = await api.events(
      job('od-1', 'on_demand', 8, 36_000, '2026-03-05T00:00:00Z'), // 80 GPU-h: reserved
      job('od-2', 'on_demand', 4, 28_800, '2026-03-10T00:00:00Z'), // 32 GPU-h: 20 reserved, 12 on-demand = $42
      job('spot-1', 'spot', 2, 10_800, '2026-03-12T00:00:00Z', 'preempted'), // asked 5 h, preempted after 3: 6 GPU-h = $7.20
      job('spot-2', 'spot', 1, 3_600, '2026-03-13T00:00:00Z'), // completed: $1.20
    );
    expect(acks.map((a) => [a.transaction_id, a.status, a.amount])).toEqual([
      ['od-1', 'accepted', '0.000000000'],
      ['od-2', 'accepted', '42.000000000'],
      ['spot-1', 'accepted', '7.200000000'],
      ['spot-2', 'accepted', '1.200000000'],
    ]);

    // Bad requests name their field; only a preempted job of this customer can be credited, once.
    const notPreempted = await api.call('POST', '/v1/customers/lab/sla_credits', {
      transaction_id: 'spot-2',
      reason: 'x',
    });
    expect(notPreempted.status).toBe(422);
    expect(notPreempted.body.error).toMatchObject({
      code: 'event_not_preempted',
      details: [{ field: 'transaction_id' }],
    });
    const unknown = await api.call('POST', '/v1/customers/lab/sla_credits', { transaction_id: 'nope', reason: 'x' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ code: 'event_not_found', details: [{ field: 'transaction_id' }] });
    const zero = await api.call('POST', '/v1/customers/lab/sla_credits', {
      transaction_id: 'spot-1',
      reason: 'x',
      percent: '0',
    });
    expect(zero.status).toBe(400);
    expect(zero.body.error.details[0].field).toBe('percent');
    const noReason = await api.call('POST', '/v1/customers/lab/sla_credits', { transaction_id: 'spot-1' });
    expect(noReason.status).toBe(400);
    expect(noReason.body.error.details[0].field).toBe('reason');

    const reason = 'Spot capacity reclaimed by the provider at 14:02 UTC';
    const credit = await api.ok('POST', '/v1/customers/lab/sla_credits', { transaction_id: 'spot-1', reason });
    // The percentage prints as every read prints it (7 decimals), not as the request gave it.
    expect(credit).toMatchObject({
      transaction_id: 'spot-1',
      percent: '100.0000000',
      charge: '7.200000000',
      amount: '7.200000000',
      reason,
      period_start: '2026-03-01T00:00:00.000Z',
    });
    const again = await api.call('POST', '/v1/customers/lab/sla_credits', { transaction_id: 'spot-1', reason });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('sla_credit_exists');
    expect((await api.ok('GET', '/v1/customers/lab/sla_credits')).data).toEqual([credit]);

    harness.clock.set('2026-04-01T00:00:05Z');
    await jobs.tick();
    const invoice = (await api.ok('GET', '/v1/invoices?customer_id=lab')).data.find(
      (i: any) => i.period.start === '2026-03-01T00:00:00.000Z',
    );
    expect(invoice).toMatchObject({ status: 'finalized', total: '243.200000000' });
    expect(invoice.lines.map((l: any) => [l.kind, l.description, l.quantity, l.amount])).toEqual([
      ['base_fee', 'H100 reservation (100 GPU-hours at $2.00) base fee', '1.000000', '200.000000000'],
      [
        'usage',
        'h100/on-demand: gpu_seconds (region us-east, gpu_type h100, availability_class on_demand)',
        '43200.000000',
        '42.000000000',
      ],
      [
        'usage',
        'h100/spot: gpu_seconds (region us-east, gpu_type h100, availability_class spot)',
        '25200.000000',
        '8.400000000',
      ],
      ['allowance', 'Included h100_reserved: 360000 units', '360000.000000', '0.000000000'],
      ['sla_credit', `SLA credit for spot-1: ${reason}`, null, '-7.200000000'],
    ]);

    // The period is invoiced: a later credit for it is refused (a credit note is the way).
    const late = await api.call('POST', '/v1/customers/lab/sla_credits', { transaction_id: 'spot-1', reason: 'again' });
    expect(late.status).toBe(409);
    await checkLedger(harness.database.owner, tenant.tenantId);
  });

  it('computes a partial SLA credit half-even to the nano-unit (pure)', () => {
    expect(slaCreditAmount(7_200_000_000n, '100')).toBe(7_200_000_000n);
    expect(slaCreditAmount(7_200_000_000n, '50')).toBe(3_600_000_000n);
    expect(slaCreditAmount(1n, '50')).toBe(0n); // 0.5 nano: half to even
    expect(slaCreditAmount(3n, '50')).toBe(2n); // 1.5 nano
    expect(slaCreditAmount(10n, '33.3333333')).toBe(3n);
  });
});
