import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant, type Tx } from '../../platform/db.ts';
import { createTestDatabase, type TestDatabase } from '../../platform/test-database.ts';
import { eventually } from '../../../../test/wait.ts';
import {
  addUsage,
  closePeriods,
  compareKeys,
  inLockOrder,
  lockPeriod,
  lockPeriods,
  openPeriods,
  parsePeriodKey,
  periodKey,
  splitPeriod,
  type PeriodBounds,
  type PeriodKey,
} from './repo.ts';

const at = (iso: string) => new Date(iso);
const month = (customerId: string, m: number): PeriodBounds => ({
  customerId,
  start: new Date(Date.UTC(2026, m, 1)),
  end: new Date(Date.UTC(2026, m + 1, 1)),
});

describe('periodKey', () => {
  it('round-trips customer and start, to the millisecond, for any instant', () => {
    const customerId = crypto.randomUUID();
    for (const start of [
      at('2026-03-01T00:00:00Z'),
      at('2026-03-14T09:26:53.589Z'),
      at('1999-12-31T23:59:59.999Z'),
      at('1969-07-20T20:17:40Z'),
      new Date(0),
    ]) {
      const key = periodKey({ customerId, start });
      const parsed = parsePeriodKey(key);
      expect(parsed).toEqual({ customerId, start });
      expect(periodKey(parsed)).toBe(key);
    }
  });

  it('names one period by one key, whatever Date object carries the start', () => {
    const customerId = crypto.randomUUID();
    expect(periodKey({ customerId, start: at('2026-03-01T00:00:00Z') })).toBe(
      periodKey({ customerId, start: at('2026-03-01T01:00:00+01:00') }),
    );
    expect(periodKey({ customerId, start: at('2026-03-01T00:00:00Z') })).not.toBe(
      periodKey({ customerId, start: at('2026-03-01T00:00:00.001Z') }),
    );
  });

  it('refuses what is not a key', () => {
    expect(() => parsePeriodKey('no separator')).toThrow(/not a period key/);
    expect(() => parsePeriodKey(`${crypto.randomUUID()}|2026-03-01T00:00:00.000Z`)).toThrow(/not a period key/);
  });

  it('given keys in any order with repeats, inLockOrder gives each once by customer, then start', () => {
    const [a, b] = [crypto.randomUUID(), crypto.randomUUID()].sort();
    const keys = [month(b, 1), month(a, 2), month(b, 0), month(a, 2), month(a, 0)];
    expect(inLockOrder(keys).map(periodKey)).toEqual(
      [month(a, 0), month(a, 2), month(b, 0), month(b, 1)].map(periodKey),
    );
  });
});

