// Customers of a tenant: hierarchy (parents, resellers), metadata, and which price book rates them when.
import type { ApiSchemas } from '../../platform/api.ts';
import crypto from 'node:crypto';
import type { Actor } from '../../platform/auth.ts';
import { requirePermission } from '../../platform/auth.ts';
import { withTenant, type TenantScope } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError, conflict, forbidden, invalid, notFound, precondition } from '../../platform/errors.ts';
import { recordChange } from '../audit/service.ts';
import { defaultChildCurrency } from '../brands/service.ts';
import * as pricingRepo from '../pricing/repo.ts';
import { requireBookForCustomer } from '../pricing/service.ts';
import { viesVerifier } from '../tax/connections.ts';
import { euMemberStates } from '../tax/rates/eu.ts';
import { checkTaxId } from '../tax/tax-ids.ts';
import * as repo from './repo.ts';
import type {
  AssignPriceBookInput,
  CreateCustomerInput,
  ListCustomersInput,
  UpdateCustomerInput,
} from '@tariff/openapi/schemas/customers';

export async function createCustomer(deps: Deps, actor: Actor, input: CreateCustomerInput) {
  requirePermission(actor, 'customers.write');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    // A reseller-scoped caller's new customers go under its reseller (a reseller: keys and users are scoped to
    // resellers only) unless it names a parent, which it sees only in its subtree.
    const parent =
      input.parent_id !== undefined
        ? await requireParent(scope, input.parent_id)
        : actor.subtreeRootId
          ? { id: actor.subtreeRootId, isReseller: true }
          : undefined;
    const currency =
      input.currency ?? (parent?.isReseller ? await defaultChildCurrency(scope, parent.id) : null) ?? undefined;
    if (currency === undefined)
      throw invalid('invalid_request', 'Invalid request: currency: is required', [
        {
          field: 'currency',
          reason: parent?.isReseller
            ? "is required: the reseller parent's brand sets no currency for its children"
            : 'is required',
        },
      ]);
    const id = crypto.randomUUID();
    await repo.insertCustomer(scope, {
      id,
      externalId: input.external_id,
      name: input.name ?? null,
      email: input.email ?? null,
      currency,
      ...checkTaxFields({
        country: input.country ?? null,
        taxId: input.tax_id ?? null,
        taxStatus: input.tax_status ?? null,
        taxExemptReason: input.tax_exempt_reason ?? null,
        region: input.region ?? null,
        address: input.address ?? null,
        postalCode: input.postal_code ?? null,
      }),
      taxIdCheck: null,
      parentId: parent?.id ?? null,
      isReseller: input.is_reseller,
      metadata: input.metadata,
      createdAt: now,
      updatedAt: now,
    });
    const created = await readCustomer(scope, input.external_id, now);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'customer.created',
      entityType: 'customer',
      entityId: id,
      after: created,
    });
    return created;
  });
}

