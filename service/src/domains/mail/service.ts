// The email outbox: mail is written in the transaction that decides to send it, delivered after commit, and
// retried by the delivery job until it goes out.
import crypto from 'node:crypto';
import type { Clock } from '../../platform/clock.ts';
import { withTenant, type TenantScope, type Tx } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { createMailer, type Email } from '../../platform/mail.ts';
import * as repo from './repo.ts';

/** Queues an email in the caller's transaction; returns its id, for `deliverEmail` once committed. */
export async function enqueueEmail(tx: Tx, clock: Clock, tenantId: string, email: Email): Promise<string> {
  const id = crypto.randomUUID();
  await repo.insertEmail({ db: tx, tenantId }, { id, ...email, createdAt: clock.now() });
  return id;
}

/** What an invoice's email says and carries, composed from the invoice at delivery (its PDF included). */
export type InvoiceEmailComposer = (scope: TenantScope, invoiceId: string) => Promise<Omit<Email, 'to'>>;

let invoiceComposer: InvoiceEmailComposer | undefined;

/** The documents domain composes invoice emails; the composition root (app.ts) wires it here. */
export function composeInvoiceEmailsWith(composer: InvoiceEmailComposer): void {
  invoiceComposer = composer;
}

async function contentOf(scope: TenantScope, email: repo.OutboxEmail): Promise<Omit<Email, 'to'>> {
  if (!email.invoiceId) return { subject: email.subject!, body: email.body! };
  if (!invoiceComposer) throw new Error('No invoice email composer: the composition root (app.ts) wires it');
  return invoiceComposer(scope, email.invoiceId);
}

/** Sends one queued email if nobody has; a failure is recorded for the job to retry, never thrown. */
export async function deliverEmail(deps: Deps, tenantId: string, id: string): Promise<boolean> {
  const mailer = deps.mailer ?? createMailer({ from: 'Tariff <no-reply@tariff.local>', logger: deps.logger });
  try {
    return await withTenant(deps.db, tenantId, async (tx) => {
      const scope = { db: tx, tenantId };
      const email = await repo.lockPendingEmail(scope, id);
      if (!email) return false;
      try {
        await mailer.send({ to: email.to, ...(await contentOf(scope, email)) });
      } catch (error) {
        await repo.markEmailFailed(scope, id, (error as Error).message ?? String(error));
        deps.logger.warn('email delivery failed', { tenant_id: tenantId, email_id: id, error });
        return false;
      }
      await repo.markEmailSent(scope, id, deps.clock.now());
      return true;
    });
  } catch (error) {
    deps.logger.warn('email delivery failed', { tenant_id: tenantId, email_id: id, error });
    return false;
  }
}

/** Delivers what is still pending (the job's work); returns how many went out. */
export async function deliverPendingEmails(deps: Deps, limit = 100): Promise<number> {
  let sent = 0;
  for (const { tenantId, id } of await repo.listPendingEmails(deps.db, limit))
    if (await deliverEmail(deps, tenantId, id)) sent++;
  return sent;
}
