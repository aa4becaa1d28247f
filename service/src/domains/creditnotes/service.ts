// Credit notes reverse all or part of a finalized invoice: by line, by amount, or whatever is left. Each is
// numbered per tenant in its own gapless sequence (CN-000001), never changes, and posts the reversal to the
// ledger in the issuing transaction: debit revenue by stream, credit the customer's receivable (for a paid
// invoice the receivable goes below zero: money owed back to the customer). Re-rating issues them too.
import crypto from 'node:crypto';
import type { ApiSchemas } from '../../platform/api.ts';
import type { Actor } from '../../platform/auth.ts';
import { requirePermission } from '../../platform/auth.ts';
import { withTenant, type TenantScope } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { conflict, invalid, notFound, precondition, type FieldProblem } from '../../platform/errors.ts';
import { allocateProRata, formatMoney, toNano } from '../../platform/money.ts';
import { recordChange } from '../audit/service.ts';
import { customerIdFilter } from '../customers/service.ts';
import { creditNotePrefix, takeResellerCreditNoteNumber } from '../brands/service.ts';
import { documentNumber, roundLines, type LineKind } from '../invoices/build.ts';
import * as invoicesRepo from '../invoices/repo.ts';
import { revenueByKind } from '../invoices/service.ts';
import { accounts, postTransactions } from '../ledger/service.ts';
import { mirrorCreditTax } from '../tax/compute.ts';
import * as repo from './repo.ts';
import * as notify from '../notifications/service.ts';
import type { CreateCreditNoteInput, ListCreditNotesInput } from '@tariff/openapi/schemas/creditnotes';

/** One line of a credit note before rounding: what it credits (positive lowers what the customer owes). */
export interface CreditDraft {
  invoiceLine: number | null;
  kind: LineKind;
  description: string;
  amountExact: bigint;
  details: Record<string, unknown> | null;
}

const creditable = new Set<invoicesRepo.InvoiceStatus>(['finalized', 'paid']);

export async function createCreditNote(
  deps: Deps,
  actor: Actor,
  invoiceId: string,
  input: CreateCreditNoteInput,
): Promise<ApiSchemas['CreditNote']> {
  requirePermission(actor, 'invoices.write');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    // The invoice row lock serialises credit notes of one invoice: "what is left" cannot be credited twice.
    const invoice = await invoicesRepo.findInvoice(scope, invoiceId, { lock: true });
    if (!invoice) throw notFound('invoice_not_found', `No invoice "${invoiceId}"`);
    if (!creditable.has(invoice.status)) {
      throw conflict(
        'invoice_not_creditable',
        `Only a finalized or paid invoice can be credited; this one is ${invoice.status}`,
      );
    }
    const lines = (await invoicesRepo.listLines(scope, [invoice.id])).get(invoice.id) ?? [];
    const credited = await repo.findCredited(scope, invoice.id);
    // Amounts are on the lines' basis (before tax is added); the credit note's tax is mirrored from the invoice's.
    const left = toNano(invoice.linesTotal) - toNano(credited.total);
    if (left <= 0n) throw conflict('invoice_fully_credited', `Invoice ${invoice.number} has nothing left to credit`);
    const unit = 10n ** BigInt(9 - invoice.minorUnit);
    const leftOf = (l: invoicesRepo.StoredLine) => toNano(l.amount) - toNano(credited.byLine.get(l.line) ?? '0');
    const drafts = input.lines
      ? creditByLine(input.lines, lines, leftOf, left, unit, invoice.currency)
      : creditByAmount(input.amount, lines, leftOf, left, unit, invoice.currency);
    const note = await issueCreditNoteLocked(
      scope,
      invoice,
      {
        reason: input.reason,
        origin: 'manual',
        reratingId: null,
        createdBy: `${actor.type}:${actor.id}`,
        lines: drafts,
      },
      now,
    );
    const result = await readCreditNote(scope, note);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'credit_note.issued',
      entityType: 'credit_note',
      entityId: note,
      after: result,
    });
    return result;
  });
}

