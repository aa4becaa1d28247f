// The dashboard's read models over tRPC (domains/insights): customer search and keyset paging, the hierarchy,
// spend against budget and credits as the REST API states them, and usage series equal to /usage's days.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkResponse } from './openapi-check.ts';
import { rest, signUpTenant, startService, trpc, type Harness, type TenantFixture } from './harness.ts';

const book = {
  id: 'llm',
  currency: 'USD',
  versions: [
    {
      effective_from: '2026-01-01T00:00:00Z',
      rate_cards: [
        {
          id: 'gpt-4o',
          match: { model: 'gpt-4o' },
          charges: [
            { dimension: 'input_tokens', price: { model: 'per_unit', rate: '2.5' } },
            { dimension: 'output_tokens', price: { model: 'per_unit', rate: '10' } },
          ],
        },
      ],
    },
  ],
};

const llm = (id: string, customer: string, timestamp: string, input: number, output: number) => ({
  transaction_id: id,
  customer_id: customer,
  event_type: 'llm.completion',
  timestamp,
  properties: { model: 'gpt-4o', input_tokens: input, output_tokens: output },
});

let harness: Harness;
let tenant: TenantFixture;
let viewer: string;
const call = async (method: string, path: string, body?: unknown) => {
  const response = await rest(harness, method, path, { key: tenant.secretKey, body });
  expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBeLessThan(300);
  return response.body;
};

beforeAll(async () => {
  harness = await startService({ now: '2026-03-20T12:00:00Z' });
  tenant = await signUpTenant(harness);
  await call('POST', '/v1/meters', {
    code: 'input_tokens',
    name: 'Input tokens',
    event_type: 'llm.completion',
    aggregation: 'sum',
    property: 'input_tokens',
    group_by: ['model'],
  });
  await call('POST', '/v1/meters', {
    code: 'requests',
    name: 'Requests',
    event_type: 'llm.completion',
    aggregation: 'count',
  });
  await call('POST', '/v1/customers', {
    external_id: 'reseller',
    name: 'Reseller Ltd',
    email: 'ops@reseller.example',
    currency: 'USD',
    is_reseller: true,
  });
  await call('POST', '/v1/customers', {
    external_id: 'acme',
    name: 'ACME Corp',
    email: 'billing@acme.example',
    currency: 'USD',
    parent_id: 'reseller',
  });
  await call('POST', '/v1/customers', {
    external_id: 'acme-lab',
    name: 'Lab of ACME',
    email: 'lab@research.example',
    currency: 'USD',
    parent_id: 'acme',
  });
  await call('POST', '/v1/customers', { external_id: 'a_b%c', name: 'Wildcards', currency: 'USD' });
  for (let i = 0; i < 23; i++)
    await call('POST', '/v1/customers', {
      external_id: `bulk-${String(i).padStart(3, '0')}`,
      name: `Bulk ${i}`,
      currency: 'USD',
    });
  // ACME's seller is its reseller parent: the book is the reseller's (migration 080).
  await call('POST', '/v1/price_books', { book, owner_customer_id: 'reseller' });
  // The reseller's own level of the chain: what it pays the tenant.
  await call('POST', '/v1/price_books', { book: { ...book, id: 'wholesale' } });
  await call('PUT', '/v1/customers/reseller/price_book', {
    price_book: 'wholesale',
    effective_from: '2026-01-01T00:00:00Z',
  });
  await call('PUT', '/v1/customers/acme/price_book', { price_book: 'llm', effective_from: '2026-01-01T00:00:00Z' });
  await call('PUT', '/v1/customers/acme/budget', { amount: '40' });
  await call('POST', '/v1/customers/acme/credit_grants', { kind: 'prepaid', amount: '5' });
  const events = [
    llm('e1', 'acme', '2026-03-18T09:10:00Z', 1_000_000, 100_000),
    llm('e2', 'acme', '2026-03-18T09:50:00Z', 2_000_000, 0),
    llm('e3', 'acme', '2026-03-18T14:00:00Z', 4_000_000, 0),
    llm('e4', 'acme', '2026-03-19T01:00:00Z', 0, 200_000),
  ];
  const ingested = await call('POST', '/v1/events', { events });
  expect(ingested.accepted).toBe(4);
  const email = `viewer-${tenant.tenantId.slice(0, 8)}@example.com`;
  expect(
    (
      await trpc(
        harness,
        'mutation',
        'users.create',
        { email, password: 'a long enough password', role: 'viewer' },
        tenant.session,
      )
    ).status,
  ).toBe(200);
  viewer = (
    await trpc(harness, 'mutation', 'auth.login', { tenant: tenant.slug, email, password: 'a long enough password' })
  ).body.session.token;
});
afterAll(async () => {
  await harness?.close();
});

