// The statements one ingestion transaction sends, counted on the wire (postgres.js's debug hook on the service's
// own pool): BEGIN and the tenant settings go pipelined with the first reads and COMMIT right behind the writes
// (withTenantPipelined), so they cost no round trip and are counted apart from the statements that do the work.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestEvents } from '../../service/src/domains/events/service.ts';
import { authenticateApiKey } from '../../service/src/domains/keys/service.ts';
import { baseOptions, connect, deriveServiceUrl, type Db } from '../../service/src/platform/db.ts';
import {
  exampleBook,
  rest,
  serviceDeps,
  setUpLlmCustomers,
  signUpTenant,
  startService,
  type Harness,
  type TenantFixture,
} from './harness.ts';

// The settings: the tenant's, and the plan cache mode around the stored ids' and the billing-context reads
// (events/repo.ts withPlanMode).
const frame = /^\s*(begin|commit|rollback)\s*$|set_config\('(role|app\.plan_cache_mode|plan_cache_mode)'/i;

describe('statements of one ingestion transaction', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let counted: Db;
  const sent: string[] = [];

  beforeAll(async () => {
    harness = await startService({ now: '2026-03-15T00:00:00Z' });
    tenant = await signUpTenant(harness);
    await setUpLlmCustomers(harness, tenant.secretKey, ['acme']);
    counted = connect({
      ...baseOptions,
      url: deriveServiceUrl(harness.database.url),
      max: 1,
      debug: (_connection, query) => sent.push(query),
    });
  });
  afterAll(async () => {
    await counted?.end({ timeout: 5 });
    await harness?.close();
  });

  /** Sets up the tenant through the API, each call expected to succeed. */
  const setUp = async (calls: readonly (readonly [string, string, unknown])[]) => {
    for (const [method, path, body] of calls)
      expect(
        (await rest(harness, method, path, { key: tenant.secretKey, body })).status,
        `${method} ${path}`,
      ).toBeLessThan(300);
  };
  /** A gpt-4o completion of `customer`'s. */
  const llmEvent = (customer: string) => (id: string, timestamp: string) => ({
    transaction_id: id,
    customer_id: customer,
    event_type: 'llm.completion',
    timestamp,
    properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 1000, output_tokens: 10 },
  });

  // The aim is three (the reads, the lock, the writes); the reads are still four statements (customers and
  // books, stored ids, meters, billing terms with the grants, locked, and amendments), sent together in one round trip.
  it('rates and stores a batch in the reads, one lock and one write statement besides BEGIN, the settings and COMMIT', async () => {
    const deps = serviceDeps(harness, counted);
    const actor = (await authenticateApiKey(deps, tenant.secretKey))!;
    const event = llmEvent('acme');
    // The first batch creates the period and loads the book; the second is the steady state.
    expect((await ingestEvents(deps, actor, [event('s-1', '2026-03-10T00:00:00Z')])).accepted).toBe(1);
    sent.length = 0;
    const answer = await ingestEvents(deps, actor, [
      event('s-2', '2026-03-10T01:00:00Z'),
      event('s-3', '2026-03-10T02:00:00Z'),
      event('s-1', '2026-03-10T00:00:00Z'),
    ]);
    expect(answer).toMatchObject({ accepted: 2, duplicate: 1 });
    const work = sent.filter((query) => !frame.test(query));
    expect(sent.filter((query) => frame.test(query)).map((q) => q.trim().split(/\s/)[0].toLowerCase())).toEqual([
      'begin',
      'select',
      'select',
      'select',
      'select',
      'select',
      'commit',
    ]);
    const kinds = work.map((query) =>
      // The periods' lock: each period by its key, locked in a lateral subquery (periods/repo.ts lockPeriods).
      /for update\)\s*p\s+order by k\.o\s*$/i.test(query.trim()) && /customer_periods/.test(query)
        ? 'lock'
        : /^\s*(insert|update|with w0)/i.test(query)
          ? 'write'
          : 'read',
    );
    expect(kinds, work.join('\n---\n')).toEqual(['read', 'read', 'read', 'read', 'lock', 'write']);
    // The one write holds the event rows, the period totals and the usage and invoice aggregates.
    for (const table of ['into events', 'into customer_periods', 'into usage_aggregates', 'into invoice_aggregates'])
      expect(work.at(-1)).toContain(table);
  });

  it('writes a period once when its events draw credit: the credits applied go with the usage', async () => {
    await setUp([
      ['POST', '/v1/customers', { external_id: 'wallet', currency: 'USD' }],
      ['PUT', '/v1/customers/wallet/price_book', { price_book: 'llm', effective_from: '2026-01-01T00:00:00Z' }],
      ['POST', '/v1/customers/wallet/credit_grants', { kind: 'prepaid', amount: '100' }],
    ]);
    const deps = serviceDeps(harness, counted);
    const actor = (await authenticateApiKey(deps, tenant.secretKey))!;
    const event = llmEvent('wallet');
    const first = await ingestEvents(deps, actor, [event('w-1', '2026-03-10T00:00:00Z')]);
    expect(first.accepted).toBe(1);
    sent.length = 0;
    const answer = await ingestEvents(deps, actor, [
      event('w-2', '2026-03-10T01:00:00Z'),
      event('w-3', '2026-03-10T02:00:00Z'),
    ]);
    expect(answer.accepted).toBe(2);
    const drawn = [...first.events, ...answer.events].map((e) => (e as { credits_applied: string }).credits_applied);
    expect(
      drawn.every((c) => Number(c) > 0),
      drawn.join(),
    ).toBe(true);
    const periodWrites = sent.filter((query) => /(insert into|update)\s+customer_periods/i.test(query));
    expect(periodWrites, periodWrites.join('\n---\n')).toHaveLength(1);
    const [period] = await harness.database.owner`
      select p.credits_applied::text from customer_periods p join customers c on c.tenant_id = p.tenant_id and c.id = p.customer_id
      where c.external_id = 'wallet'`;
    // Nano-units: every amount has nine decimals.
    const nano = (text: string) => BigInt(text.replace('.', ''));
    expect(nano(period.credits_applied)).toBe(drawn.reduce((sum, c) => sum + nano(c), 0n));
  });

  it("reads an end user's resellers' billing with its own once its chain is known: no second round of reads", async () => {
    await setUp([
      ['POST', '/v1/customers', { external_id: 'res', currency: 'USD', is_reseller: true }],
      ['PUT', '/v1/customers/res/price_book', { price_book: 'llm', effective_from: '2026-01-01T00:00:00Z' }],
      ['POST', '/v1/price_books', { book: exampleBook('llm-res'), owner_customer_id: 'res' }],
      ['POST', '/v1/customers', { external_id: 'end', currency: 'USD', parent_id: 'res' }],
      ['PUT', '/v1/customers/end/price_book', { price_book: 'llm-res', effective_from: '2026-01-01T00:00:00Z' }],
    ]);
    const deps = serviceDeps(harness, counted);
    const actor = (await authenticateApiKey(deps, tenant.secretKey))!;
    const event = llmEvent('end');
    const reads = () =>
      sent.filter(
        (query) =>
          !frame.test(query) &&
          !/^\s*(insert|update|with w0)/i.test(query) &&
          !/for update\)\s*p\s+order by k\.o\s*$/i.test(query.trim()),
      );
    sent.length = 0;
    // The first batch learns the chain (the reseller's terms, grants and amendments in a second round of one read)
    // and loads the reseller's book.
    expect((await ingestEvents(deps, actor, [event('c-1', '2026-03-10T00:00:00Z')])).accepted).toBe(1);
    sent.length = 0;
    const answer = await ingestEvents(deps, actor, [event('c-2', '2026-03-10T01:00:00Z')]);
    expect(answer.accepted).toBe(1);
    expect(reads(), reads().join('\n---\n')).toHaveLength(4);
    // Rated at both levels all the same: the reseller's line is in the event's chain.
    const [row] = await harness.database.owner`
      select jsonb_array_length(chain::jsonb) as levels from events where transaction_id = 'c-2'`;
    expect(row.levels).toBe(1);
  });
});