function checkMinorUnits(amount: bigint, unit: bigint, currency: string, field: string): FieldProblem | undefined {
  return amount % unit === 0n
    ? undefined
    : { field, reason: `must be a whole number of ${currency} minor units (${formatMoney(unit)})` };
}

function creditByLine(
  requested: NonNullable<CreateCreditNoteInput['lines']>,
  lines: invoicesRepo.StoredLine[],
  leftOf: (l: invoicesRepo.StoredLine) => bigint,
  left: bigint,
  unit: bigint,
  currency: string,
): CreditDraft[] {
  const problems: FieldProblem[] = [];
  const over: FieldProblem[] = [];
  const seen = new Set<number>();
  const drafts: CreditDraft[] = [];
  requested.forEach((r, i) => {
    const line = lines.find((l) => l.line === r.line);
    if (!line) return problems.push({ field: `lines.${i}.line`, reason: `the invoice has no line ${r.line}` });
    if (seen.has(r.line)) return problems.push({ field: `lines.${i}.line`, reason: `line ${r.line} is listed twice` });
    seen.add(r.line);
    if (toNano(line.amount) <= 0n)
      return problems.push({
        field: `lines.${i}.line`,
        reason: `line ${r.line} (${line.kind}) does not charge anything to credit`,
      });
    const amount = r.amount === undefined ? leftOf(line) : toNano(r.amount);
    const fraction = checkMinorUnits(amount, unit, currency, `lines.${i}.amount`);
    if (fraction) return problems.push(fraction);
    if (amount <= 0n)
      return over.push({ field: `lines.${i}.line`, reason: `line ${r.line} is already credited in full` });
    if (amount > leftOf(line))
      return over.push({
        field: `lines.${i}.amount`,
        reason: `is more than what is left of line ${r.line} (${formatMoney(leftOf(line))})`,
      });
    drafts.push({
      invoiceLine: line.line,
      kind: line.kind,
      description: `Credit: ${line.description}`,
      amountExact: amount,
      details: null,
    });
  });
  if (problems.length > 0) throw invalid('invalid_credit_note', 'The credit note does not fit the invoice', problems);
  const total = drafts.reduce((sum, d) => sum + d.amountExact, 0n);
  if (total > left)
    over.push({
      field: 'lines',
      reason: `credit ${formatMoney(total)} in total, more than what is left of the invoice (${formatMoney(left)})`,
    });
  if (over.length > 0)
    throw precondition('credit_exceeds_invoice', 'A credit note cannot credit more than is left of the invoice', over);
  return drafts;
}

function creditByAmount(
  requested: string | undefined,
  lines: invoicesRepo.StoredLine[],
  leftOf: (l: invoicesRepo.StoredLine) => bigint,
  left: bigint,
  unit: bigint,
  currency: string,
): CreditDraft[] {
  const amount = requested === undefined ? left : toNano(requested);
  const fraction = checkMinorUnits(amount, unit, currency, 'amount');
  if (fraction) throw invalid('invalid_credit_note', 'The credit note does not fit the invoice', [fraction]);
  if (amount > left) {
    throw precondition('credit_exceeds_invoice', 'A credit note cannot credit more than is left of the invoice', [
      { field: 'amount', reason: `is more than what is left of the invoice (${formatMoney(left)})` },
    ]);
  }
  const shares = allocateProRata(amount, lines.map(leftOf), unit);
  return lines.flatMap((line, i) =>
    shares[i] === 0n
      ? []
      : [
          {
            invoiceLine: line.line,
            kind: line.kind,
            description: `Credit: ${line.description}`,
            amountExact: shares[i],
            details: null,
          },
        ],
  );
}

/**
 * Issues a credit note against a locked, finalized or paid invoice: rounds its lines once to the minor unit
 * (the invoices' largest-remainder rule; manual lines are already whole units), takes the next number and posts
 * the reversal. The total must be positive and at most what earlier notes left of the invoice.
 */
