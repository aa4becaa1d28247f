// Crash safety: the service process is SIGKILLed while a load generator sends batches; after a restart every
// batch that was not acknowledged is sent again. Every acknowledged event must be stored and rated exactly once,
// and the period totals must equal the sum of the rated lines.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../service/src/platform/test-database.ts';
import { eventually } from '../wait.ts';
import { referentialProblems } from './integrity.ts';
import { startServiceProcess, type ServiceProcess } from './process.ts';

function batch(n: number, size: number) {
  return {
    events: Array.from({ length: size }, (_, i) => ({
      transaction_id: `crash-${n}-${i}`,
      customer_id: `customer-${(n + i) % 5}`,
      event_type: 'llm.completion',
      timestamp: new Date(Date.UTC(2026, 2, 1) + n * 60_000 + i * 1000).toISOString(),
      properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 1000 + i, output_tokens: 10 * n },
    })),
  };
}

describe('crash safety', () => {
  let database: TestDatabase;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    service?.child.kill('SIGKILL');
    await database?.drop();
  });

  it('given a SIGKILL mid-load, stores and rates every acknowledged event exactly once after resending the rest', async () => {
    // First start on an empty database: the demo tenant is created; its key comes from the banner.
    service = await startServiceProcess(database.url);
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    const apiKey = service.demoKey!;
    expect(apiKey).toMatch(/^sk_/);
    const call = (url: string, method: string, pathname: string, body?: unknown) =>
      fetch(url + pathname, { method, headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    for (let c = 0; c < 5; c++) {
      expect((await call(service.url, 'POST', '/v1/customers', { external_id: `customer-${c}`, currency: 'USD' })).status).toBe(201);
      expect((await call(service.url, 'PUT', `/v1/customers/customer-${c}/price_book`, { price_book: 'demo-llm', effective_from: '2026-01-01T00:00:00Z' })).status).toBe(200);
    }

    const total = 120;
    const acknowledged = new Map<number, any>();
    let next = 0;
    let killed = false;
    const worker = async (url: string) => {
      while (next < total && !killed) {
        const n = next++;
        try {
          const response = await call(url, 'POST', '/v1/events', batch(n, 50));
          if (response.status === 200) acknowledged.set(n, await response.json());
        } catch {
          // The connection died with the process: this batch was not acknowledged.
        }
      }
    };
    const load = Promise.all(Array.from({ length: 4 }, () => worker(service!.url)));
    await eventually('20 batches acknowledged before the kill', () => acknowledged.size >= 20, { intervalMs: 5 });
    service.child.kill('SIGKILL');
    killed = true;
    await load;
    if (service.child.exitCode === null && service.child.signalCode === null) await new Promise((resolve) => service!.child.once('exit', resolve));
    const ackedBeforeCrash = acknowledged.size;
    expect(ackedBeforeCrash).toBeGreaterThanOrEqual(20);
    expect(ackedBeforeCrash).toBeLessThan(total);

    service = await startServiceProcess(database.url);
    const resent: number[] = [];
    for (let n = 0; n < total; n++) {
      if (acknowledged.has(n)) continue;
      const response = await call(service.url, 'POST', '/v1/events', batch(n, 50));
      expect(response.status).toBe(200);
      acknowledged.set(n, await response.json());
      resent.push(n);
    }
    expect(resent.length).toBe(total - ackedBeforeCrash);

    // Every acknowledged event is stored once and rated once.
    const [counts] = await database.owner`
      select (select count(*)::int from events where transaction_id like 'crash-%') as events,
             (select count(distinct transaction_id)::int from events where transaction_id like 'crash-%') as distinct_events,
             (select count(*)::int from rated_lines where transaction_id like 'crash-%') as lines,
             (select count(distinct transaction_id)::int from rated_lines where transaction_id like 'crash-%') as distinct_lines`;
    expect(counts).toEqual({ events: total * 50, distinct_events: total * 50, lines: total * 50, distinct_lines: total * 50 });
    // Each event's outcome is accepted once overall; a resent event that committed before the crash is a duplicate.
    const outcomes = [...acknowledged.values()].flatMap((r) => r.events);
    expect(outcomes.filter((o: any) => o.status === 'rejected')).toEqual([]);
    const acceptedIds = outcomes.filter((o: any) => o.status === 'accepted').map((o: any) => o.transaction_id);
    expect(new Set(acceptedIds).size).toBe(acceptedIds.length);
    for (const o of outcomes.filter((x: any) => x.status === 'duplicate')) expect(o.amount).toMatch(/^\d+\.\d{9}$/);

    // Totals equal the sum of the receipts, per customer and period, and the meter aggregates count every event.
    const mismatches = await database.owner`
      select p.customer_id, p.amount, p.event_count, s.amount as lines_amount, s.n
      from customer_periods p
      join (select customer_id, period_start, sum(amount) as amount, count(*) as n from rated_lines group by 1, 2) s
        on s.customer_id = p.customer_id and s.period_start = p.period_start
      where p.amount <> s.amount or p.event_count <> s.n`;
    expect(mismatches).toEqual([]);
    const [aggregates] = await database.owner`
      select sum(a.event_count)::int as n from usage_aggregates a join meters m on m.id = a.meter_id where m.code = 'tokens'`;
    const [demoEvents] = await database.owner`select count(*)::int as n from events where event_type = 'llm.completion'`;
    expect(aggregates.n).toBe(demoEvents.n);
    const receipts = outcomes.filter((o: any) => o.status === 'accepted' || o.status === 'duplicate').reduce((sum: bigint, o: any) => sum + BigInt(o.amount.replace('.', '')), 0n);
    const [stored] = await database.owner`select sum(amount)::text as amount from rated_lines where transaction_id like 'crash-%'`;
    expect(receipts).toBe(BigInt(stored.amount.replace('.', '')));
    expect(await referentialProblems(database.owner)).toEqual([]);
  });
});
