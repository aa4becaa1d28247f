// Credit notes' SQL: the notes and their lines, what earlier notes credited on an invoice, the per-tenant number.
import type { TenantScope } from '../../platform/db.ts';

export interface CreditNote {
  id: string;
  invoiceId: string;
  invoiceNumber: string | null;
  customerId: string;
  customerExternalId: string;
  currency: string;
  minorUnit: number;
  /** Per issuer, as the invoice's: the tenant's credit note sequence, or the issuing reseller's. */
  sequence: bigint;
  number: string;
  /** The reseller that issued it (its invoice's issuer); null: the tenant. */
  issuerId: string | null;
  reason: string;
  origin: 'manual' | 'rerating';
  reratingId: string | null;
  total: string;
  totalExact: string;
  /** The credited lines summed (the lines' basis: gross when the invoice's prices include tax). */
  linesTotal: string;
  taxAmount: string;
  tax: CreditNoteTax | null;
  createdAt: Date;
  createdBy: string;
}

/** The tax a credit note returns, mirrored from its invoice's (creditnotes/service.ts). */
export interface CreditNoteTax {
  components: { tax: string; jurisdiction: string; rate: string; amount: string }[];
  mention: string | null;
  prices_include_tax: boolean;
  rule: string;
  jurisdiction: string | null;
  currency: string;
}

export interface CreditNoteLine {
  line: number;
  invoiceLine: number | null;
  kind: string;
  description: string;
  amountExact: string;
  amount: string;
  details: Record<string, unknown> | null;
}

/** The tenant's next credit-note number, in the caller's transaction (row lock: no gaps, a rollback returns it). */
export async function takeCreditNoteNumber({ db, tenantId }: TenantScope): Promise<bigint> {
  const [row] = await db`
    insert into credit_note_sequences (tenant_id, last_number) values (${tenantId}, 1)
    on conflict (tenant_id) do update set last_number = credit_note_sequences.last_number + 1
    returning last_number`;
  return row.last_number;
}

export async function insertCreditNote(
  { db, tenantId }: TenantScope,
  note: Omit<CreditNote, 'invoiceNumber' | 'customerExternalId'>,
  lines: CreditNoteLine[],
): Promise<void> {
  await db`
    insert into credit_notes (tenant_id, id, invoice_id, customer_id, currency, minor_unit, sequence, number, issuer_id, reason, origin, rerating_id,
                              total, total_exact, created_at, created_by, lines_total, tax_amount, tax)
    values (${tenantId}, ${note.id}, ${note.invoiceId}, ${note.customerId}, ${note.currency}, ${note.minorUnit}, ${String(note.sequence)}, ${note.number}, ${note.issuerId},
            ${note.reason}, ${note.origin}, ${note.reratingId}, ${note.total}, ${note.totalExact}, ${note.createdAt}, ${note.createdBy},
            ${note.linesTotal}, ${note.taxAmount}, ${note.tax === null ? null : db.json(note.tax as never)})`;
  if (lines.length === 0) return;
  const rows = lines.map((l) => ({
    line: l.line,
    invoice_line: l.invoiceLine,
    kind: l.kind,
    description: l.description,
    amount_exact: l.amountExact,
    amount: l.amount,
    details: l.details,
  }));
  await db`
    insert into credit_note_lines (tenant_id, credit_note_id, line, invoice_line, kind, description, amount_exact, amount, details)
    select ${tenantId}, ${note.id}, l.line, l.invoice_line, l.kind, l.description, l.amount_exact, l.amount, l.details
    from json_to_recordset(${JSON.stringify(rows)}::text::json)
      as l(line int, invoice_line int, kind text, description text, amount_exact numeric, amount numeric, details jsonb)`;
}

/**
 * What the invoice's credit notes credited so far: of its lines in total (the lines' basis, before tax is added),
 * per invoice line, and of its tax per component ("tax|jurisdiction").
 */