export async function issueCreditNoteLocked(
  scope: TenantScope,
  invoice: invoicesRepo.Invoice,
  draft: {
    reason: string;
    origin: 'manual' | 'rerating';
    reratingId: string | null;
    createdBy: string;
    lines: CreditDraft[];
  },
  now: Date,
): Promise<string> {
  const rounded = roundLines(
    draft.lines.map((l) => l.amountExact),
    invoice.minorUnit,
  );
  if (rounded.total <= 0n)
    throw precondition('credit_not_positive', `A credit note must credit more than 0 ${invoice.currency}`);
  const credited = await repo.findCredited(scope, invoice.id);
  const left = toNano(invoice.linesTotal) - toNano(credited.total);
  if (rounded.total > left) {
    throw precondition(
      'credit_exceeds_invoice',
      `Crediting ${formatMoney(rounded.total)} is more than what is left of invoice ${invoice.number} (${formatMoney(left)})`,
    );
  }
  const taxRecord = invoice.tax;
  const mirrored = taxRecord
    ? mirrorCreditTax(
        {
          linesTotal: toNano(invoice.linesTotal),
          components: taxRecord.components.map((c) => ({ ...c, amount: toNano(c.amount) })),
        },
        {
          lines: rounded.total,
          alreadyCreditedLines: toNano(credited.total),
          alreadyCreditedTax: new Map([...credited.tax].map(([k, v]) => [k, toNano(v)])),
        },
        invoice.minorUnit,
        taxRecord.prices_include_tax,
      )
    : undefined;
  const total = mirrored?.total ?? rounded.total;
  const taxAmount = mirrored?.tax ?? 0n;
  // Issued by the invoice's issuer: the tenant, or the reseller that issued the invoice (its own sequence).
  const issuer = invoice.issuerId === null ? null : invoice.issuer!;
  const sequence = issuer
    ? await takeResellerCreditNoteNumber(scope, invoice.issuerId!)
    : await repo.takeCreditNoteNumber(scope);
  const id = crypto.randomUUID();
  const number = documentNumber(issuer ? creditNotePrefix(issuer.invoice_prefix) : 'CN', sequence);
  await repo.insertCreditNote(
    scope,
    {
      id,
      invoiceId: invoice.id,
      customerId: invoice.customerId,
      currency: invoice.currency,
      minorUnit: invoice.minorUnit,
      sequence,
      number,
      issuerId: invoice.issuerId,
      reason: draft.reason,
      origin: draft.origin,
      reratingId: draft.reratingId,
      total: formatMoney(total),
      totalExact: formatMoney(
        draft.lines.reduce((sum, l) => sum + l.amountExact, 0n) + (taxRecord?.prices_include_tax ? 0n : taxAmount),
      ),
      linesTotal: formatMoney(rounded.total),
      taxAmount: formatMoney(taxAmount),
      tax:
        taxRecord && mirrored
          ? {
              components: mirrored.components.map((c) => ({
                tax: c.tax,
                jurisdiction: c.jurisdiction,
                rate: c.rate,
                amount: formatMoney(c.amount),
              })),
              mention: taxRecord.mention,
              prices_include_tax: taxRecord.prices_include_tax,
              rule: taxRecord.rule,
              jurisdiction: taxRecord.jurisdiction,
              currency: invoice.currency,
            }
          : null,
      createdAt: now,
      createdBy: draft.createdBy,
    },
    draft.lines.map((l, i) => ({
      line: i,
      invoiceLine: l.invoiceLine,
      kind: l.kind,
      description: l.description,
      amountExact: formatMoney(l.amountExact),
      amount: formatMoney(rounded.amounts[i]),
      details: l.details,
    })),
  );
  const byStream = new Map<string, bigint>();
  draft.lines.forEach((l, i) =>
    byStream.set(revenueByKind[l.kind], (byStream.get(revenueByKind[l.kind]) ?? 0n) + rounded.amounts[i]),
  );
  if (taxRecord?.prices_include_tax && taxAmount !== 0n) {
    // The lines include their tax: revenue is reversed net of it, the tax spread over the streams by their share.
    const streams = [...byStream.keys()];
    const shares = allocateProRata(
      taxAmount,
      streams.map((k) => byStream.get(k)!),
      10n ** BigInt(9 - invoice.minorUnit),
    );
    streams.forEach((k, i) => byStream.set(k, byStream.get(k)! - shares[i]));
  }
  const taxLines = (mirrored?.components ?? [])
    .filter((c) => c.amount !== 0n)
    .map((c) => ({ account: accounts.taxPayable(c.tax, c.jurisdiction, invoice.currency), amount: c.amount }));
  await postTransactions(
    scope,
    [
      {
        kind: 'credit_note_issued',
        customerId: invoice.customerId,
        currency: invoice.currency,
        reference: id,
        description: `credit note ${number} against invoice ${invoice.number}`,
        occurredAt: now,
        lines: [
          ...[...byStream].map(([stream, amount]) => ({
            account: accounts.revenue(stream as 'usage', invoice.currency),
            amount,
          })),
          ...taxLines,
          { account: accounts.receivable(invoice.customerId, invoice.currency), amount: -total },
        ],
      },
    ],
    now,
  );
  await notify.recordOnce(scope, {
    id: crypto.randomUUID(),
    type: 'credit_note.issued',
    customerId: invoice.customerId,
    subjectId: id,
    payload: {
      credit_note_id: id,
      number,
      invoice_id: invoice.id,
      invoice_number: invoice.number,
      customer_id: invoice.customerExternalId,
      currency: invoice.currency,
      total: formatMoney(total),
      tax: formatMoney(taxAmount),
      reason: draft.reason,
      origin: draft.origin,
    },
    createdAt: now,
  });
  return id;
}