describe('insights.customers', () => {
  it('finds customers by external-id prefix, by name or email prefix in any case, and takes wildcards literally', async () => {
    const ids = async (query: string) =>
      (await trpc(harness, 'query', 'insights.customers', { query }, viewer)).body.data.map((c: any) => c.external_id);
    expect(await ids('acme')).toEqual(['acme', 'acme-lab']);
    expect(await ids('lab')).toEqual(['acme-lab']);
    expect(await ids('BILLING@')).toEqual(['acme']);
    expect(await ids('reseller')).toEqual(['reseller']);
    expect(await ids('a_b')).toEqual(['a_b%c']);
    expect(await ids('a%')).toEqual([]);
    expect(await ids('nobody')).toEqual([]);
  });

  it('pages through every customer with the cursor, in external-id byte order, without repeats', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await trpc(
        harness,
        'query',
        'insights.customers',
        { limit: 7, ...(cursor ? { cursor } : {}) },
        tenant.session,
      );
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(7);
      seen.push(...page.body.data.map((c: any) => c.external_id));
      cursor = page.body.next_cursor ?? undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(4);
    expect(seen).toHaveLength(27);
    expect(new Set(seen).size).toBe(27);
    expect(seen).toEqual([...seen].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
  });

  it('shows spend against budget and credits as the REST API states them, and the hierarchy', async () => {
    const [acme] = (await trpc(harness, 'query', 'insights.customers', { query: 'acme' }, tenant.session)).body.data;
    const budget = await call('GET', '/v1/customers/acme/budget');
    const wallet = await call('GET', '/v1/customers/acme/wallet');
    expect(acme.spend).toBe(budget.current_period.spend);
    // 7M input x 2.5/M + 300k output x 10/M = 17.5 + 3 = 20.5 of a 40 budget.
    expect(acme.spend).toBe('20.500000000');
    expect(acme.budget).toEqual({ amount: '40.000000000', enforcement: budget.enforcement, used_percent: '51.25' });
    expect(acme.credits).toEqual([{ currency: wallet.currency, balance: wallet.balance }]);
    // The $5 grant paid e1 ($3.50) and $1.50 of e2.
    expect(acme.credits[0].balance).toBe('0.000000000');
    expect(acme.period).toEqual({ start: '2026-03-01T00:00:00.000Z', end: '2026-04-01T00:00:00.000Z' });
    expect(acme).toMatchObject({ parent_id: 'reseller', children: 1, is_reseller: false, currency: 'USD' });

    const children = await trpc(harness, 'query', 'insights.customers', { parent_id: 'reseller' }, tenant.session);
    expect(children.body.data.map((c: any) => c.external_id)).toEqual(['acme']);
    const overview = await trpc(harness, 'query', 'insights.customer', { id: 'acme-lab' }, viewer);
    expect(overview.status).toBe(200);
    expect(overview.body.ancestors.map((a: any) => a.external_id)).toEqual(['acme', 'reseller']);
    expect(overview.body.customer.external_id).toBe('acme-lab');
    expect(overview.body.summary).toMatchObject({
      external_id: 'acme-lab',
      spend: '0.000000000',
      budget: null,
      period: null,
    });
    const top = await trpc(harness, 'query', 'insights.customer', { id: 'reseller' }, viewer);
    expect(top.body.ancestors).toEqual([]);
    expect(top.body.children.data.map((c: any) => c.external_id)).toEqual(['acme']);
    expect((await trpc(harness, 'query', 'insights.customer', { id: 'missing' }, viewer)).status).toBe(404);
  });

  it('names the bad field and needs a session', async () => {
    const bad = await trpc(harness, 'query', 'insights.customers', { limit: 0 }, tenant.session);
    expect(bad.status).toBe(400);
    expect(bad.error?.data.app?.details[0].field).toBe('limit');
    expect((await trpc(harness, 'query', 'insights.customers', {})).status).toBe(401);
    expect((await trpc(harness, 'query', 'insights.customers', { parent_id: 'missing' }, tenant.session)).status).toBe(
      404,
    );
  });
});