export async function findCredited(
  { db, tenantId }: TenantScope,
  invoiceId: string,
): Promise<{ total: string; byLine: Map<number, string>; tax: Map<string, string> }> {
  const [[total], lines, taxes] = await Promise.all([
    db`select coalesce(sum(coalesce(lines_total, total)), 0)::text as total from credit_notes where tenant_id = ${tenantId} and invoice_id = ${invoiceId}`,
    db`
      select l.invoice_line, sum(l.amount)::text as amount from credit_note_lines l
      join credit_notes n on n.tenant_id = l.tenant_id and n.id = l.credit_note_id
      where n.tenant_id = ${tenantId} and n.invoice_id = ${invoiceId} and l.invoice_line is not null
      group by l.invoice_line`,
    db`
      select c->>'tax' || '|' || (c->>'jurisdiction') as key, sum((c->>'amount')::numeric)::text as amount
      from credit_notes n cross join lateral jsonb_array_elements(n.tax->'components') c
      where n.tenant_id = ${tenantId} and n.invoice_id = ${invoiceId} and n.tax is not null
      group by 1`,
  ]);
  return {
    total: total.total,
    byLine: new Map(lines.map((r) => [r.invoice_line as number, r.amount as string])),
    tax: new Map(taxes.map((r) => [r.key as string, r.amount as string])),
  };
}

const selectNote = (db: TenantScope['db'], tenantId: string) => db`
  select n.*, c.external_id, i.number as invoice_number from credit_notes n
  join customers c on c.tenant_id = n.tenant_id and c.id = n.customer_id
  join invoices i on i.tenant_id = n.tenant_id and i.id = n.invoice_id
  where n.tenant_id = ${tenantId}`;

export async function findCreditNote({ db, tenantId }: TenantScope, id: string): Promise<CreditNote | undefined> {
  const [row] = await db`${selectNote(db, tenantId)} and n.id = ${id}`;
  return row ? fromDbCreditNote(row) : undefined;
}

export async function listCreditNotes(
  { db, tenantId }: TenantScope,
  filter: { customerId?: string; invoiceId?: string; limit: number; startingAfter?: string },
): Promise<CreditNote[]> {
  const rows = await db`
    ${selectNote(db, tenantId)}
    ${filter.customerId ? db`and n.customer_id = ${filter.customerId}` : db``}
    ${filter.invoiceId ? db`and n.invoice_id = ${filter.invoiceId}` : db``}
    ${filter.startingAfter ? db`and n.sequence < (select sequence from credit_notes where tenant_id = ${tenantId} and id = ${filter.startingAfter})` : db``}
    order by n.sequence desc limit ${filter.limit}`;
  return rows.map(fromDbCreditNote);
}

export async function listCreditNoteLines(
  { db, tenantId }: TenantScope,
  ids: string[],
): Promise<Map<string, CreditNoteLine[]>> {
  const byNote = new Map<string, CreditNoteLine[]>();
  if (ids.length === 0) return byNote;
  const rows = await db`
    select credit_note_id, line, invoice_line, kind, description, amount_exact::text, amount::text, details
    from credit_note_lines where tenant_id = ${tenantId} and credit_note_id = any(${ids}::uuid[]) order by credit_note_id, line`;
  for (const r of rows) {
    const lines = byNote.get(r.credit_note_id) ?? [];
    lines.push({
      line: r.line,
      invoiceLine: r.invoice_line,
      kind: r.kind,
      description: r.description,
      amountExact: r.amount_exact,
      amount: r.amount,
      details: r.details,
    });
    byNote.set(r.credit_note_id, lines);
  }
  return byNote;
}

function fromDbCreditNote(row: Record<string, any>): CreditNote {
  return {
    id: row.id,
    invoiceId: row.invoice_id,
    invoiceNumber: row.invoice_number,
    customerId: row.customer_id,
    customerExternalId: row.external_id,
    currency: row.currency,
    minorUnit: row.minor_unit,
    sequence: BigInt(row.sequence),
    number: row.number,
    issuerId: row.issuer_id ?? null,
    reason: row.reason,
    origin: row.origin,
    reratingId: row.rerating_id,
    total: row.total,
    totalExact: row.total_exact,
    linesTotal: row.lines_total ?? row.total,
    taxAmount: row.tax_amount,
    tax: row.tax,
    createdAt: row.created_at,
    createdBy: row.created_by,
  };
}
