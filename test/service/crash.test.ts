// Crash safety: the service process is SIGKILLed while a load generator sends batches and agents place and
// capture spend holds; after a restart every batch, hold and capture is sent again (holds are idempotent by their
// id). Every acknowledged event must be stored and rated exactly once, the period totals must equal the sum of the
// rated lines, and every hold exists once, captured once: neither lost nor doubled.
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
      fetch(url + pathname, {
        method,
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    for (let c = 0; c < 5; c++) {
      expect(
        (await call(service.url, 'POST', '/v1/customers', { external_id: `customer-${c}`, currency: 'USD' })).status,
      ).toBe(201);
      expect(
        (
          await call(service.url, 'PUT', `/v1/customers/customer-${c}/price_book`, {
            price_book: 'demo-llm',
            effective_from: '2026-01-01T00:00:00Z',
          })
        ).status,
      ).toBe(200);
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
    // Agents: place a hold, then capture it with a final event; what was acknowledged before the kill is kept.
    const totalHolds = 60;
    const holdsAcknowledged = new Map<number, any>();
    const capturesAcknowledged = new Set<number>();
    const holdOf = (n: number) => ({ id: `agent-hold-${n}`, amount: '0.5', expires_in: 3600 });
    const captureOf = (n: number) => ({
      events: [
        {
          transaction_id: `agent-cap-${n}`,
          customer_id: `customer-${n % 5}`,
          event_type: 'llm.completion',
          timestamp: new Date(Date.UTC(2026, 2, 1) + n * 1000).toISOString(),
          properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 100 + n, output_tokens: 10 },
          hold_id: `agent-hold-${n}`,
          hold_final: true,
        },
      ],
    });
    let nextHold = 0;
    const agent = async (url: string) => {
      while (nextHold < totalHolds && !killed) {
        const n = nextHold++;
        try {
          const placed = await call(url, 'POST', `/v1/customers/customer-${n % 5}/holds`, holdOf(n));
          if (placed.status !== 201) continue;
          holdsAcknowledged.set(n, await placed.json());
          const captured = await call(url, 'POST', '/v1/events', captureOf(n));
          if (captured.status === 200) capturesAcknowledged.add(n);
        } catch {
          // Died with the process.
        }
      }
    };
    const load = Promise.all([
      ...Array.from({ length: 4 }, () => worker(service!.url)),
      ...Array.from({ length: 2 }, () => agent(service!.url)),
    ]);
    await eventually('20 batches acknowledged before the kill', () => acknowledged.size >= 20, { intervalMs: 5 });
    service.child.kill('SIGKILL');
    killed = true;
    await load;
    if (service.child.exitCode === null && service.child.signalCode === null)
      await new Promise((resolve) => service!.child.once('exit', resolve));
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
    // Every hold and capture again, acknowledged or not: a hold placed before the crash answers as it was placed.
    const holdsBeforeCrash = holdsAcknowledged.size;
    expect(holdsBeforeCrash).toBeGreaterThan(0);
    for (let n = 0; n < totalHolds; n++) {
      const placed = await call(service.url, 'POST', `/v1/customers/customer-${n % 5}/holds`, holdOf(n));
      expect(placed.status).toBe(201);
      const hold = await placed.json();
      if (holdsAcknowledged.has(n)) expect(hold.created_at).toBe(holdsAcknowledged.get(n).created_at);
      const captured = await call(service.url, 'POST', '/v1/events', captureOf(n));
      expect(captured.status).toBe(200);
      const [outcome] = (await captured.json()).events;
      // A capture acknowledged before the crash is a duplicate now; one that was not may have committed unanswered.
      expect(['accepted', 'duplicate'], JSON.stringify(outcome)).toContain(outcome.status);
      if (capturesAcknowledged.has(n)) expect(outcome.status).toBe('duplicate');
    }
    const holdRows = await database.owner`
      select h.id, h.status, h.capture_count, h.captured::text, (select count(*)::int from hold_captures c where c.tenant_id = h.tenant_id and c.hold_id = h.id) as captures,
             -- No credits in this tenant: what a capture charged is its rated line's amount.
             (select r.amount::text from event_ratings r where r.tenant_id = h.tenant_id and r.transaction_id = 'agent-cap-' || substr(h.id, 12)) as charged
      from holds h where h.id like 'agent-hold-%'`;
    expect(holdRows).toHaveLength(totalHolds);
    for (const row of holdRows) {
      expect(row, row.id).toMatchObject({ status: 'captured', capture_count: 1, captures: 1 });
      expect(row.captured, row.id).toBe(row.charged);
    }

    // Every acknowledged event is stored once and rated once.
    const [counts] = await database.owner`
      select (select count(*)::int from events where transaction_id like 'crash-%') as events,
             (select count(distinct transaction_id)::int from events where transaction_id like 'crash-%') as distinct_events,
             (select count(*)::int from event_ratings where transaction_id like 'crash-%') as lines,
             (select count(distinct transaction_id)::int from event_ratings where transaction_id like 'crash-%') as distinct_lines`;
    expect(counts).toEqual({
      events: total * 50,
      distinct_events: total * 50,
      lines: total * 50,
      distinct_lines: total * 50,
    });
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
      join (select customer_id, period_start, sum(amount) as amount, count(*) as n from event_ratings group by 1, 2) s
        on s.customer_id = p.customer_id and s.period_start = p.period_start
      where p.amount <> s.amount or p.event_count <> s.n`;
    expect(mismatches).toEqual([]);
    const [aggregates] = await database.owner`
      select sum(a.event_count)::int as n from usage_aggregates a join meters m on m.id = a.meter_id where m.code = 'tokens'`;
    const [demoEvents] =
      await database.owner`select count(*)::int as n from events where event_type = 'llm.completion'`;
    expect(aggregates.n).toBe(demoEvents.n);
    const receipts = outcomes
      .filter((o: any) => o.status === 'accepted' || o.status === 'duplicate')
      .reduce((sum: bigint, o: any) => sum + BigInt(o.amount.replace('.', '')), 0n);
    const [stored] =
      await database.owner`select sum(amount)::text as amount from event_ratings where transaction_id like 'crash-%'`;
    expect(receipts).toBe(BigInt(stored.amount.replace('.', '')));
    expect(await referentialProblems(database.owner)).toEqual([]);
  });
});
