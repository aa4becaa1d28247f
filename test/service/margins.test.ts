// Reseller margin reports (domains/resellers) over the public API: chain_daily rows seeded through SQL for
// tenant -> dist -> resl -> end users (and one end user sold to by dist directly, and a EUR reseller), each
// grouping's figures against hand-computed ones and against an independent sum of the seeded rows, CSV read back
// equal to JSON, the levels' margins reconciling with what the end users paid, validation, and the plan.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { marginGroups, type MarginGroup } from '@tariff/openapi/schemas/resellers';
import { withTenant } from '../../service/src/platform/db.ts';
import { explainSumMargins } from '../../service/src/domains/resellers/repo.ts';
import { rest, signUpTenant, startService, trpc, type Harness, type TenantFixture } from './harness.ts';
import { routingVerdict } from './tenant-sql.ts';

let harness: Harness;
let tenant: TenantFixture;
/** The text of every statement the service's pool sent. */
const statements = new Set<string>();

// End users: one whose external id needs CSV quoting (a quote, a comma).
const euB = 'eu "b", two';

/**
 * What was sold, per end user, day and card: the events and each level's net price, from the end user (level 0)
 * up. The chain of an end user under resl is resl -> dist; eu-d is dist's own customer; eu-x is euro-dist's (EUR),
 * and eu-y is three resellers down: euro-sub -> euro-mid -> euro-dist.
 */
const facts: {
  endUser: string;
  chain: string[];
  day: string;
  card: string;
  currency: string;
  events: number;
  nets: string[];
}[] = [
  {
    endUser: 'eu-a',
    chain: ['resl', 'dist'],
    day: '2026-02-01',
    card: 'gpt-4o',
    currency: 'USD',
    events: 10,
    nets: ['12.5', '10', '7.25'],
  },
  {
    endUser: 'eu-a',
    chain: ['resl', 'dist'],
    day: '2026-02-02',
    card: 'h100',
    currency: 'USD',
    events: 2,
    nets: ['40.000000001', '30', '25.5'],
  },
  {
    endUser: euB,
    chain: ['resl', 'dist'],
    day: '2026-02-01',
    card: 'gpt-4o',
    currency: 'USD',
    events: 5,
    nets: ['6.25', '5', '3.625'],
  },
  {
    endUser: euB,
    chain: ['resl', 'dist'],
    day: '2026-02-03',
    card: 'h100',
    currency: 'USD',
    events: 1,
    nets: ['20', '15.333333333', '12.75'],
  },
  {
    endUser: 'eu-d',
    chain: ['dist'],
    day: '2026-02-02',
    card: 'gpt-4o',
    currency: 'USD',
    events: 4,
    nets: ['8', '2.9'],
  },
  // Outside the reports' range (January's period).
  {
    endUser: 'eu-a',
    chain: ['resl', 'dist'],
    day: '2026-01-31',
    card: 'gpt-4o',
    currency: 'USD',
    events: 3,
    nets: ['3.75', '3', '2.175'],
  },
  {
    endUser: 'eu-x',
    chain: ['euro-dist'],
    day: '2026-02-01',
    card: 'gpt-4o',
    currency: 'EUR',
    events: 7,
    nets: ['9.1', '7'],
  },
  {
    endUser: 'eu-y',
    chain: ['euro-sub', 'euro-mid', 'euro-dist'],
    day: '2026-02-02',
    card: 'h100',
    currency: 'EUR',
    events: 1,
    nets: ['5', '4', '3.5', '3'],
  },
];

interface SeededRow {
  customer: string;
  child: string;
  endUser: string;
  level: number;
  day: string;
  card: string;
  currency: string;
  events: number;
  resale: string;
  charge: string;
}

/** chain_daily's rows for the facts: at level k, resale = level k-1's net, charge = level k's net. */
const seeded: SeededRow[] = facts.flatMap((f) =>
  f.chain.map((customer, i) => ({
    customer,
    child: i === 0 ? f.endUser : f.chain[i - 1],
    endUser: f.endUser,
    level: i + 1,
    day: f.day,
    card: f.card,
    currency: f.currency,
    events: f.events,
    resale: f.nets[i],
    charge: f.nets[i + 1],
  })),
);

const depthOf: Record<string, number> = { dist: 0, 'euro-dist': 0, resl: 1, 'euro-mid': 1, 'euro-sub': 2 };

