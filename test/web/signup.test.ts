// The browser's first minutes (issue 14): signup with the email verification step, the first API key, a test
// event with its rated acknowledgement and receipt, logout, login, password reset. Figures on the page are
// compared with the REST answers for the same event.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rest, startService, type Harness } from '../service/harness.ts';
import { capture, capturingMailer, launchBrowser, mailedLink, openPage, requireBuiltDashboard } from './pages.ts';

const password = 'correct horse battery staple';

describe('signup to first rated event in the browser', () => {
  let harness: Harness;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  const mailer = capturingMailer();

  beforeAll(async () => {
    requireBuiltDashboard();
    // The page stamps its test event with the browser's clock; the service's clock reads the same instant.
    harness = await startService({ now: new Date().toISOString(), app: { mailer } });
    browser = await launchBrowser();
    ({ page, errors } = await openPage(browser, harness.url));
  });
  afterAll(async () => {
    await browser?.close();
    await harness?.close();
  });

  let slug = '';
  let apiKey = '';
  const email = 'founder@gpu-cloud.example';

  it('signs up, then confirms the email by the mailed link', async () => {
    await page.goto('/signup');
    await capture(page, '01-signup');
    // The server's own validation shows at its field: a password under 12 characters.
    await page.getByLabel('Company (tenant) name').fill('GPU Cloud');
    await page.getByLabel('Work email').fill(email);
    await page.getByLabel('Password').fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect.poll(() => page.locator('[data-field="password"]').textContent()).toContain('at least 12');

    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Check your email' }).waitFor();
    slug = (await page.getByTestId('tenant-slug').textContent())!;
    expect(slug).toBe('gpu-cloud');
    await capture(page, '02-check-email');

    const link = await mailedLink(mailer, email, /Confirm your email/);
    await page.goto(new URL(link).pathname + new URL(link).search);
    await expect.poll(() => page.getByTestId('verified-email').textContent()).toBe(email);
    await capture(page, '03-email-verified');
  });

  it('creates the first API key, which the REST API accepts', async () => {
    await page.goto('/dashboard/start');
    await page.getByRole('button', { name: 'Create an API key' }).click();
    apiKey = (await page.getByTestId('api-key').textContent())!;
    expect(apiKey).toMatch(/^sk_/);
    expect(await page.getByTestId('curl-snippet').textContent()).toContain(`Bearer ${apiKey}`);
    const listed = await rest(harness, 'GET', '/v1/customers', { key: apiKey });
    expect(listed.status).toBe(200);
    await capture(page, '04-first-key');
  });

  it('sends a test event and shows the rated acknowledgement and its receipt as the API gives them', async () => {
    await page.getByRole('button', { name: 'Send a test event' }).click();
    await expect.poll(() => page.getByTestId('ack-status').textContent()).toBe('accepted');
    const receiptSection = page.getByRole('region', { name: /^Receipt of / });
    await receiptSection.waitFor();
    const transactionId = (await receiptSection.getAttribute('aria-label'))!.replace('Receipt of ', '');
    const receipt = await rest(harness, 'GET', `/v1/events/${encodeURIComponent(transactionId)}/receipt`, {
      key: apiKey,
    });
    expect(receipt.status).toBe(200);
    // 1,200 input tokens at 2.5 and 300 output tokens at 10 per million.
    expect(receipt.body.amount).toBe('0.006000000');
    expect(await page.getByTestId('ack-amount').locator('[data-amount]').getAttribute('data-amount')).toBe(
      receipt.body.amount,
    );
    expect(await page.getByTestId('receipt-amount').locator('[data-amount]').getAttribute('data-amount')).toBe(
      receipt.body.amount,
    );
    const steps = await receiptSection
      .locator('li[data-step]')
      .evaluateAll((items) => items.map((item) => item.getAttribute('data-step')));
    expect(steps).toEqual(receipt.body.receipt.map((step: { step: string }) => step.step));
    expect(steps).toContain('price');
    await capture(page, '05-test-event-receipt');
  });

  it('logs out, and logs back in by tenant, email and password', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    // With no session, the dashboard sends the browser to the login page.
    await page.goto('/dashboard/customers');
    await page.waitForURL(/\/login\?next=/);
    await capture(page, '06-login');
    await page.getByLabel('Tenant').fill(slug);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Wrong tenant, email or password');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/dashboard\/customers$/);
    expect(await page.getByTestId('tenant-name').textContent()).toContain('GPU Cloud');
  });

  it('resets the password by the mailed link, which ends the old session', async () => {
    await page.goto('/reset-password');
    await page.getByLabel('Tenant').fill(slug);
    await page.getByLabel('Email').fill(email);
    await page.getByRole('button', { name: 'Send the link' }).click();
    await page.getByText('If that account exists').waitFor();
    await capture(page, '07-reset-request');
    const link = await mailedLink(mailer, email, /Reset your Tariff password/);
    await page.goto(new URL(link).pathname + new URL(link).search);
    await page.getByLabel('New password').fill('a brand new long password');
    await page.getByRole('button', { name: 'Set the password' }).click();
    await page.getByText('Your password is changed').waitFor();
    await capture(page, '08-reset-done');
    // The session the browser held before the reset is gone.
    await page.goto('/dashboard/customers');
    await page.waitForURL(/\/login/);
    await page.getByLabel('Tenant').fill(slug);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('a brand new long password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/dashboard\/customers$/);
    expect(errors).toEqual([]);
  });
});