export async function updateCustomer(deps: Deps, actor: Actor, externalId: string, input: UpdateCustomerInput) {
  requirePermission(actor, 'customers.write');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    // Moves of the tenant's customers one at a time, before anything is read: two moves checked against the same
    // tree could otherwise each pass the cycle check (A under B and B under A at once).
    if (input.parent_id !== undefined) await repo.lockHierarchy(scope);
    const current = await requireCustomer(scope, externalId);
    requireChangeable(actor, current.id);
    const before = await readCustomer(scope, externalId, now);
    let parentId = current.parentId;
    if (input.parent_id === null) {
      if (actor.subtreeRootId)
        throw invalid('parent_required', 'A reseller-scoped caller keeps its customers in its subtree', [
          { field: 'parent_id', reason: 'cannot be null for a reseller-scoped caller' },
        ]);
      parentId = null;
    } else if (input.parent_id !== undefined) {
      const parent = await requireParent(scope, input.parent_id);
      if (await repo.isInSubtree(scope, current.id, parent.id)) {
        throw invalid('customer_hierarchy_cycle', 'A customer cannot be its own ancestor', [
          { field: 'parent_id', reason: `"${input.parent_id}" is "${externalId}" or one of its descendants` },
        ]);
      }
      parentId = parent.id;
    }
    // A reseller's children are priced by its books and billed by it: it stops reselling only once it has none
    // (moved or re-parented first), else they would keep books their seller no longer owns.
    if (input.is_reseller === false && current.isReseller) {
      const children = await repo.lockAndListChildren(scope, current.id, 3);
      if (children.length > 0)
        throw conflict(
          'reseller_has_children',
          `Customer "${externalId}" has children (${children.map((c) => `"${c}"`).join(', ')}${children.length === 3 ? ', ...' : ''}): move them to another parent before it stops reselling`,
          [{ field: 'is_reseller', reason: 'cannot be false while the customer has children' }],
        );
    }
    const metadata = { ...current.metadata };
    for (const [key, value] of Object.entries(input.metadata ?? {})) {
      if (value === null) delete metadata[key];
      else metadata[key] = value;
    }
    if (Object.keys(metadata).length > 50)
      throw invalid('invalid_request', 'At most 50 metadata keys', [{ field: 'metadata', reason: 'at most 50 keys' }]);
    if (input.currency !== undefined && input.currency !== current.currency) {
      await requireCurrencyChangeable(scope, current, input.currency);
      await repo.updateCustomerCurrency(scope, current.id, input.currency, now);
    }
    await repo.updateCustomer(
      scope,
      current.id,
      {
        name: input.name === undefined ? current.name : input.name,
        email: input.email === undefined ? current.email : input.email,
        ...checkTaxFields({
          country: input.country === undefined ? current.country : input.country,
          taxId: input.tax_id === undefined ? current.taxId : input.tax_id,
          taxStatus: input.tax_status === undefined ? current.taxStatus : input.tax_status,
          // Leaving the exempt status drops its reason.
          taxExemptReason:
            input.tax_exempt_reason === undefined
              ? (input.tax_status ?? current.taxStatus) === 'exempt'
                ? current.taxExemptReason
                : null
              : input.tax_exempt_reason,
          region: input.region === undefined ? current.region : input.region,
          address: input.address === undefined ? current.address : input.address,
          postalCode: input.postal_code === undefined ? current.postalCode : input.postal_code,
        }),
        parentId,
        isReseller: input.is_reseller ?? current.isReseller,
        metadata,
      },
      now,
    );
    // The customer as just updated: a book assigned with a move is checked against the new parent's chain.
    const updated = { ...current, parentId, isReseller: input.is_reseller ?? current.isReseller };
    if (input.price_book !== undefined)
      await assignBook(scope, actor, updated, await requireBook(scope, input.price_book), now, now);
    if (parentId !== current.parentId) await requireBooksOfSeller(scope, updated, now);
    const after = await readCustomer(scope, externalId, now);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'customer.updated',
      entityType: 'customer',
      entityId: current.id,
      before,
      after,
    });
    return after;
  });
}

export async function getCustomer(deps: Deps, actor: Actor, externalId: string) {
  requirePermission(actor, 'customers.read');
  return withTenant(deps.db, actor.tenantId, (tx) =>
    readCustomer({ db: tx, tenantId: actor.tenantId }, externalId, deps.clock.now()),
  );
}

export async function listCustomers(
  deps: Deps,
  actor: Actor,
  input: ListCustomersInput,
): Promise<ApiSchemas['CustomerList']> {
  requirePermission(actor, 'customers.read');
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customers = await repo.listCustomers(scope, { limit: input.limit, startingAfter: input.starting_after });
    const assignments = await repo.listAssignmentsOf(
      scope,
      customers.map((c) => c.id),
    );
    const now = deps.clock.now();
    return {
      data: customers.map((c) => toApiCustomer(c, assignments.get(c.id) ?? [], now)),
      has_more: customers.length === input.limit,
    };
  });
}

/**
 * Assigns a price book from `effective_from` (default now). Assignments are append-only and must follow
 * the customer's latest one, so the book that rated an already-rated event never changes.
 */
export async function assignPriceBook(deps: Deps, actor: Actor, externalId: string, input: AssignPriceBookInput) {
  requirePermission(actor, 'customers.write');
  const now = deps.clock.now();
  const effectiveFrom = input.effective_from ? new Date(input.effective_from) : now;
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customer = await requireCustomer(scope, externalId);
    requireChangeable(actor, customer.id);
    const book = await requireBook(scope, input.price_book);
    await assignBook(scope, actor, customer, book, effectiveFrom, now);
    const after = await readCustomer(scope, externalId, now);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'customer.price_book_assigned',
      entityType: 'customer',
      entityId: customer.id,
      after: { price_book: book.code, effective_from: effectiveFrom.toISOString() },
    });
    return after;
  });
}

