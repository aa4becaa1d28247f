// The price book's simulation in Chromium (issue 14): a draft edited in the page replayed by the server over the last
// month of every customer; the page's revenue and margin, per customer and in all, old, new and change, are
// simulations.run's strings for the same draft and month; the events the draft cannot rate are listed; an event's
// receipt under the draft opens beside the stored one as simulations.receipt gives it; and a draft that does not
// compile shows the compiler's message at its field and runs nothing.
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  rest,
  signUpTenant,
  startService,
  tokenCard,
  trpc,
  type Harness,
  type TenantFixture,
} from '../service/harness.ts';
import {
  amountsIn,
  capture,
  launchBrowser,
  logIn,
  openPage,
  requireBuiltDashboard,
  screenshotIfFailed,
} from './pages.ts';

const book = {
  id: 'llm',
  currency: 'USD',
  versions: [
    {
      effective_from: '2020-01-01T00:00:00Z',
      rate_cards: [tokenCard('gpt-4o', '2.5', '10'), tokenCard('gpt-4o-mini', '1', '2')],
    },
  ],
  // What serving costs, so that the margin is not the revenue.
  cost: {
    currency: 'USD',
    versions: [
      {
        effective_from: '2020-01-01T00:00:00Z',
        rate_cards: [tokenCard('gpt-4o', '1', '4'), tokenCard('gpt-4o-mini', '0.5', '1')],
      },
    ],
  },
};
const llm = (id: string, customer: string, timestamp: string, model: string, input: number, output: number) => ({
  transaction_id: id,
  customer_id: customer,
  event_type: 'llm.completion',
  timestamp,
  properties: { model, input_tokens: input, output_tokens: output },
});
// The browser keeps the session's cookie by the real clock: the service's runs on it too, and the usage is in the
// last whole month before today, the page's default range.
const now = new Date();
const monthStart = (monthsBack: number) =>
  new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - monthsBack, 1)).toISOString();
const lastMonth = { from: monthStart(1), until: monthStart(0) };
/** An instant in last month: its day (from 1) and hour. */
const at = (day: number, hour: number, monthsBack = 1) =>
  new Date(Date.parse(monthStart(monthsBack)) + ((day - 1) * 24 + hour) * 3600_000).toISOString();
const figures = ['old_revenue', 'new_revenue', 'revenue_change', 'old_margin', 'new_margin', 'margin_change'] as const;

