import type { Db, TenantScope } from '../../platform/db.ts';

export interface OutboxEmail {
  id: string;
  to: string;
  /** Null for an invoice's email: composed from the invoice when it is delivered. */
  subject: string | null;
  body: string | null;
  invoiceId: string | null;
  createdAt: Date;
  attempts: number;
  sentAt: Date | null;
}

export async function insertEmail(
  { db, tenantId }: TenantScope,
  email: { id: string; to: string; subject: string; body: string; createdAt: Date },
): Promise<void> {
  await db`
    insert into email_outbox (tenant_id, id, to_address, subject, body, created_at)
    values (${tenantId}, ${email.id}, ${email.to}, ${email.subject}, ${email.body}, ${email.createdAt})`;
}

/** The email if it is still to be sent, locked against a concurrent delivery (skipped if another has it). */
export async function lockPendingEmail({ db, tenantId }: TenantScope, id: string): Promise<OutboxEmail | undefined> {
  const [row] = await db`
    select * from email_outbox where tenant_id = ${tenantId} and id = ${id} and sent_at is null
    for update skip locked`;
  return row ? fromDbEmail(row) : undefined;
}

/** Sent: the body (which may hold a token) is not kept. */
export async function markEmailSent({ db, tenantId }: TenantScope, id: string, at: Date): Promise<void> {
  await db`
    update email_outbox set sent_at = ${at}, attempts = attempts + 1, last_error = null, body = '(delivered; body not kept)'
    where tenant_id = ${tenantId} and id = ${id}`;
}

export async function markEmailFailed({ db, tenantId }: TenantScope, id: string, error: string): Promise<void> {
  await db`update email_outbox set attempts = attempts + 1, last_error = ${error.slice(0, 1000)} where tenant_id = ${tenantId} and id = ${id}`;
}

/** Across tenants, through the SECURITY DEFINER function of migration 025. */
export async function listPendingEmails(db: Db, limit: number): Promise<{ tenantId: string; id: string }[]> {
  const rows = await db`select * from pending_emails(${limit})`;
  return rows.map((r) => ({ tenantId: r.tenant_id, id: r.id }));
}

function fromDbEmail(row: Record<string, any>): OutboxEmail {
  return {
    id: row.id,
    to: row.to_address,
    subject: row.subject,
    body: row.body,
    invoiceId: row.invoice_id,
    createdAt: row.created_at,
    attempts: row.attempts,
    sentAt: row.sent_at,
  };
}
