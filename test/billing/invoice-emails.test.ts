// Invoice emails, as production sends them: the scheduler's period close finalizes the invoices, the outbox row is
// written in that transaction, and the mail job composes and sends each one (its PDF attached). A reseller's end
// user hears from the reseller (its legal name, its reply-to); a customer without an email, an invoice with
// nothing due and a tenant that turned emails off get none; a second run of the job sends nothing twice.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMAIL_DELIVERY_JOB } from '../../service/src/domains/mail/jobs.ts';
import type { Email } from '../../service/src/platform/mail.ts';
import { ensurePoppler, pdfText } from '../harness/poppler.ts';
import { signUpTenant, startService, type Harness } from '../service/harness.ts';
import { client, tokenBook, tokens } from './fixtures.ts';
import { startJobRunner, type Jobs } from './jobs-harness.ts';

describe('invoice emails', () => {
  let harness: Harness;
  let api: ReturnType<typeof client>;
  let jobs: Jobs;
  let tenantName: string;
  let secretKey: string;
  let directory: string;
  const sent: Email[] = [];

  const customer = async (id: string, bookId: string, extra: Record<string, unknown> = {}) => {
    await api.ok('POST', '/v1/customers', { external_id: id, currency: 'USD', ...extra });
    await api.ok('PUT', `/v1/customers/${id}/price_book`, {
      price_book: bookId,
      effective_from: '2026-01-01T00:00:00Z',
    });
  };

  /** Moves the clock past the period's end and its hour of grace, lets the scheduler close and finalize it, then runs the mail job as its cron does. */
  const closeAndMail = async (at: string) => {
    harness.clock.set(at);
    await jobs.tick();
    await jobs.runner.send(EMAIL_DELIVERY_JOB, {});
    await jobs.drain();
  };

  beforeAll(async () => {
    directory = await mkdtemp(path.join(os.tmpdir(), 'tariff-invoice-emails-'));
    harness = await startService({ now: '2026-03-01T00:00:00Z' });
    tenantName = `Mailing Tenant ${Date.now()}`;
    const tenant = await signUpTenant(harness, tenantName);
    api = client(harness, tenant);
    secretKey = tenant.secretKey;
    jobs = await startJobRunner(harness, { mailer: { send: async (email) => void sent.push(email) } });
    await api.ok('POST', '/v1/price_books', { book: tokenBook('tenant-book', '0.010') });
    await customer('one-cloud', 'tenant-book', { is_reseller: true, email: 'accounts@one.example' });
    await api.ok('PUT', '/v1/customers/one-cloud/brand', {
      legal_name: 'One Cloud GmbH',
      reply_to: 'billing@one.example',
      invoice_prefix: 'ONE',
    });
    await api.ok('POST', '/v1/price_books', { book: tokenBook('one-retail', '0.020'), owner_customer_id: 'one-cloud' });
    await customer('end-user', 'one-retail', { parent_id: 'one-cloud', email: 'user@end.example' });
    await customer('direct', 'tenant-book', { email: 'finance@direct.example' });
    await customer('no-email', 'tenant-book');
    await customer('idle', 'tenant-book', { email: 'idle@idle.example' });
  });
  afterAll(async () => {
    await jobs?.stop();
    await harness?.close();
  });

  it('mails each invoice with an amount due to its customer, from its seller, with the PDF, once', async () => {
    harness.clock.set('2026-03-10T00:00:00Z');
    await api.events(
      tokens('m-1', 'end-user', 1_000_000, '2026-03-05T00:00:00Z'),
      tokens('m-2', 'direct', 2_000_000, '2026-03-05T00:00:00Z'),
      tokens('m-3', 'no-email', 1_000_000, '2026-03-05T00:00:00Z'),
    );
    await closeAndMail('2026-04-01T01:00:05Z');
    const invoice = async (id: string) => {
      const found = await api.invoiceOf(id, '2026-03-01T00:00:00.000Z');
      expect(found?.status, id).toBe('finalized');
      return found;
    };
    const [endUser, direct, reseller] = [
      await invoice('end-user'),
      await invoice('direct'),
      await invoice('one-cloud'),
    ];
    expect(sent.map((e) => e.to).sort()).toEqual([
      'accounts@one.example',
      'finance@direct.example',
      'user@end.example',
    ]);
    const to = (address: string) => sent.find((e) => e.to === address)!;

    // The end user's invoice comes from its reseller, under the reseller's name and reply-to.
    const mail = to('user@end.example');
    expect(endUser.number).toMatch(/^ONE-/);
    expect(mail).toMatchObject({
      fromName: 'One Cloud GmbH',
      replyTo: 'billing@one.example',
      subject: `Invoice ${endUser.number} from One Cloud GmbH`,
    });
    expect(mail.body).toContain(`Total due: 20.00 USD`);
    expect(mail.body).toContain('Period of supply: 2026-03-01 to 2026-03-31');
    expect(mail.body).toContain('Reply to this email to reach One Cloud GmbH');
    const [attachment] = mail.attachments!;
    expect(attachment).toMatchObject({ filename: `${endUser.number}.pdf`, contentType: 'application/pdf' });
    // The attachment is the invoice's own document, byte for byte.
    const served = await fetch(`${harness.url}/v1/invoices/${endUser.id}/pdf`, {
      headers: { authorization: `Bearer ${secretKey}` },
    });
    expect(Buffer.from(await served.arrayBuffer()).equals(attachment.content)).toBe(true);
    const poppler = await ensurePoppler();
    if (!poppler) {
      const text = await pdfText(attachment.content, directory, 'end-user');
      expect(text).toContain(endUser.number);
      expect(text).toContain('One Cloud GmbH');
    }

    // The tenant's own invoices come from the tenant, with no reply-to.
    expect(to('finance@direct.example')).toMatchObject({
      fromName: tenantName,
      subject: `Invoice ${direct.number} from ${tenantName}`,
    });
    expect(to('finance@direct.example').replyTo).toBeUndefined();
    expect(to('finance@direct.example').body).toContain('Total due: 20.00 USD');
    expect(to('accounts@one.example').subject).toBe(`Invoice ${reseller.number} from ${tenantName}`);

    // Nothing for the customer without an email, nor for one with nothing due; nothing twice.
    await jobs.runner.send(EMAIL_DELIVERY_JOB, {});
    await jobs.drain();
    expect(sent).toHaveLength(3);
  });

  it('sends none once the tenant turns invoice emails off, and keeps its other settings', async () => {
    const refused = await api.call('PUT', '/v1/billing_settings', { invoice_emails: 'yes' });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain('invoice_emails');
    expect(await api.ok('GET', '/v1/billing_settings')).toEqual({ credit_expiry_notice_days: 7, invoice_emails: true });
    expect(await api.ok('PUT', '/v1/billing_settings', { invoice_emails: false })).toEqual({
      credit_expiry_notice_days: 7,
      invoice_emails: false,
    });
    harness.clock.set('2026-04-10T00:00:00Z');
    const [event] = await api.events(tokens('m-4', 'direct', 1_000_000, '2026-04-05T00:00:00Z'));
    expect(event.status).toBe('accepted');
    await closeAndMail('2026-05-01T01:00:05Z');
    expect((await api.invoiceOf('direct', '2026-04-01T00:00:00.000Z'))?.status).toBe('finalized');
    expect(sent).toHaveLength(3);
  });
});