describe('insights.usageSeries', () => {
  it("gives daily points equal to /usage's days, and hourly points that add up to them", async () => {
    const usage = await call('GET', '/v1/customers/acme/usage');
    const daily = await trpc(
      harness,
      'query',
      'insights.usageSeries',
      { customer_id: 'acme', from: '2026-03-01T00:00:00Z', until: '2026-04-01T00:00:00Z' },
      viewer,
    );
    expect(daily.status).toBe(200);
    for (const meter of usage.meters) {
      for (const group of meter.groups) {
        const series = daily.body.series.find(
          (s: any) => s.meter === meter.code && JSON.stringify(s.group) === JSON.stringify(group.group),
        );
        expect(series.points).toEqual(
          group.days.map((d: any) => ({
            at: `${d.day}T00:00:00.000Z`,
            value: d.value,
            event_count: d.event_count,
            amount: d.amount,
            gross_amount: d.gross_amount,
          })),
        );
      }
    }
    const input = daily.body.series.find((s: any) => s.meter === 'input_tokens');
    expect(input.points.map((p: any) => [p.at, p.value])).toEqual([
      ['2026-03-18T00:00:00.000Z', '7000000'],
      ['2026-03-19T00:00:00.000Z', '0'],
    ]);

    const hourly = await trpc(
      harness,
      'query',
      'insights.usageSeries',
      {
        customer_id: 'acme',
        from: '2026-03-18T00:00:00Z',
        until: '2026-03-20T00:00:00Z',
        granularity: 'hour',
        meter: 'input_tokens',
      },
      viewer,
    );
    expect(hourly.status).toBe(200);
    expect(hourly.body.series).toHaveLength(1);
    expect(
      hourly.body.series[0].points.map((p: any) => [p.at, p.value, p.event_count, p.amount, p.gross_amount]),
    ).toEqual([
      // e1: $3.50 gross, all of it paid by the $5 grant; e2: $5 gross, $1.50 of it by the grant.
      ['2026-03-18T09:00:00.000Z', '3000000', '2', '3.500000000', '7.500000000'],
      ['2026-03-18T14:00:00.000Z', '4000000', '1', '10.000000000', '10.000000000'],
      ['2026-03-19T01:00:00.000Z', '0', '1', '0.000000000', '0.000000000'],
    ]);
    const hourSum = (field: string) =>
      hourly.body.series[0].points
        .filter((p: any) => p.at.startsWith('2026-03-18'))
        .reduce((sum: bigint, p: any) => sum + BigInt(p[field].replace('.', '')), 0n);
    const day18 = input.points[0];
    expect(hourSum('amount')).toBe(BigInt(day18.amount.replace('.', '')));
    expect(hourSum('gross_amount')).toBe(BigInt(day18.gross_amount.replace('.', '')));
  });

  it('refuses a range over 90 days or backwards, and an unknown meter, naming the field', async () => {
    const long = await trpc(
      harness,
      'query',
      'insights.usageSeries',
      { customer_id: 'acme', from: '2026-01-01T00:00:00Z', until: '2026-04-02T00:00:00Z' },
      viewer,
    );
    expect(long.status).toBe(400);
    expect(long.error?.data.app?.details[0].field).toBe('until');
    const backwards = await trpc(
      harness,
      'query',
      'insights.usageSeries',
      { customer_id: 'acme', from: '2026-03-02T00:00:00Z', until: '2026-03-01T00:00:00Z' },
      viewer,
    );
    expect(backwards.status).toBe(400);
    const meter = await trpc(
      harness,
      'query',
      'insights.usageSeries',
      { customer_id: 'acme', from: '2026-03-01T00:00:00Z', until: '2026-03-02T00:00:00Z', meter: 'nope' },
      viewer,
    );
    expect(meter.status).toBe(400);
    expect(meter.error?.data.app?.details[0].field).toBe('meter');
  });
});

