// Drives the built dashboard in Debian's Chromium against the service on a fresh database: screenshots of each
// page (test/web/screenshots/, git-ignored), an axe-core check per page, and mailed links captured in memory.
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { defaultWebRoot } from '../../service/src/platform/web.ts';
import type { Email, Mailer } from '../../service/src/platform/mail.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../harness/browser.ts';
import { eventually } from '../wait.ts';

export const screenshotFolder = new URL('./screenshots/', import.meta.url);

export function capturingMailer(): Mailer & { sent: Email[] } {
  const sent: Email[] = [];
  return { sent, send: async (email) => void sent.push(email) };
}

/** The link in the latest mail to `to` whose subject matches. */
export async function mailedLink(mailer: { sent: Email[] }, to: string, subject: RegExp): Promise<string> {
  const mail = await eventually(`a mail to ${to} matching ${subject}`, () =>
    mailer.sent.filter((m) => m.to === to && subject.test(m.subject)).at(-1),
  );
  return /https?:\/\/\S+/.exec(mail.body)![0];
}

export function requireBuiltDashboard(): void {
  if (!existsSync(`${defaultWebRoot}/index.html`))
    throw new Error(`${defaultWebRoot} is missing: run "npm run build" first`);
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, timeout: 120_000 });
}

/** A fresh browser profile (its own cookies), failing the test on any uncaught page error. */
export async function openPage(
  browser: Browser,
  baseURL: string,
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ baseURL, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  return { context, page, errors };
}

let axeSource: string | undefined;

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** Runs axe-core on the page as it is; fails on any serious or critical violation. */
export async function checkAccessibility(page: Page, name: string): Promise<void> {
  axeSource ??= await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  // Evaluated through the DevTools protocol, which the page's Content-Security-Policy does not govern.
  const present = await page.evaluate('typeof window.axe');
  if (present === 'undefined') await page.evaluate(axeSource);
  const violations = (await page.evaluate(
    `window.axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations)`,
  )) as AxeViolation[];
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(
    serious.map(
      (v) => `${name}: ${v.id} (${v.impact}) ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
    ),
  ).toEqual([]);
}

/** A screenshot of the whole page, then the accessibility check. */
export async function capture(page: Page, name: string): Promise<void> {
  await mkdir(screenshotFolder, { recursive: true });
  await page.screenshot({ path: new URL(`${name}.png`, screenshotFolder).pathname, fullPage: true });
  await checkAccessibility(page, name);
}

/** After a failed test (vitest's afterEach context): what the page showed, as `failed-<test>.png` beside the screenshots. */
export async function screenshotIfFailed(
  context: { task: { name: string; result?: { state: string } } },
  page: Page | undefined,
): Promise<void> {
  if (context.task.result?.state !== 'fail' || !page) return;
  await page.screenshot({
    path: new URL(`failed-${context.task.name.slice(0, 40).replace(/\W+/g, '-')}.png`, screenshotFolder).pathname,
    fullPage: true,
  });
}

/** Logs in through the login page; the dashboard opens on the customers. */
export async function logIn(page: Page, slug: string, email: string, secret: string): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Tenant').fill(slug);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(secret);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(/\/dashboard\/customers$/);
}

/** The API's decimal strings the page shows under `selector` (each Money's data-amount). */
export const amountsIn = (page: Page, selector: string) =>
  page.locator(selector).evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-amount')));

/** A one-card LLM book the browser tests price with. */
export const starterBook = {
  id: 'starter-llm',
  currency: 'USD',
  versions: [
    {
      effective_from: '2020-01-01T00:00:00Z',
      rate_cards: [
        {
          id: 'openai/gpt-4o',
          match: { provider: 'openai', model: 'gpt-4o' },
          charges: [
            { dimension: 'input_tokens', price: { model: 'per_unit', rate: '2.5' } },
            { dimension: 'output_tokens', price: { model: 'per_unit', rate: '10' } },
          ],
        },
      ],
    },
  ],
};

export const llmEvent = (id: string, customer: string, timestamp: string, input: number, output: number) => ({
  transaction_id: id,
  customer_id: customer,
  event_type: 'llm.completion',
  timestamp,
  properties: { provider: 'openai', model: 'gpt-4o', input_tokens: input, output_tokens: output },
});
