// Issue 18's scenario: 50 agents share one $10.00 prepaid balance under the block policy. Each places holds of
// random size, then captures random actual usage (some under the hold, some over it, some in two steps), or
// crashes before capturing (its hold expires by the billing tick), or fails and releases. The balance never goes
// below zero, every capture that stays within its hold is accepted (the hold guaranteed it), the ledger balances,
// and every hold ends captured, released or expired.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness, TenantFixture } from '../service/harness.ts';
import { billingBook, client, startBillingScenario, tokens } from './fixtures.ts';
import type { Jobs } from './jobs-harness.ts';
import { checkLedger, nano } from './ledger-check.ts';

/** A small deterministic generator, so that a failure can be replayed. */
function generator(seed: number) {
  let state = seed >>> 0;
  return (below: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % below;
  };
}

describe('50 concurrent agents on one $10.00 balance', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;
  let jobs: Jobs;
  const at = '2026-03-20T00:00:00Z';

  beforeAll(async () => {
    ({ harness, tenant, api, jobs } = await startBillingScenario(at));
    await api.ok('POST', '/v1/price_books', { book: billingBook });
    await api.ok('POST', '/v1/customers', { external_id: 'shared', currency: 'USD' });
    await api.ok('PUT', '/v1/customers/shared/price_book', {
      price_book: 'ai-platform',
      effective_from: '2026-01-01T00:00:00Z',
    });
    await api.ok('PATCH', '/v1/customers/shared/wallet', { on_depletion: 'block' });
    await api.ok('POST', '/v1/customers/shared/credit_grants', { kind: 'prepaid', amount: '10' });
  });
  afterAll(async () => {
    await jobs?.stop();
    await harness?.close();
  });

  it('never overdraws, honours every hold, and closes every hold', async () => {
    const random = generator(18);
    const stats = {
      placed: 0,
      refused: 0,
      captured: 0,
      overrunRefused: 0,
      crashed: 0,
      released: 0,
      withinHoldRefused: [] as string[],
    };
    // $0.02 per 1,000 tokens: a cent is 500 tokens.
    const cents = (count: number) => count * 500;

    const agent = async (agentIndex: number) => {
      for (let run = 0; run < 4; run++) {
        const holdId = `agent-${agentIndex}-run-${run}`;
        const heldCents = 5 + random(96); // $0.05 to $1.00
        const overrun = random(2) === 0 ? 'charge' : 'refuse';
        const placed = await api.call('POST', '/v1/customers/shared/holds', {
          id: holdId,
          amount: (heldCents / 100).toFixed(2),
          expires_in: 30,
          overrun,
        });
        if (placed.status === 422) {
          expect(['insufficient_balance', 'blocked']).toContain(placed.body.error.code);
          stats.refused++;
          continue;
        }
        expect(placed.status, JSON.stringify(placed.body)).toBe(201);
        stats.placed++;
        const fate = random(20);
        if (fate < 3) {
          stats.crashed++; // dies before capturing: the hold lapses
          continue;
        }
        if (fate < 5) {
          await api.ok('POST', `/v1/customers/shared/holds/${holdId}/release`);
          stats.released++;
          continue;
        }
        // Actual usage from 40% to 130% of the hold, in one or two steps.
        const usedCents = Math.max(1, Math.round((heldCents * (40 + random(91))) / 100));
        const steps =
          random(2) === 0 ? [usedCents] : [Math.ceil(usedCents / 2), Math.floor(usedCents / 2)].filter((c) => c > 0);
        let sent = 0;
        for (const [i, stepCents] of steps.entries()) {
          const final = i === steps.length - 1;
          const event = {
            ...tokens(`${holdId}-step-${i}`, 'shared', cents(stepCents), at),
            hold_id: holdId,
            hold_final: final,
          };
          const response = await api.call('POST', '/v1/events', { events: [event], on_block: 'refuse' });
          expect(response.status).toBe(200);
          const [outcome] = response.body.events;
          sent += stepCents;
          if (outcome.status === 'accepted') {
            // Nothing is ever billed beyond the credit.
            expect(outcome.amount).toBe('0.000000000');
            stats.captured++;
            continue;
          }
          if (sent <= heldCents) stats.withinHoldRefused.push(`${holdId}: ${JSON.stringify(outcome.error)}`);
          expect(['hold_exceeded', 'credits_exhausted']).toContain(outcome.error.code);
          stats.overrunRefused++;
          // The agent's error path: give back what the hold still holds.
          await api.ok('POST', `/v1/customers/shared/holds/${holdId}/release`);
          break;
        }
      }
    };
    await Promise.all(Array.from({ length: 50 }, (_, i) => agent(i)));

    // The crashed agents' holds lapse and the scheduler closes them.
    harness.clock.advance(31_000);
    await jobs.tick();

    expect(stats.withinHoldRefused).toEqual([]);
    // The balance was contended: some holds were refused, some over-usage too, and a good share went through.
    expect(stats.refused).toBeGreaterThan(0);
    expect(stats.placed).toBeGreaterThan(10);
    expect(stats.crashed).toBeGreaterThan(0);

    const db = harness.database.owner;
    const [grant] = await db`select balance::text from credit_grants where tenant_id = ${tenant.tenantId}`;
    const [period] =
      await db`select amount::text, credits_applied::text from customer_periods where tenant_id = ${tenant.tenantId}`;
    // Never below zero: the grant is not overdrawn and nothing was billed beyond it.
    expect(nano(grant.balance)).toBeGreaterThanOrEqual(0n);
    expect(nano(period.amount)).toBe(0n);
    const [billed] =
      await db`select coalesce(sum(amount), 0)::text as total from event_ratings where tenant_id = ${tenant.tenantId}`;
    expect(nano(billed.total)).toBe(0n);
    expect(nano(period.credits_applied) + nano(grant.balance)).toBe(10_000_000_000n);
    await checkLedger(db, tenant.tenantId);

    // Every hold is closed; each one's captured total is the sum of its captures, which are the accepted events.
    const holds =
      await db`select id, status, captured::text, amount::text from holds where tenant_id = ${tenant.tenantId}`;
    expect(holds).toHaveLength(stats.placed);
    const statuses = new Map<string, number>();
    for (const h of holds) statuses.set(h.status, (statuses.get(h.status) ?? 0) + 1);
    expect(statuses.get('open')).toBeUndefined();
    expect(statuses.get('expired')).toBe(stats.crashed);
    const captures =
      await db`select hold_id, sum(amount)::text as total, count(*)::int as n from hold_captures where tenant_id = ${tenant.tenantId} group by hold_id`;
    expect(captures.reduce((n, c) => n + c.n, 0)).toBe(stats.captured);
    const byHold = new Map(captures.map((c) => [c.hold_id as string, nano(c.total)]));
    for (const h of holds) expect(nano(h.captured), h.id).toBe(byHold.get(h.id) ?? 0n);
    expect([...byHold.values()].reduce((a, b) => a + b, 0n)).toBe(nano(period.credits_applied));
    const check = await api.ok('POST', '/v1/customers/shared/check', { estimated_cost: '0' });
    expect(check).toMatchObject({ held: '0.000000000', credit_balance: grant.balance });
    const expired = (await api.ok('GET', '/v1/notifications?type=hold.expired&limit=1000')).data;
    expect(expired).toHaveLength(stats.crashed);
  }, 300_000);
});