async function requireBook(scope: TenantScope, code: string) {
  const book = await pricingRepo.findPriceBookByCode(scope, code);
  if (!book)
    throw invalid('price_book_not_found', `No price book "${code}"`, [
      { field: 'price_book', reason: 'no such price book' },
    ]);
  return book;
}

/** The book prices the customer from `effectiveFrom`: its seller's, in its rating currency, after its latest. */
async function assignBook(
  scope: TenantScope,
  actor: Actor,
  customer: repo.Customer,
  book: { id: string; code: string; currency: string },
  effectiveFrom: Date,
  now: Date,
): Promise<void> {
  await requireBookForCustomer(scope, book, customer.id, 'price_book');
  await requireRatingCurrency(scope, customer, book.currency, 'price_book');
  const latest = (await repo.listAssignments(scope, customer.id)).at(-1);
  if (latest && effectiveFrom.getTime() <= latest.effectiveFrom.getTime()) {
    throw precondition(
      'assignment_not_after_latest',
      "An assignment must take effect after the customer's latest one",
      [{ field: 'effective_from', reason: `must be after ${latest.effectiveFrom.toISOString()}` }],
    );
  }
  await repo.insertAssignment(scope, {
    customerId: customer.id,
    priceBookId: book.id,
    effectiveFrom,
    createdAt: now,
    createdBy: `${actor.type}:${actor.id}`,
  });
}

/**
 * A moved customer's books from now on (the one in force and any later) must be its new seller's, as an
 * assignment requires: a book owned by reseller A would otherwise price a customer of B with A's prices, and
 * show them to B. The move is refused rather than a book guessed; the same request can assign the new seller's
 * book (`price_book`). Events already rated keep the chain and books that billed them.
 */
async function requireBooksOfSeller(scope: TenantScope, customer: repo.Customer, now: Date): Promise<void> {
  const assignments = await repo.listAssignments(scope, customer.id);
  const later = assignments.filter((a) => a.effectiveFrom.getTime() > now.getTime());
  const inForce = assignments.slice(0, assignments.length - later.length).slice(-1);
  for (const a of [...inForce, ...later]) {
    try {
      await requireBookForCustomer(scope, { id: a.priceBookId, code: a.priceBookCode }, customer.id, 'parent_id');
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== 'price_book_not_owned_by_seller') throw error;
      throw conflict(
        'parent_price_book_conflict',
        `Customer "${customer.externalId}" is priced by "${a.priceBookCode}", which its new parent's seller does not own: assign one of the new seller's books in the same request (price_book)`,
        [{ field: 'parent_id', reason: `price book "${a.priceBookCode}" is not the new seller's` }],
      );
    }
  }
}

/**
 * Checks the customer's tax id online (VIES for EU ids, or the verifier the service was given). An answer is
 * recorded on the customer (an `invalid` one makes it a consumer for tax until the id changes); no answer is
 * reported as `unavailable` and changes nothing: billing never waits for a registry.
 */
export async function verifyCustomerTaxId(deps: Deps, actor: Actor, externalId: string) {
  requirePermission(actor, 'customers.write');
  const customer = await withTenant(deps.db, actor.tenantId, (tx) =>
    requireCustomer({ db: tx, tenantId: actor.tenantId }, externalId),
  );
  if (!customer.taxId || !customer.country) {
    throw precondition('tax_id_missing', `Customer "${externalId}" has no tax id and country to check`, [
      { field: 'tax_id', reason: 'required' },
    ]);
  }
  const verifier = deps.taxIdVerifier ?? (euMemberStates.has(customer.country) ? viesVerifier : undefined);
  // Outside any transaction: the registry may take seconds.
  const answer = verifier ? await verifier.verify(customer.country, customer.taxId) : undefined;
  const checkedAt = deps.clock.now();
  if (!answer)
    return { status: 'unavailable' as const, checked_at: checkedAt.toISOString(), source: verifier ? 'vies' : null };
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const current = await requireCustomer(scope, externalId);
    // The id changed while the registry answered: the answer is about the old one.
    if (current.taxId !== customer.taxId)
      return { status: 'unavailable' as const, checked_at: checkedAt.toISOString(), source: answer.source };
    const check = {
      status: answer.status,
      checked_at: checkedAt.toISOString(),
      source: answer.source,
      name: answer.name ?? null,
    };
    await repo.updateTaxIdCheck(scope, customer.id, check);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'customer.tax_id_checked',
      entityType: 'customer',
      entityId: customer.id,
      after: check,
    });
    return { status: answer.status, checked_at: check.checked_at, source: answer.source };
  });
}