export async function getCreditNote(deps: Deps, actor: Actor, id: string): Promise<ApiSchemas['CreditNote']> {
  requirePermission(actor, 'billing.read');
  return withTenant(deps.db, actor.tenantId, (tx) => readCreditNote({ db: tx, tenantId: actor.tenantId }, id));
}

export async function listCreditNotes(
  deps: Deps,
  actor: Actor,
  input: ListCreditNotesInput,
): Promise<ApiSchemas['CreditNoteList']> {
  requirePermission(actor, 'billing.read');
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customerId = await customerIdFilter(scope, input.customer_id);
    const notes = await repo.listCreditNotes(scope, {
      customerId,
      invoiceId: input.invoice_id,
      limit: input.limit,
      startingAfter: input.starting_after,
    });
    const lines = await repo.listCreditNoteLines(
      scope,
      notes.map((n) => n.id),
    );
    return {
      data: notes.map((n) => toApiCreditNote(n, lines.get(n.id) ?? [])),
      has_more: notes.length === input.limit,
    };
  });
}

async function readCreditNote(scope: TenantScope, id: string): Promise<ApiSchemas['CreditNote']> {
  const note = await repo.findCreditNote(scope, id);
  if (!note) throw notFound('credit_note_not_found', `No credit note "${id}"`);
  const lines = await repo.listCreditNoteLines(scope, [id]);
  return toApiCreditNote(note, lines.get(id) ?? []);
}

export function toApiCreditNote(note: repo.CreditNote, lines: repo.CreditNoteLine[]): ApiSchemas['CreditNote'] {
  return {
    id: note.id,
    number: note.number,
    invoice_id: note.invoiceId,
    invoice_number: note.invoiceNumber ?? '',
    customer_id: note.customerExternalId,
    currency: note.currency,
    minor_unit: note.minorUnit,
    reason: note.reason,
    origin: note.origin,
    rerating_id: note.reratingId,
    lines: lines.map((l) => ({
      line: l.line,
      invoice_line: l.invoiceLine,
      kind: l.kind as ApiSchemas['CreditNote']['lines'][number]['kind'],
      description: l.description,
      amount: formatMoney(toNano(l.amount)),
      amount_exact: formatMoney(toNano(l.amountExact)),
      details: l.details,
    })),
    subtotal: formatMoney(toNano(note.total) - toNano(note.taxAmount)),
    tax_amount: formatMoney(toNano(note.taxAmount)),
    tax:
      note.tax === null
        ? null
        : {
            components: note.tax.components.map((c) => ({ ...c, amount: formatMoney(toNano(c.amount)) })),
            mention: note.tax.mention,
          },
    total: formatMoney(toNano(note.total)),
    total_exact: formatMoney(toNano(note.totalExact)),
    created_at: note.createdAt.toISOString(),
    created_by: note.createdBy,
  };
}
