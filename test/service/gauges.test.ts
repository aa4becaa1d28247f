// time_weighted_sum meters over HTTP: a gauge (GPUs held, storage in use) integrated over time per group, split
// by day, with filters, up to now while the period runs and to its end after, and carried into the next period.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rest, signUpTenant, startService, type Harness, type TenantFixture } from './harness.ts';

const book = {
  id: 'gauges',
  currency: 'USD',
  versions: [
    {
      effective_from: '2026-01-01T00:00:00Z',
      rate_cards: [
        { id: 'gpu-level', match: { event_type: 'gpu.level' }, charges: [{ price: { model: 'flat', amount: '0' } }] },
      ],
    },
  ],
};

const hour = 3600;

describe('time-weighted meters', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  const get = (path: string) => rest(harness, 'GET', path, { key: tenant.secretKey });
  const level = (id: string, timestamp: string, gpu_type: string, count: number | string, region = 'us') => ({
    transaction_id: id,
    customer_id: 'lab',
    event_type: 'gpu.level',
    timestamp,
    properties: { gpu_type, count, region },
  });
  const gauge = async (at?: string) => {
    const usage = await get(`/v1/customers/lab/usage${at ? `?at=${at}` : ''}`);
    expect(usage.status).toBe(200);
    return usage.body.meters.find((m: any) => m.code === 'gpus');
  };

  beforeAll(async () => {
    harness = await startService({ now: '2026-03-15T00:00:00Z' });
    tenant = await signUpTenant(harness);
    const setup = [
      ['POST', '/v1/customers', { external_id: 'lab', currency: 'USD' }],
      ['POST', '/v1/price_books', { book }],
      ['PUT', '/v1/customers/lab/price_book', { price_book: 'gauges', effective_from: '2026-01-01T00:00:00Z' }],
      [
        'POST',
        '/v1/meters',
        {
          code: 'gpus',
          name: 'GPUs held',
          event_type: 'gpu.level',
          aggregation: 'time_weighted_sum',
          property: 'count',
          group_by: ['gpu_type'],
          filters: [{ property: 'region', op: 'eq', value: 'us' }],
        },
      ],
    ] as const;
    for (const [method, path, body] of setup) {
      const response = await rest(harness, method, path, { key: tenant.secretKey, body });
      expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBeLessThan(300);
    }
    const events = [
      // Sent out of order: the integral follows the timestamps, not the arrival.
      level('h3', '2026-03-14T22:00:00Z', 'h100', 4),
      level('h1', '2026-03-13T20:00:00Z', 'h100', 2),
      level('h2', '2026-03-14T00:00:00Z', 'h100', '0.5'),
      level('a1', '2026-03-14T23:00:00Z', 'a100', 1),
      level('eu', '2026-03-14T21:00:00Z', 'h100', 100, 'eu'),
    ];
    const response = await rest(harness, 'POST', '/v1/events', { key: tenant.secretKey, body: { events } });
    expect(response.body.accepted).toBe(5);
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('integrates each group up to now, in unit-seconds by UTC day, skipping filtered readings', async () => {
    const meter = await gauge();
    expect(meter.aggregation).toBe('time_weighted_sum');
    const h100 = meter.groups.find((g: any) => g.group.gpu_type === 'h100');
    const a100 = meter.groups.find((g: any) => g.group.gpu_type === 'a100');
    // h100: 2 GPUs for 4 h on the 13th; 0.5 for 22 h then 4 for 2 h on the 14th. a100: 1 GPU for the last hour.
    expect(h100.value).toBe(String(2 * 4 * hour + 0.5 * 22 * hour + 4 * 2 * hour));
    expect(h100.days).toEqual([
      {
        day: '2026-03-13',
        value: String(2 * 4 * hour),
        event_count: '1',
        amount: '0.000000000',
        gross_amount: '0.000000000',
      },
      {
        day: '2026-03-14',
        value: String(0.5 * 22 * hour + 4 * 2 * hour),
        event_count: '2',
        amount: '0.000000000',
        gross_amount: '0.000000000',
      },
    ]);
    expect(h100.event_count).toBe('3');
    expect(a100.value).toBe(String(hour));
    expect(meter.groups).toHaveLength(2);
  });

  it('stops at the period end once it is over, and carries each level into the next period', async () => {
    harness.clock.set('2026-04-01T12:00:00Z');
    const march = await gauge('2026-03-20T00:00:00Z');
    const h100 = march.groups.find((g: any) => g.group.gpu_type === 'h100');
    // 4 GPUs from 03-14 22:00 to 04-01 00:00: 17 days and 2 hours.
    expect(h100.value).toBe(String(2 * 4 * hour + 0.5 * 22 * hour + 4 * (17 * 24 + 2) * hour));
    expect(h100.days.at(-1)).toEqual({
      day: '2026-03-31',
      value: String(4 * 24 * hour),
      event_count: '0',
      amount: '0.000000000',
      gross_amount: '0.000000000',
    });

    const april = await gauge();
    expect(april.groups.map((g: any) => [g.group.gpu_type, g.value, g.event_count]).sort()).toEqual([
      ['a100', String(12 * hour), '0'],
      ['h100', String(4 * 12 * hour), '0'],
    ]);
  });
});