type TaxFields = Pick<
  repo.Customer,
  'country' | 'taxId' | 'taxStatus' | 'taxExemptReason' | 'region' | 'address' | 'postalCode'
>;

/**
 * The customer's tax fields as they will be stored: the tax id checked against the country's format (and
 * normalized, e.g. the VAT prefix added), refused when it is malformed or another country's; an exempt status
 * needs its reason, and a reason needs the exempt status.
 */
function checkTaxFields(fields: TaxFields): TaxFields {
  let taxId = fields.taxId;
  if (taxId !== null && fields.country !== null) {
    const checked = checkTaxId(fields.country, taxId);
    if (!checked.ok) {
      throw invalid(checked.code, `Tax id "${taxId}" ${checked.reason}`, [{ field: 'tax_id', reason: checked.reason }]);
    }
    taxId = checked.normalized;
  }
  if (fields.taxStatus === 'exempt' && fields.taxExemptReason === null) {
    throw invalid('tax_exempt_reason_missing', 'An exempt customer needs the reason of its exemption', [
      { field: 'tax_exempt_reason', reason: 'required when tax_status is exempt' },
    ]);
  }
  if (fields.taxStatus !== 'exempt' && fields.taxExemptReason !== null) {
    throw invalid('tax_exempt_reason_without_exemption', 'A tax exemption reason needs tax_status exempt', [
      { field: 'tax_exempt_reason', reason: 'only with tax_status exempt' },
    ]);
  }
  return { ...fields, taxId };
}

/** Tariff's ids: a path naming a customer by one is resolved by it unless an external id is that string. */
export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A customer is rated in one currency, its price books' (any ISO 4217 currency: invoices convert it into the
 * customer's billing currency, invoices/fx.ts). A book or plan in another currency than the books already
 * assigned would split a period's charges between two currencies: refused, naming `field`. A reseller chain
 * rates in one currency too (each level is then billed in its own currency, converted at its invoice): a book in
 * another currency than its reseller parent's or its children's is refused, naming `field`, before an event of
 * the chain would be (events/service.ts chain_currency_mismatch).
 */
export async function requireRatingCurrency(
  scope: TenantScope,
  customer: repo.Customer,
  currency: string,
  field: string,
): Promise<void> {
  const latest = (await repo.listAssignments(scope, customer.id)).at(-1);
  const ratingCurrency = latest
    ? (await pricingRepo.findPriceBookById(scope, latest.priceBookId))!.currency
    : undefined;
  if (ratingCurrency !== undefined && currency !== ratingCurrency) {
    throw precondition(
      'currency_mismatch',
      `Customer "${customer.externalId}" is rated in ${ratingCurrency} (its price books' currency); ${field} is in ${currency}`,
      [{ field, reason: `is in ${currency}, not ${ratingCurrency} like the customer's price books` }],
    );
  }
  const other = (await repo.findChainBookCurrencies(scope, customer)).find((n) => n.currency !== currency);
  if (other) {
    const whose = other.relation === 'parent' ? 'its reseller' : 'its child';
    throw precondition(
      'chain_currency_mismatch',
      `Customer "${customer.externalId}" would be rated in ${currency} but ${whose} "${other.externalId}" is rated in ${other.currency}: a reseller chain rates in one currency (each level is billed in its own, converted at its invoice)`,
      [{ field, reason: `is in ${currency}, not ${other.currency} like ${whose} "${other.externalId}"` }],
    );
  }
}

/**
 * A customer's currency may change until something is billed or held in the old one: no invoice yet, every price
 * book it was ever assigned (plans assign theirs) and every credit grant in the new currency.
 */