describe('the price book simulation in the browser', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  /** The draft as the test edits it in the page: the stored version, input at $5/M, the mini card removed. */
  let draft: Record<string, unknown>;

  const call = async (method: string, path: string, body?: unknown) => {
    const response = await rest(harness, method, path, { key: tenant.secretKey, body });
    expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBeLessThan(300);
    return response.body;
  };
  const server = async (procedure: string, input: unknown) => {
    const answer = await trpc(harness, 'mutation', procedure, input, tenant.session);
    expect(answer.status, JSON.stringify(answer.error)).toBe(200);
    return answer.body;
  };

  beforeAll(async () => {
    requireBuiltDashboard();
    harness = await startService({ now: now.toISOString() });
    tenant = await signUpTenant(harness);
    await call('POST', '/v1/price_books', { name: 'LLM', book });
    for (const customer of ['alpha', 'beta', 'gamma']) {
      await call('POST', '/v1/customers', { external_id: customer, currency: 'USD' });
      await call('PUT', `/v1/customers/${customer}/price_book`, {
        price_book: 'llm',
        effective_from: monthStart(3),
      });
    }
    await call('POST', '/v1/events', {
      events: [
        llm('a1', 'alpha', at(3, 10), 'gpt-4o', 800_000, 100_000),
        llm('a2', 'alpha', at(4, 10), 'gpt-4o', 400_000, 0),
        llm('b1', 'beta', at(10, 10), 'gpt-4o', 200_000, 50_000),
        llm('b2', 'beta', at(11, 10), 'gpt-4o-mini', 3_000_000, 1_000_000),
        llm('g1', 'gamma', at(12, 10), 'gpt-4o', 1_500_000, 20_000),
        llm('g2', 'gamma', at(20, 10), 'gpt-4o-mini', 100_000, 0),
        // The month before: outside the simulated one.
        llm('a3', 'alpha', at(20, 10, 2), 'gpt-4o', 1_000_000, 0),
      ],
    });
    browser = await launchBrowser();
    ({ page, errors } = await openPage(browser, harness.url));
    await logIn(page, tenant.slug, tenant.email, 'correct horse battery staple');
  });
  afterEach((context) => screenshotIfFailed(context, page));
  afterAll(async () => {
    await browser?.close();
    await harness?.close();
  });

  it("shows the compiler's message at the field and runs nothing while the draft does not compile", async () => {
    const runs: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('simulations.')) runs.push(request.url());
    });
    await page.goto('/dashboard/price-books/llm');
    const rate = page.locator('input[data-path="rate_cards.0.charges.0.price.rate"]');
    await rate.waitFor();
    expect(await rate.inputValue()).toBe('2.5');
    // The page offers last month to replay.
    expect(await page.getByLabel('Periods starting from').inputValue()).toBe(lastMonth.from);
    expect(await page.getByLabel('until (exclusive)').inputValue()).toBe(lastMonth.until);
    await rate.fill('five');
    const message = page.locator('[data-problem-path="rate_cards.0.charges.0.price.rate"]');
    await message.waitFor();
    expect(await message.textContent()).toMatch(/decimal|number/i);
    const run = page.getByRole('button', { name: 'Run simulation' });
    expect(await run.isDisabled()).toBe(true);
    // Submitting the form some other way (Enter in a field) runs nothing either.
    await page.getByLabel('until (exclusive)').press('Enter');
    await page.getByText('Fix the compiler messages to replay the draft.').waitFor();
    expect(await page.getByTestId('simulation-total').count()).toBe(0);
    expect(runs).toEqual([]);
    // The server's compiler refuses the same draft at the same field.
    const stored = (await trpc(harness, 'query', 'priceBooks.get', { code: 'llm' }, tenant.session)).body.book;
    const broken = structuredClone(stored.versions[0]);
    broken.rate_cards[0].charges[0].price.rate = 'five';
    const refused = await trpc(
      harness,
      'mutation',
      'simulations.run',
      { price_book: 'llm', draft: broken, ...lastMonth },
      tenant.session,
    );
    expect(refused.status).toBe(400);
    expect(refused.error!.data.app!.details.map((d) => d.field)).toEqual(['draft.rate_cards.0.charges.0.price.rate']);
    await capture(page, '40-simulation-draft-problem');
  });

  it("replays last month under the edited draft with simulations.run's figures, per customer and in all", async () => {
    const rate = page.locator('input[data-path="rate_cards.0.charges.0.price.rate"]');
    await rate.fill('5');
    await page.getByRole('button', { name: 'Remove card gpt-4o-mini' }).click();
    await expect.poll(() => page.getByTestId('compile-status').textContent()).toBe('Compiles: ready to publish');
    const stored = (await trpc(harness, 'query', 'priceBooks.get', { code: 'llm' }, tenant.session)).body.book;
    const edited = structuredClone(stored.versions[0]);
    edited.effective_from = await page.locator('input[data-path="effective_from"]').inputValue();
    edited.rate_cards[0].charges[0].price.rate = '5';
    edited.rate_cards = edited.rate_cards.filter((c: { id: string }) => c.id !== 'gpt-4o-mini');
    draft = edited;

    await page.getByRole('button', { name: 'Run simulation' }).click();
    await page.getByTestId('simulation-total').waitFor();
    const expected = await server('simulations.run', { price_book: 'llm', draft, ...lastMonth });
    // The figures move: a test of equal strings on unchanged figures would prove little.
    expect(expected.customers.map((c: { customer_id: string }) => c.customer_id).sort()).toEqual([
      'alpha',
      'beta',
      'gamma',
    ]);
    expect(expected.total.revenue_change).not.toBe('0.000000000');
    expect(expected.total.margin_change).not.toBe('0.000000000');
    expect(expected.total.old_margin).not.toBe(expected.total.old_revenue);

    // In all: each figure, old, new and change, is the API's string (with the currency where the page puts it).
    for (const name of figures)
      expect(
        await amountsIn(page, `[data-testid="simulation-total"] [data-figure="${name}"] [data-amount]`),
        name,
      ).toEqual([expected.total[name]]);
    expect(await page.getByTestId('simulation-counts').textContent()).toBe(
      `${expected.total.customers} / ${expected.periods} / ${expected.total.events}`,
    );
    // Per customer: the rows in the API's order, each column the API's figure.
    const table = 'table[aria-label="Simulation by customer"]';
    const rows = await page
      .locator(`${table} tbody tr`)
      .evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-row')));
    expect(rows).toEqual(expected.customers.map((c: { customer_id: string }) => c.customer_id));
    for (const name of figures)
      expect(await amountsIn(page, `${table} td[data-column="${name}"] [data-amount]`), name).toEqual(
        expected.customers.map((c: Record<string, string>) => c[name]),
      );
    expect(
      await page.locator(`${table} td[data-column="events"]`).evaluateAll((tds) => tds.map((td) => td.textContent)),
    ).toEqual(expected.customers.map((c: { events: number }) => String(c.events)));

    // The events the draft cannot rate (no card for gpt-4o-mini any more) are listed as the API lists them.
    expect(expected.unratable.map((u: { transaction_id: string }) => u.transaction_id).sort()).toEqual(['b2', 'g2']);
    const unratable = await page
      .locator('table[aria-label="Events the draft cannot rate"] tbody tr')
      .evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent)));
    expect(unratable).toEqual(
      expected.unratable.map((u: Record<string, string>) => [u.transaction_id, u.customer_id, u.code, u.message]),
    );
    expect(await page.getByTestId('unratable-count').textContent()).toMatch(
      new RegExp(`^${expected.unratable_count} events `),
    );
    await capture(page, '41-simulation');
  });

  it("opens an event's receipt under the draft beside the stored one, as simulations.receipt gives it", async () => {
    const receiptOf = async (transactionId: string) => {
      await page.getByLabel("Open an event's receipt under the draft").fill(transactionId);
      await page.getByRole('button', { name: 'Open', exact: true }).click();
      const shown = page.locator(`[data-testid="simulated-receipt"][data-transaction="${transactionId}"]`);
      await shown.waitFor();
      const expected = await server('simulations.receipt', { price_book: 'llm', draft, transaction_id: transactionId });
      for (const side of ['old', 'new'] as const) {
        const column = shown.locator(`[data-side="${side}"]`);
        const amounts = await column
          .locator('h4 [data-amount]')
          .evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-amount')));
        expect(amounts, side).toEqual(expected[side].amount === null ? [] : [expected[side].amount]);
        expect(
          await column.locator('li[data-step]').evaluateAll((items) => items.map((i) => i.getAttribute('data-step'))),
          side,
        ).toEqual(expected[side].receipt.map((step: { step: string }) => step.step));
      }
      return { shown, expected };
    };

    const a1 = await receiptOf('a1');
    expect(a1.expected.new.amount).not.toBe(a1.expected.old.amount);
    expect(a1.expected.new.receipt.map((s: { step: string }) => s.step)).toContain('price');
    // The draft's price step names the new rate, as the API's step has it.
    const price = a1.expected.new.receipt.find((s: { step: string }) => s.step === 'price');
    expect(price.rate).toBe('5.000000000');
    expect(await a1.shown.locator('[data-side="new"] li[data-step="price"]').first().textContent()).toContain(
      `${price.quantity} at ${price.rate} per ${price.per} = ${price.amount}`,
    );
    await capture(page, '42-simulated-receipt');

    // An event the draft cannot rate: the stored receipt, and the draft's reason in place of its figure.
    const b2 = await receiptOf('b2');
    expect(b2.expected.new.error.code).toBe('no_rate_card');
    expect(await b2.shown.locator('[data-side="new"] .field-error').textContent()).toBe(b2.expected.new.error.message);
    expect(errors).toEqual([]);
  });
});