const nano = (value: string) => {
  const [whole, fraction = ''] = value.split('.');
  const sign = whole.startsWith('-') ? -1n : 1n;
  return sign * (BigInt(whole.replace('-', '')) * 1_000_000_000n + BigInt(fraction.padEnd(9, '0')));
};
const money = (value: bigint) => {
  const sign = value < 0n ? '-' : '';
  const abs = value < 0n ? -value : value;
  return `${sign}${abs / 1_000_000_000n}.${(abs % 1_000_000_000n).toString().padStart(9, '0')}`;
};

/** The report computed independently from the seeded rows: the oracle every grouping is checked against. */
function expectedRows(rows: SeededRow[], groupBy: MarginGroup[], from: string, to: string) {
  const keyColumns = (r: SeededRow): Record<string, string | number> => {
    const columns: Record<MarginGroup, Record<string, string | number>> = {
      level: { reseller_id: r.customer, depth: depthOf[r.customer] },
      reseller: { child_id: r.child },
      end_user: { end_user_id: r.endUser },
      card: { card: r.card },
      day: { day: r.day },
    };
    return Object.assign({}, ...groupBy.map((g) => columns[g]), { currency: r.currency });
  };
  const sums = new Map<
    string,
    { key: Record<string, string | number>; events: number; resale: bigint; charge: bigint }
  >();
  for (const r of rows.filter((r) => r.day >= from && r.day <= to)) {
    const key = keyColumns(r);
    const id = JSON.stringify(key);
    const sum = sums.get(id) ?? { key, events: 0, resale: 0n, charge: 0n };
    sum.events += r.events;
    sum.resale += nano(r.resale);
    sum.charge += nano(r.charge);
    sums.set(id, sum);
  }
  return [...sums.values()].map((s) => ({
    ...s.key,
    events: s.events,
    resale: money(s.resale),
    charge: money(s.charge),
    margin: money(s.resale - s.charge),
  }));
}

/** Every subset of the groupings, in the canonical order and some reversed. */
const groupingSets: MarginGroup[][] = Array.from({ length: 1 << marginGroups.length }, (_, mask) =>
  marginGroups.filter((_, i) => mask & (1 << i)),
);