async function requireCurrencyChangeable(scope: TenantScope, customer: repo.Customer, currency: string): Promise<void> {
  const ties = await repo.findCurrencyTies(scope, customer.id, currency);
  const reasons: string[] = [];
  if (ties.invoices > 0)
    reasons.push(`it has ${ties.invoices} invoice${ties.invoices === 1 ? '' : 's'} in ${customer.currency}`);
  if (ties.books.length > 0)
    reasons.push(
      `it is assigned price book${ties.books.length === 1 ? '' : 's'} ${ties.books.map((b) => `"${b}"`).join(', ')} in another currency`,
    );
  if (ties.grants > 0) reasons.push(`it has credit grants in ${customer.currency}`);
  if (reasons.length > 0) {
    throw precondition(
      'currency_locked',
      `Customer "${customer.externalId}" cannot change its currency to ${currency}: ${reasons.join('; ')}`,
      [{ field: 'currency', reason: `cannot change: ${reasons.join('; ')}` }],
    );
  }
}

/** The customer with this external id, or a 404 naming it: how every domain finds the customer a path names. */
/** The currency the customer is rated in (its price books'): spend, budgets, holds and credits are in it. */
export const findRatingCurrency = repo.findRatingCurrency;

export async function requireCustomer(scope: TenantScope, externalId: string): Promise<repo.Customer> {
  // A path may name the customer by Tariff's id too; an external id that happens to look like one wins.
  const customer =
    (await repo.findCustomerByExternalId(scope, externalId)) ??
    (uuidPattern.test(externalId) ? await repo.findCustomerById(scope, externalId.toLowerCase()) : undefined);
  if (!customer) throw notFound('customer_not_found', `No customer "${externalId}"`);
  return customer;
}

/** A list's optional `customer_id` filter as the customer's internal id (a 404 when it names no customer). */
export async function customerIdFilter(
  scope: TenantScope,
  externalId: string | undefined,
): Promise<string | undefined> {
  return externalId === undefined ? undefined : (await requireCustomer(scope, externalId)).id;
}

/** A reseller-scoped caller reads its reseller but does not change it (its book, credits, parent are its seller's). */
export function requireChangeable(actor: Actor, customerId: string): void {
  if (actor.subtreeRootId === customerId)
    throw forbidden('subtree_root_read_only', "A reseller-scoped caller cannot change its own reseller's account");
}

async function requireParent(scope: TenantScope, parentExternalId: string) {
  const parent = await repo.findCustomerByExternalId(scope, parentExternalId);
  if (!parent)
    throw invalid('parent_not_found', `No customer "${parentExternalId}" to be the parent`, [
      { field: 'parent_id', reason: 'no such customer' },
    ]);
  return parent;
}

async function readCustomer(scope: TenantScope, externalId: string, now: Date) {
  const customer = await requireCustomer(scope, externalId);
  return toApiCustomer(customer, await repo.listAssignments(scope, customer.id), now);
}

export function toApiCustomer(
  customer: repo.Customer,
  assignments: repo.Assignment[],
  now: Date,
): ApiSchemas['Customer'] {
  const current = assignments.filter((a) => a.effectiveFrom.getTime() <= now.getTime()).at(-1);
  return {
    id: customer.id,
    external_id: customer.externalId,
    name: customer.name,
    email: customer.email,
    currency: customer.currency,
    country: customer.country,
    tax_id: customer.taxId,
    tax_status: customer.taxStatus ?? (customer.taxId ? 'business' : 'consumer'),
    tax_exempt_reason: customer.taxExemptReason,
    region: customer.region,
    address: customer.address,
    postal_code: customer.postalCode,
    tax_id_check: customer.taxIdCheck
      ? {
          status: customer.taxIdCheck.status,
          checked_at: customer.taxIdCheck.checked_at,
          source: customer.taxIdCheck.source,
        }
      : null,
    parent_id: customer.parentExternalId,
    is_reseller: customer.isReseller,
    metadata: customer.metadata,
    price_book: current ? { code: current.priceBookCode, effective_from: current.effectiveFrom.toISOString() } : null,
    price_book_assignments: assignments.map((a) => ({
      price_book: a.priceBookCode,
      effective_from: a.effectiveFrom.toISOString(),
    })),
    created_at: customer.createdAt.toISOString(),
    updated_at: customer.updatedAt.toISOString(),
  };
}
