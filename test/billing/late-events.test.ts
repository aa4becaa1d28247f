// Events into closed periods over HTTP with a frozen clock: once a period's invoice is final, a late event is
// still accepted and rated in its own period, its final invoice does not change, and the event is billed as an
// adjustment line on the customer's next invoice, showing its original timestamp, exactly once; a re-rating of
// the period bills the late event's difference apart from the invoice's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness, TenantFixture } from '../service/harness.ts';
import { billingBook, startBillingScenario, tokens, type client } from './fixtures.ts';
import type { Jobs } from './jobs-harness.ts';
import { checkLedger } from './ledger-check.ts';

describe('events into closed periods', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;
  let jobs: Jobs;

  beforeAll(async () => {
    ({ harness, tenant, api, jobs } = await startBillingScenario('2026-03-01T00:00:00Z'));
    await api.ok('POST', '/v1/price_books', { book: billingBook });
    await api.ok('POST', '/v1/plans', {
      code: 'monthly',
      name: 'Monthly',
      price_book: 'ai-platform',
      base_fee: '20',
      interval: 'month',
      invoice_grace_hours: 0,
    });
    await api.ok('POST', '/v1/customers', { external_id: 'late-co', currency: 'USD' });
    await api.ok('POST', '/v1/customers/late-co/subscriptions', {
      plan: 'monthly',
      started_at: '2026-03-01T00:00:00Z',
    });
    harness.clock.set('2026-03-15T00:00:00Z');
    await api.events(tokens('m-1', 'late-co', 100_000, '2026-03-10T00:00:00Z')); // $2
    harness.clock.set('2026-04-01T00:00:05Z');
    await jobs.tick();
    expect(await api.invoiceOf('late-co', '2026-03-01T00:00:00.000Z')).toMatchObject({
      status: 'finalized',
      total: '22.000000000',
    });
  });
  afterAll(async () => {
    await jobs?.stop();
    await harness?.close();
  });

  it('accepts a late event for a closed period and bills it on the next invoice with its original timestamp', async () => {
    harness.clock.set('2026-04-05T00:00:00Z');
    const [late] = await api.events(tokens('late-1', 'late-co', 50_000, '2026-03-20T08:30:00Z')); // $1
    expect(late).toMatchObject({
      status: 'accepted',
      amount: '1.000000000',
      period: { start: '2026-03-01T00:00:00.000Z', end: '2026-04-01T00:00:00.000Z' },
    });
    expect(await api.ok('GET', '/v1/events/late-1/receipt')).toMatchObject({
      timestamp: '2026-03-20T08:30:00.000Z',
      amount: '1.000000000',
      period_start: '2026-03-01T00:00:00.000Z',
    });
    // A duplicate is still a duplicate.
    const [again] = await api.events(tokens('late-1', 'late-co', 50_000, '2026-03-20T08:30:00Z'));
    expect(again.status).toBe('duplicate');
    // The final invoice does not change.
    const march = await api.invoiceOf('late-co', '2026-03-01T00:00:00.000Z');
    expect(march.total).toBe('22.000000000');
    expect(march.lines.find((l: any) => l.kind === 'usage')).toMatchObject({ amount: '2.000000000', event_count: '1' });

    harness.clock.set('2026-05-01T00:00:05Z');
    await jobs.tick();
    const april = await api.invoiceOf('late-co', '2026-04-01T00:00:00.000Z');
    expect(april.lines.map((l: any) => [l.kind, l.description, l.amount])).toEqual([
      ['base_fee', 'Monthly base fee', '20.000000000'],
      [
        'adjustment',
        'Late event late-1 of the period from 2026-03-01T00:00:00.000Z (2026-03-20T08:30:00.000Z)',
        '1.000000000',
      ],
    ]);
    expect(april.total).toBe('21.000000000');

    // Billed once: the next invoice does not carry it again.
    harness.clock.set('2026-06-01T00:00:05Z');
    await jobs.tick();
    const may = await api.invoiceOf('late-co', '2026-05-01T00:00:00.000Z');
    expect(may.lines.map((l: any) => l.kind)).toEqual(['base_fee']);
    await checkLedger(harness.database.owner, tenant.tenantId);
  });
  // The period's invoice aggregates leave the late event out before and after the re-rating (integrity.ts checks
  // them against the receipts when the service closes): the final invoice's increase is its own event's, and the
  // late event's increase is an adjustment of its own.
  it('re-rates a closed period with a late event: the invoice and the late event each get their own adjustment', async () => {
    const version = {
      ...billingBook.versions[0],
      effective_from: '2026-03-01T00:00:00Z',
      rate_cards: [
        {
          ...billingBook.versions[0].rate_cards[0],
          charges: [
            { dimension: 'tokens', allowance: 'tokens', price: { model: 'per_unit', rate: '0.04', per: '1000' } },
          ],
        },
        billingBook.versions[0].rate_cards[1],
      ],
    };
    await api.ok('POST', '/v1/price_books/ai-platform/versions', { version, retroactive: true });
    const [rerating] = (await api.ok('GET', '/v1/reratings?price_book=ai-platform&status=pending')).data;
    await jobs.tick();
    await api.ok('POST', `/v1/reratings/${rerating.id}/approve`);
    await jobs.tick();
    const applied = await api.ok('GET', `/v1/reratings/${rerating.id}`);
    expect(applied.result.periods.map((p: any) => [p.start, p.events, p.difference, p.action, p.adjustment])).toEqual([
      ['2026-03-01T00:00:00.000Z', '2', '3.000000000', 'adjustment', '2.000000000'],
    ]);
    harness.clock.set('2026-07-01T00:00:05Z');
    await jobs.tick();
    const june = await api.invoiceOf('late-co', '2026-06-01T00:00:00.000Z');
    expect(
      june.lines
        .filter((l: any) => l.kind === 'adjustment')
        .map((l: any) => [l.description.replace(/ \(price book.*$/, ''), l.amount])
        .sort(),
    ).toEqual([
      ['Re-rating of INV-000001', '2.000000000'],
      ['Re-rating of late event late-1', '1.000000000'],
    ]);
    expect(june.total).toBe('23.000000000');
    await checkLedger(harness.database.owner, tenant.tenantId);
  });
});