/** RFC 4180: quoted fields with doubled quotes, CRLF records. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else field += c;
  }
  expect(field, 'the CSV ends with CRLF').toBe('');
  expect(record).toEqual([]);
  return records;
}

const get = async (path: string) => {
  const response = await rest(harness, 'GET', path, { key: tenant.secretKey });
  expect(response.status, `GET ${path}: ${JSON.stringify(response.body)}`).toBe(200);
  return response.body;
};

const getText = async (path: string, accept?: string) => {
  const response = await fetch(harness.url + path, {
    headers: { authorization: `Bearer ${tenant.secretKey}`, ...(accept ? { accept } : {}) },
  });
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
};

const range = 'from=2026-02-01&to=2026-02-03';
const resellerPath = (id: string, query: string) => `/v1/resellers/${encodeURIComponent(id)}/margins?${query}`;

beforeAll(async () => {
  harness = await startService({
    now: '2026-02-10T12:00:00Z',
    databaseOptions: { debug: (_connection, query) => statements.add(query) },
  });
  tenant = await signUpTenant(harness);
  const customers = [
    { external_id: 'dist', currency: 'USD', is_reseller: true },
    { external_id: 'resl', currency: 'USD', is_reseller: true, parent_id: 'dist' },
    { external_id: 'eu-a', currency: 'USD', parent_id: 'resl' },
    { external_id: euB, currency: 'USD', parent_id: 'resl' },
    { external_id: 'eu-d', currency: 'USD', parent_id: 'dist' },
    { external_id: 'euro-dist', currency: 'EUR', is_reseller: true },
    { external_id: 'eu-x', currency: 'EUR', parent_id: 'euro-dist' },
    { external_id: 'euro-mid', currency: 'EUR', is_reseller: true, parent_id: 'euro-dist' },
    { external_id: 'euro-sub', currency: 'EUR', is_reseller: true, parent_id: 'euro-mid' },
    { external_id: 'eu-y', currency: 'EUR', parent_id: 'euro-sub' },
    { external_id: 'plain', currency: 'USD' },
  ];
  for (const customer of customers) {
    const response = await rest(harness, 'POST', '/v1/customers', { key: tenant.secretKey, body: customer });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
  }
  const db = harness.database.owner;
  const ids = new Map(
    (await db`select external_id, id from customers where tenant_id = ${tenant.tenantId}`).map((r) => [
      r.external_id as string,
      r.id as string,
    ]),
  );
  for (const r of seeded) {
    const periodStart = `${r.day.slice(0, 7)}-01T00:00:00Z`;
    await db`
      insert into chain_daily (tenant_id, customer_id, period_start, day, child_id, end_customer_id, level, card, currency,
                               events, charge, resale, billed)
      values (${tenant.tenantId}, ${ids.get(r.customer)!}, ${periodStart}, ${r.day}, ${ids.get(r.child)!}, ${ids.get(r.endUser)!},
              ${r.level}, ${r.card}, ${r.currency}, ${r.events}, ${r.charge}, ${r.resale}, ${r.charge})`;
  }
});

afterAll(async () => {
  await harness?.close();
});

describe('a reseller margin report', () => {
  it("states the reseller's own margin, by hand", async () => {
    expect(await get(resellerPath('resl', range))).toEqual({
      reseller_id: 'resl',
      from: '2026-02-01',
      to: '2026-02-03',
      group_by: [],
      data: [{ currency: 'USD', events: 18, resale: '78.750000001', charge: '60.333333333', margin: '18.416666668' }],
      totals: [{ currency: 'USD', events: 18, resale: '78.750000001', charge: '60.333333333', margin: '18.416666668' }],
    });
    // dist's own rows only (resl's are below it): what resl and eu-d paid it, what it paid the tenant.
    const dist = await get(resellerPath('dist', range));
    expect(dist.data).toEqual([
      { currency: 'USD', events: 22, resale: '68.333333333', charge: '52.025000000', margin: '16.308333333' },
    ]);
  });

  it('by level: the reseller and each reseller below it, and the levels reconcile with what end users paid', async () => {
    const report = await get(resellerPath('dist', `${range}&group_by=level`));
    expect(report.data).toEqual([
      {
        reseller_id: 'dist',
        depth: 0,
        currency: 'USD',
        events: 22,
        resale: '68.333333333',
        charge: '52.025000000',
        margin: '16.308333333',
      },
      {
        reseller_id: 'resl',
        depth: 1,
        currency: 'USD',
        events: 18,
        resale: '78.750000001',
        charge: '60.333333333',
        margin: '18.416666668',
      },
    ]);
    expect(report.totals).toEqual([
      { currency: 'USD', events: 40, resale: '147.083333334', charge: '112.358333333', margin: '34.725000001' },
    ]);
    // Sum of the levels' margins + what the top reseller paid the tenant = what the end users paid.
    const endUsersPaid = facts
      .filter((f) => f.currency === 'USD' && f.day >= '2026-02-01' && f.day <= '2026-02-03')
      .reduce((sum, f) => sum + nano(f.nets[0]), 0n);
    expect(money(endUsersPaid)).toBe('86.750000001');
    const margins = report.data.reduce((sum: bigint, r: { margin: string }) => sum + nano(r.margin), 0n);
    const topPaid = nano(report.data.find((r: { reseller_id: string }) => r.reseller_id === 'dist').charge);
    expect(money(margins + topPaid)).toBe(money(endUsersPaid));
    // What each reseller resold equals what its child reseller paid it (dist's resale through resl = resl's charge).
    const byChild = await get(resellerPath('dist', `${range}&group_by=reseller`));
    expect(byChild.data.find((r: { child_id: string }) => r.child_id === 'resl').resale).toBe(report.data[1].charge);
  });

  it('by reseller (the child sold to), end user, card and day, by hand', async () => {
    expect((await get(resellerPath('dist', `${range}&group_by=reseller`))).data).toEqual([
      {
        child_id: 'eu-d',
        currency: 'USD',
        events: 4,
        resale: '8.000000000',
        charge: '2.900000000',
        margin: '5.100000000',
      },
      {
        child_id: 'resl',
        currency: 'USD',
        events: 18,
        resale: '60.333333333',
        charge: '49.125000000',
        margin: '11.208333333',
      },
    ]);
    expect((await get(resellerPath('dist', `${range}&group_by=end_user`))).data).toEqual([
      {
        end_user_id: 'eu "b", two',
        currency: 'USD',
        events: 6,
        resale: '20.333333333',
        charge: '16.375000000',
        margin: '3.958333333',
      },
      {
        end_user_id: 'eu-a',
        currency: 'USD',
        events: 12,
        resale: '40.000000000',
        charge: '32.750000000',
        margin: '7.250000000',
      },
      {
        end_user_id: 'eu-d',
        currency: 'USD',
        events: 4,
        resale: '8.000000000',
        charge: '2.900000000',
        margin: '5.100000000',
      },
    ]);
    expect((await get(resellerPath('dist', `${range}&group_by=card`))).data).toEqual([
      {
        card: 'gpt-4o',
        currency: 'USD',
        events: 19,
        resale: '23.000000000',
        charge: '13.775000000',
        margin: '9.225000000',
      },
      {
        card: 'h100',
        currency: 'USD',
        events: 3,
        resale: '45.333333333',
        charge: '38.250000000',
        margin: '7.083333333',
      },
    ]);
    expect((await get(resellerPath('dist', `${range}&group_by=day`))).data).toEqual([
      {
        day: '2026-02-01',
        currency: 'USD',
        events: 15,
        resale: '15.000000000',
        charge: '10.875000000',
        margin: '4.125000000',
      },
      {
        day: '2026-02-02',
        currency: 'USD',
        events: 6,
        resale: '38.000000000',
        charge: '28.400000000',
        margin: '9.600000000',
      },
      {
        day: '2026-02-03',
        currency: 'USD',
        events: 1,
        resale: '15.333333333',
        charge: '12.750000000',
        margin: '2.583333333',
      },
    ]);
    // Combined, in the order asked: day first, then the level.
    const dayLevel = await get(resellerPath('dist', `${range}&group_by=day,level`));
    expect(dayLevel.group_by).toEqual(['day', 'level']);
    expect(dayLevel.data.slice(0, 2)).toEqual([
      {
        day: '2026-02-01',
        reseller_id: 'dist',
        depth: 0,
        currency: 'USD',
        events: 15,
        resale: '15.000000000',
        charge: '10.875000000',
        margin: '4.125000000',
      },
      {
        day: '2026-02-01',
        reseller_id: 'resl',
        depth: 1,
        currency: 'USD',
        events: 15,
        resale: '18.750000000',
        charge: '15.000000000',
        margin: '3.750000000',
      },
    ]);
    expect(
      dayLevel.data.find(
        (r: { day: string; reseller_id: string }) => r.day === '2026-02-02' && r.reseller_id === 'resl',
      ),
    ).toEqual({
      day: '2026-02-02',
      reseller_id: 'resl',
      depth: 1,
      currency: 'USD',
      events: 2,
      resale: '40.000000001',
      charge: '30.000000000',
      margin: '10.000000001',
    });
  });

  it('every combination of groupings equals an independent sum of the aggregate rows, and its CSV reads back equal', async () => {
    for (const groupBy of [...groupingSets, ['day', 'card'], ['card', 'end_user', 'level']] as MarginGroup[][]) {
      const query = `${range}${groupBy.length ? `&group_by=${groupBy.join(',')}` : ''}`;
      const inScope = (r: SeededRow) => (groupBy.includes('level') ? ['dist', 'resl'] : ['dist']).includes(r.customer);
      const report = await get(resellerPath('dist', query));
      const expected = expectedRows(seeded.filter(inScope), groupBy, '2026-02-01', '2026-02-03');
      expect(report.data, groupBy.join(',')).toHaveLength(expected.length);
      expect(new Set(report.data.map((r: unknown) => JSON.stringify(r)))).toEqual(
        new Set(expected.map((r) => JSON.stringify(r))),
      );

      const csv = await getText(resellerPath('dist', `${query}&format=csv`));
      expect(csv.status).toBe(200);
      expect(csv.type).toMatch(/^text\/csv/);
      const [header, ...records] = parseCsv(csv.text);
      expect(header).toEqual(Object.keys(report.data[0]));
      expect(records).toEqual(report.data.map((row: Record<string, unknown>) => header.map((c) => String(row[c]))));
    }
  });

  it('answers CSV to Accept: text/csv, quoting per RFC 4180; format=json wins over Accept', async () => {
    const csv = await getText(resellerPath('dist', `${range}&group_by=end_user`), 'text/csv');
    expect(csv.status).toBe(200);
    expect(csv.type).toBe('text/csv; charset=utf-8');
    expect(csv.text).toBe(
      'end_user_id,currency,events,resale,charge,margin\r\n' +
        '"eu ""b"", two",USD,6,20.333333333,16.375000000,3.958333333\r\n' +
        'eu-a,USD,12,40.000000000,32.750000000,7.250000000\r\n' +
        'eu-d,USD,4,8.000000000,2.900000000,5.100000000\r\n',
    );
    const json = await getText(resellerPath('dist', `${range}&group_by=end_user&format=json`), 'text/csv');
    expect(json.type).toMatch(/^application\/json/);
    expect(JSON.parse(json.text).data).toHaveLength(3);
    // No rows: the header alone.
    expect((await getText(resellerPath('dist', 'from=2025-01-01&to=2025-01-31&group_by=day&format=csv'))).text).toBe(
      'day,currency,events,resale,charge,margin\r\n',
    );
  });

  it('keeps to the range: the day before it is not counted, and a range of that day alone is', async () => {
    const january = await get(resellerPath('resl', 'from=2026-01-31&to=2026-01-31'));
    expect(january.data).toEqual([
      { currency: 'USD', events: 3, resale: '3.750000000', charge: '3.000000000', margin: '0.750000000' },
    ]);
    expect((await get(resellerPath('resl', 'from=2026-02-04&to=2026-12-31'))).data).toEqual([]);
    expect((await get(resellerPath('resl', 'from=2026-02-04&to=2026-12-31'))).totals).toEqual([]);
  });
});

describe("the tenant's margin report", () => {
  it('one row per reseller by default, currencies never added together', async () => {
    const report = await get(`/v1/margins?${range}`);
    expect(report.reseller_id).toBeNull();
    expect(report.group_by).toEqual(['level']);
    expect(report.data).toEqual([
      {
        reseller_id: 'dist',
        depth: 0,
        currency: 'USD',
        events: 22,
        resale: '68.333333333',
        charge: '52.025000000',
        margin: '16.308333333',
      },
      {
        reseller_id: 'euro-dist',
        depth: 0,
        currency: 'EUR',
        events: 8,
        resale: '12.600000000',
        charge: '10.000000000',
        margin: '2.600000000',
      },
      {
        reseller_id: 'euro-mid',
        depth: 1,
        currency: 'EUR',
        events: 1,
        resale: '4.000000000',
        charge: '3.500000000',
        margin: '0.500000000',
      },
      {
        reseller_id: 'resl',
        depth: 1,
        currency: 'USD',
        events: 18,
        resale: '78.750000001',
        charge: '60.333333333',
        margin: '18.416666668',
      },
      {
        reseller_id: 'euro-sub',
        depth: 2,
        currency: 'EUR',
        events: 1,
        resale: '5.000000000',
        charge: '4.000000000',
        margin: '1.000000000',
      },
    ]);
    expect(report.totals).toEqual([
      { currency: 'EUR', events: 10, resale: '21.600000000', charge: '17.500000000', margin: '4.100000000' },
      { currency: 'USD', events: 40, resale: '147.083333334', charge: '112.358333333', margin: '34.725000001' },
    ]);
  });

  it('three levels deep: the levels reconcile with what the end users paid', async () => {
    const report = await get(resellerPath('euro-dist', `${range}&group_by=level`));
    expect(report.data.map((r: { reseller_id: string; depth: number }) => [r.reseller_id, r.depth])).toEqual([
      ['euro-dist', 0],
      ['euro-mid', 1],
      ['euro-sub', 2],
    ]);
    // 2.6 + 0.5 + 1 + what euro-dist paid the tenant (10) = 9.1 + 5, what eu-x and eu-y paid.
    expect(report.totals).toEqual([
      { currency: 'EUR', events: 10, resale: '21.600000000', charge: '17.500000000', margin: '4.100000000' },
    ]);
    const margins = report.data.reduce((sum: bigint, r: { margin: string }) => sum + nano(r.margin), 0n);
    expect(money(margins + nano(report.data[0].charge))).toBe('14.100000000');
    // From the middle: its own level and the one below, not its parent's.
    const middle = await get(resellerPath('euro-mid', `${range}&group_by=level`));
    expect(middle.data.map((r: { reseller_id: string }) => r.reseller_id)).toEqual(['euro-mid', 'euro-sub']);
  });

  it('every combination of groupings equals an independent sum, a day split by currency', async () => {
    const byDay = await get(`/v1/margins?${range}&group_by=day`);
    expect(byDay.data.filter((r: { day: string }) => r.day === '2026-02-01')).toEqual([
      {
        day: '2026-02-01',
        currency: 'EUR',
        events: 7,
        resale: '9.100000000',
        charge: '7.000000000',
        margin: '2.100000000',
      },
      {
        day: '2026-02-01',
        currency: 'USD',
        events: 30,
        resale: '33.750000000',
        charge: '25.875000000',
        margin: '7.875000000',
      },
    ]);
    for (const groupBy of groupingSets.filter((g) => g.length > 0)) {
      const report = await get(`/v1/margins?${range}&group_by=${groupBy.join(',')}`);
      const expected = expectedRows(seeded, groupBy, '2026-02-01', '2026-02-03');
      expect(new Set(report.data.map((r: unknown) => JSON.stringify(r))), groupBy.join(',')).toEqual(
        new Set(expected.map((r) => JSON.stringify(r))),
      );
    }
    // Repeated parameters work as a list too.
    const repeated = await get(`/v1/margins?${range}&group_by=day&group_by=card`);
    expect(repeated.group_by).toEqual(['day', 'card']);
    expect(repeated).toEqual(await get(`/v1/margins?${range}&group_by=day,card`));
  });

  it('the dashboard gets the same reports over tRPC, and the CSV', async () => {
    const rest = await get(resellerPath('dist', `${range}&group_by=level,card`));
    const viaTrpc = await trpc(
      harness,
      'query',
      'resellers.margins',
      { customer_id: 'dist', from: '2026-02-01', to: '2026-02-03', group_by: ['level', 'card'] },
      tenant.session,
    );
    expect(viaTrpc.status).toBe(200);
    expect(viaTrpc.body).toEqual(rest);
    const tenantWide = await trpc(
      harness,
      'query',
      'resellers.margins',
      { from: '2026-02-01', to: '2026-02-03' },
      tenant.session,
    );
    expect(tenantWide.body).toEqual(await get(`/v1/margins?${range}`));
    const csv = await trpc(
      harness,
      'query',
      'resellers.marginsCsv',
      { customer_id: 'dist', from: '2026-02-01', to: '2026-02-03', group_by: 'level,card' },
      tenant.session,
    );
    expect(csv.body.csv).toBe((await getText(resellerPath('dist', `${range}&group_by=level,card&format=csv`))).text);
    const notReseller = await trpc(
      harness,
      'query',
      'resellers.margins',
      { customer_id: 'plain', from: '2026-02-01', to: '2026-02-03' },
      tenant.session,
    );
    expect(notReseller.error?.data.app?.kind).toBe('precondition');
    expect(notReseller.error?.data.app?.code).toBe('not_a_reseller');
  });
});

describe('validation', () => {
  const problem = async (path: string) => {
    const response = await rest(harness, 'GET', path, { key: tenant.secretKey });
    return { status: response.status, code: response.body.error?.code ?? response.body.code, body: response.body };
  };
  const details = (body: any): { field: string; reason: string }[] => body.error?.details ?? body.details;

  it('refuses bad dates, ranges and groupings with a 400 naming the field', async () => {
    const cases: [string, string, RegExp][] = [
      ['to=2026-02-03', 'query.from', /required/],
      ['from=2026-02-30&to=2026-03-03', 'query.from', /calendar date/],
      ['from=2026/02/01&to=2026-03-03', 'query.from', /2026-01-31/],
      ['from=2026-02-01&to=tomorrow', 'query.to', /date/],
      ['from=2026-02-03&to=2026-02-01', 'query.to', /on or after from/],
      ['from=2025-01-01&to=2026-01-02', 'query.to', /366 days/],
      [`${range}&group_by=day,week,vendor`, 'query.group_by', /"week", "vendor".*level, reseller, end_user, card, day/],
      [`${range}&format=xml`, 'query.format', /json|csv/],
      [`${range}&limit=5`, 'query.limit', /unknown field/],
    ];
    for (const [query, field, reason] of cases) {
      for (const path of [resellerPath('dist', query), `/v1/margins?${query}`]) {
        const { status, body } = await problem(path);
        expect(status, `${path}: ${JSON.stringify(body)}`).toBe(400);
        const found = details(body).find((d) => d.field === field);
        expect(found?.reason, `${path}: ${JSON.stringify(body)}`).toMatch(reason);
      }
    }
    // 366 days counting both ends is allowed (2024 is a leap year).
    expect((await problem(resellerPath('dist', 'from=2024-01-01&to=2024-12-31'))).status).toBe(200);
    expect((await problem(resellerPath('dist', 'from=2025-01-01&to=2026-01-01'))).status).toBe(200);
  });

  it('a publishable key may not read margins (403), and no key is a 401', async () => {
    for (const path of [resellerPath('dist', range), `/v1/margins?${range}`]) {
      const publishable = await rest(harness, 'GET', path, { key: tenant.publishableKey });
      expect(publishable.status).toBe(403);
      expect((await rest(harness, 'GET', path)).status).toBe(401);
    }
  });

  it('404 for an unknown customer, 422 for one that does not resell', async () => {
    const unknown = await problem(resellerPath('nobody', range));
    expect(unknown.status).toBe(404);
    expect(JSON.stringify(unknown.body)).toContain('customer_not_found');
    for (const id of ['plain', 'eu-a']) {
      const notReseller = await problem(resellerPath(id, range));
      expect(notReseller.status).toBe(422);
      expect(JSON.stringify(notReseller.body)).toContain('not_a_reseller');
    }
  });
});

describe('the query plan', () => {
  it('reads chain_daily through its indexes and never the events', async () => {
    const all = Object.fromEntries(marginGroups.map((g) => [g, true])) as Record<MarginGroup, boolean>;
    const none = Object.fromEntries(marginGroups.map((g) => [g, false])) as Record<MarginGroup, boolean>;
    const [{ id: distId }] = await harness.database.owner`
      select id from customers where tenant_id = ${tenant.tenantId} and external_id = 'dist'`;
    const filters = [
      { scope: { kind: 'reseller' as const, customerId: distId }, groups: none },
      { scope: { kind: 'subtree' as const, customerId: distId }, groups: all },
      { scope: { kind: 'tenant' as const }, groups: all },
    ];
    for (const filter of filters) {
      const plan = await withTenant(harness.database.app, tenant.tenantId, async (tx) => {
        // The seeded table is tiny: without this the planner rightly reads it whole. The point is that an index
        // serves the statement's filter, so it is used once the table is large.
        await tx`set local enable_seqscan = off`;
        return explainSumMargins(
          { db: tx, tenantId: tenant.tenantId },
          { ...filter, fromDay: '2026-02-01', toDay: '2026-02-03' },
        );
      });
      const nodes: { 'Node Type': string; 'Relation Name'?: string; 'Index Name'?: string }[] = [];
      const walk = (node: any) => {
        nodes.push(node);
        for (const child of node.Plans ?? []) walk(child);
      };
      walk((plan as any)[0].Plan);
      const relations = new Set(nodes.map((n) => n['Relation Name']).filter(Boolean));
      expect(relations.has('events'), JSON.stringify(plan)).toBe(false);
      expect(
        [...relations].every((r) => r === 'chain_daily' || r === 'customers'),
        [...relations].join(),
      ).toBe(true);
      const chainScans = nodes.filter((n) => n['Relation Name'] === 'chain_daily');
      expect(chainScans.length).toBeGreaterThan(0);
      expect(chainScans.map((n) => n['Node Type']).filter((t) => t === 'Seq Scan')).toEqual([]);
      const indexes = nodes.map((n) => n['Index Name']).filter((name) => name?.startsWith('chain_daily'));
      expect(indexes.length, JSON.stringify(plan)).toBeGreaterThan(0);
      expect(JSON.stringify(plan)).not.toMatch(/"Relation Name":"events"/);
    }
  });
});

describe('the statements', () => {
  it('pin the tenant and tie every tenant table they name to it (routable on Citus, scale-out.md)', async () => {
    // Run last: the reports above sent every shape (one reseller, a subtree, the tenant).
    const tables = await harness.database.owner`
      select distinct c.relname from pg_class c join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id'
      where c.relkind = 'r' and c.relnamespace = 'public'::regnamespace`;
    const tenantTables = new Set(tables.map((t) => t.relname as string));
    const reports = [...statements].filter((s) => /\bchain_daily\b/.test(s) && !/^\s*(insert|explain)/i.test(s));
    expect(reports.some((s) => /subtree/.test(s))).toBe(true);
    expect(reports.some((s) => /d\.customer_id = \$/.test(s))).toBe(true);
    for (const statement of reports) {
      const verdict = routingVerdict(statement, (table) => tenantTables.has(table));
      expect(verdict.tenantTables).toEqual(['chain_daily', 'customers']);
      expect(verdict.problems, statement).toEqual([]);
    }
  });
});