describe('GET /v1/customers/:id/usage/series', () => {
  it("gives a reseller its subtree's usage: sums add up, latest sums each end user's, unique values count once", async () => {
    await call('POST', '/v1/meters', {
      code: 'seats',
      name: 'Seats',
      event_type: 'llm.completion',
      aggregation: 'latest',
      property: 'seats',
    });
    await call('POST', '/v1/meters', {
      code: 'users',
      name: 'Users',
      event_type: 'llm.completion',
      aggregation: 'unique_count',
      property: 'user',
    });
    await call('POST', '/v1/customers', { external_id: 'dist', currency: 'USD', is_reseller: true });
    await call('PUT', '/v1/customers/dist/price_book', {
      price_book: 'wholesale',
      effective_from: '2026-01-01T00:00:00Z',
    });
    await call('POST', '/v1/price_books', { book: { ...book, id: 'dist-retail' }, owner_customer_id: 'dist' });
    for (const id of ['dist-a', 'dist-b']) {
      await call('POST', '/v1/customers', { external_id: id, currency: 'USD', parent_id: 'dist' });
      await call('PUT', `/v1/customers/${id}/price_book`, {
        price_book: 'dist-retail',
        effective_from: '2026-01-01T00:00:00Z',
      });
    }
    const event = (id: string, customer: string, at: string, input: number, seats: number, user: string) => ({
      ...llm(id, customer, at, input, 1000),
      properties: { model: 'gpt-4o', input_tokens: input, output_tokens: 1000, seats, user },
    });
    const ingested = await call('POST', '/v1/events', {
      events: [
        event('d1', 'dist-a', '2026-03-19T08:10:00Z', 1000, 3, 'ann'),
        event('d2', 'dist-a', '2026-03-19T08:40:00Z', 2000, 5, 'bob'),
        event('d3', 'dist-b', '2026-03-19T08:20:00Z', 4000, 7, 'ann'),
        event('d4', 'dist-b', '2026-03-19T11:00:00Z', 8000, 2, 'cid'),
      ],
    });
    expect(ingested.accepted).toBe(4);
    // The premise: the reseller's own usage has no meters (its end users' events are aggregated at theirs).
    expect((await call('GET', '/v1/customers/dist/usage')).meters).toEqual([]);

    const range = 'from=2026-03-19T00:00:00Z&until=2026-03-20T00:00:00Z';
    const of = async (id: string, granularity: string) => {
      const path = `/v1/customers/${id}/usage/series?${range}&granularity=${granularity}`;
      const body = await call('GET', path);
      checkResponse('GET', path, 200, body);
      return body.series;
    };
    const values = (series: any[], meter: string) =>
      series.find((s) => s.meter === meter)?.points.map((p: any) => [p.at.slice(11, 13), p.value, p.event_count]);
    const daily = await of('dist', 'day');
    expect(values(daily, 'input_tokens')).toEqual([['00', '15000', '4']]);
    expect(values(daily, 'requests')).toEqual([['00', '4', '4']]);
    // dist-a's latest (5) plus dist-b's (2); ann, bob, cid.
    expect(values(daily, 'seats')).toEqual([['00', '7', '4']]);
    expect(values(daily, 'users')).toEqual([['00', '3', '4']]);
    const hourly = await of('dist', 'hour');
    expect(values(hourly, 'input_tokens')).toEqual([
      ['08', '7000', '3'],
      ['11', '8000', '1'],
    ]);
    expect(values(hourly, 'seats')).toEqual([
      ['08', '12', '3'],
      ['11', '2', '1'],
    ]);
    expect(values(hourly, 'users')).toEqual([
      ['08', '2', '3'],
      ['11', '1', '1'],
    ]);
    // Amounts are the end users' own, summed exactly.
    const nano = (s: string) => BigInt(s.replace('.', ''));
    const [a, b] = [await of('dist-a', 'day'), await of('dist-b', 'day')];
    for (const field of ['amount', 'gross_amount']) {
      const own = (series: any[]) => nano(series.find((s) => s.meter === 'input_tokens').points[0][field]);
      expect(nano(daily.find((s: any) => s.meter === 'input_tokens').points[0][field])).toBe(own(a) + own(b));
    }
    // The dashboard's procedure answers the same.
    const viaTrpc = await trpc(
      harness,
      'query',
      'insights.usageSeries',
      { customer_id: 'dist', from: '2026-03-19T00:00:00Z', until: '2026-03-20T00:00:00Z', granularity: 'hour' },
      viewer,
    );
    expect(viaTrpc.body.series).toEqual(hourly);
    const bad = await rest(harness, 'GET', '/v1/customers/dist/usage/series?from=2026-03-19T00:00:00Z', {
      key: tenant.secretKey,
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('until');
  });
});