describe('lockPeriods', () => {
  let database: TestDatabase;
  const tenantId = crypto.randomUUID();
  const customers = Array.from({ length: 6 }, () => crypto.randomUUID());
  const inTenant = <T>(fn: (tx: Tx) => Promise<T>) => withTenant(database.app, tenantId, fn);
  const scope = (tx: Tx) => ({ db: tx, tenantId });

  beforeAll(async () => {
    database = await createTestDatabase();
    await database.owner`insert into tenants (tenant_id, name, created_at) values (${tenantId}, 'periods', now())`;
    for (const [n, id] of customers.entries()) {
      await database.owner`insert into customers (tenant_id, id, external_id, currency, created_at, updated_at) values (${tenantId}, ${id}, ${`c${n}`}, 'USD', now(), now())`;
    }
    const now = new Date();
    await inTenant((tx) =>
      openPeriods(
        scope(tx),
        customers.flatMap((c) => [month(c, 0), month(c, 1), month(c, 2)]),
        now,
      ),
    );
  });
  afterAll(async () => {
    await database.drop();
  });

  it('orders keys as PostgreSQL orders (customer_id, period_start)', async () => {
    const keys = customers.flatMap((c) => [month(c, 2), month(c, 0)]);
    const rows = await database.owner`
      select customer_id, period_start from customer_periods where tenant_id = ${tenantId} and period_start <> ${month(customers[0], 1).start}
      order by customer_id, period_start`;
    expect([...keys].sort(compareKeys).map(periodKey)).toEqual(
      rows.map((r) => periodKey({ customerId: r.customer_id, start: r.period_start })),
    );
  });

  it('given two transactions locking overlapping periods in opposite orders, neither deadlocks: the second waits for the first', async () => {
    const [c1, c2, c3] = customers;
    const first = [month(c1, 0), month(c2, 0), month(c3, 0)];
    const second = [month(c3, 0), month(c2, 0), month(c1, 1)];
    let releaseFirst!: () => void;
    const firstMayCommit = new Promise<void>((resolve) => (releaseFirst = resolve));
    const events: string[] = [];
    let firstLocked!: () => void;
    const firstHolds = new Promise<void>((resolve) => (firstLocked = resolve));
    const firstTx = inTenant(async (tx) => {
      const rows = await lockPeriods(scope(tx), first);
      events.push('first locked');
      firstLocked();
      await firstMayCommit;
      events.push('first commits');
      return rows.size;
    });
    await firstHolds;
    let secondPid: number | undefined;
    const secondTx = inTenant(async (tx) => {
      const [{ pid }] = await tx`select pg_backend_pid() as pid`;
      secondPid = pid;
      const rows = await lockPeriods(scope(tx), second);
      events.push('second locked');
      return rows.size;
    });
    // The second is blocked on a period the first holds (a lock wait, not a deadlock error).
    await eventually('the second transaction waits for a period lock', async () => {
      if (secondPid === undefined) return false;
      const [row] = await database.owner`select wait_event_type from pg_stat_activity where pid = ${secondPid}`;
      return row?.wait_event_type === 'Lock';
    });
    expect(events).toEqual(['first locked']);
    releaseFirst();
    expect(await Promise.all([firstTx, secondTx])).toEqual([3, 3]);
    expect(events).toEqual(['first locked', 'first commits', 'second locked']);
  });

  it('given many transactions locking random overlapping sets in random orders, all commit and those sharing a period never overlap', async () => {
    const pool = customers.flatMap((c) => [month(c, 0), month(c, 1), month(c, 2)]);
    const held: { keys: Set<string>; from: number; until: number }[] = [];
    const pick = () => {
      const chosen = pool.filter(() => Math.random() < 0.4);
      return (chosen.length > 0 ? chosen : [pool[0]]).sort(() => Math.random() - 0.5);
    };
    let clock = 0;
    const results = await Promise.allSettled(
      Array.from({ length: 24 }, () =>
        inTenant(async (tx) => {
          const keys = pick();
          const rows = await lockPeriods(scope(tx), keys);
          const from = ++clock;
          await new Promise((resolve) => setTimeout(resolve, 5));
          // The last statement before COMMIT: any transaction waiting for these rows is still waiting.
          await tx`select 1`;
          held.push({ keys: new Set(rows.keys()), from, until: ++clock });
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    for (const a of held) {
      for (const b of held) {
        if (a === b || ![...a.keys].some((k) => b.keys.has(k))) continue;
        expect(a.until < b.from || b.until < a.from).toBe(true);
      }
    }
  });

  it('given row-by-row locks in opposite orders (what sorting prevents), PostgreSQL reports a deadlock', async () => {
    const [a, b] = [month(customers[4], 0), month(customers[5], 0)];
    const lockOne = (tx: Tx, k: PeriodKey) =>
      tx`select 1 from customer_periods where tenant_id = ${tenantId} and customer_id = ${k.customerId} and period_start = ${k.start} for update`;
    let bothHoldOne!: () => void;
    let holding = 0;
    const barrier = new Promise<void>((resolve) => (bothHoldOne = resolve));
    const run = (order: PeriodKey[]) =>
      inTenant(async (tx) => {
        await lockOne(tx, order[0]);
        if (++holding === 2) bothHoldOne();
        await barrier;
        await lockOne(tx, order[1]);
      });
    const results = await Promise.allSettled([run([a, b]), run([b, a])]);
    const codes = results.map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : 'ok'));
    expect(codes.sort()).toEqual(['40P01', 'ok']);
  });

  it('refuses, in one transaction, a later lock below a period it already holds; re-locking one it holds and going up are fine', async () => {
    const [lower, higher] = [month(customers[0], 0), month(customers[0], 2)];
    await expect(
      inTenant(async (tx) => {
        await lockPeriods(scope(tx), [higher]);
        await lockPeriods(scope(tx), [lower]);
      }),
    ).rejects.toThrow(/locked after/);
    await inTenant(async (tx) => {
      await lockPeriods(scope(tx), [lower]);
      expect((await lockPeriod(scope(tx), higher))?.end).toEqual(higher.end);
      expect(await lockPeriod(scope(tx), lower)).toBeDefined();
    });
  });

  it('opens missing periods with `open`, leaves existing ones, closes and splits them', async () => {
    const customerId = customers[1];
    const now = new Date();
    const fresh = month(customerId, 5);
    const rows = await inTenant((tx) => lockPeriods(scope(tx), [fresh, month(customerId, 0)], { now }));
    expect(rows.get(periodKey(fresh))).toMatchObject({
      status: 'open',
      amount: '0.000000000',
      eventCount: 0n,
      end: fresh.end,
    });
    expect(rows.size).toBe(2);
    // Known to exist: not inserted again, still locked and read.
    const known = month(customerId, 6);
    const skipped = await inTenant((tx) =>
      lockPeriods(scope(tx), [known], { now, known: new Set([periodKey(known)]) }),
    );
    expect(skipped.size).toBe(0);
    await inTenant((tx) => openPeriods(scope(tx), [{ ...fresh, end: at('2027-01-01T00:00:00Z') }], now));
    expect((await inTenant((tx) => lockPeriod(scope(tx), fresh)))?.end).toEqual(fresh.end);
    const split = at('2026-06-15T00:00:00Z');
    await inTenant(async (tx) => {
      await lockPeriods(scope(tx), [fresh]);
      expect(await splitPeriod(scope(tx), fresh, split, now)).toEqual({ customerId, start: split, end: fresh.end });
      await closePeriods(scope(tx), [fresh], now);
    });
    const after = await inTenant((tx) => lockPeriods(scope(tx), [fresh, { customerId, start: split }]));
    expect(after.get(periodKey(fresh))).toMatchObject({ status: 'closed', end: split });
    expect(after.get(periodKey({ customerId, start: split }))).toMatchObject({ status: 'open', end: fresh.end });
  });

  it('adds usage and credits applied to its periods only, twice adds twice, and opens a period that is missing with them', async () => {
    const customerId = customers[2];
    const now = new Date();
    const [january, february] = [month(customerId, 0), month(customerId, 1)];
    const missing = month(customerId, 8);
    const usage = (period: PeriodBounds, amount: string, count: number, credits = '0') => ({
      ...period,
      state: { counters: { n: count } },
      amountDelta: amount,
      eventCountDelta: count,
      creditsDelta: credits,
    });
    for (const [amount, credits] of [
      ['1.5', '0.5'],
      ['0.25', '0'],
    ])
      await inTenant(async (tx) => {
        await lockPeriods(scope(tx), [january, february]);
        await addUsage(scope(tx), [usage(february, amount, 2, credits)], now);
      });
    await inTenant(async (tx) => {
      await addUsage(scope(tx), [usage(missing, '3', 1, '0.125')], now);
    });
    const rows = await inTenant((tx) => lockPeriods(scope(tx), [january, february, missing]));
    expect(rows.get(periodKey(february))).toMatchObject({
      status: 'open',
      amount: '1.750000000',
      eventCount: 4n,
      creditsApplied: '0.500000000',
      state: { counters: { n: 2 } },
      end: february.end,
    });
    expect(rows.get(periodKey(january))).toMatchObject({
      amount: '0.000000000',
      eventCount: 0n,
      creditsApplied: '0.000000000',
      state: {},
    });
    expect(rows.get(periodKey(missing))).toMatchObject({
      status: 'open',
      amount: '3.000000000',
      eventCount: 1n,
      creditsApplied: '0.125000000',
      end: missing.end,
    });
  });
});
