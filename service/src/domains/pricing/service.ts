// Price books: the kernel's JSON, stored as immutable versions. Adding a version never changes an old one.
import type { ApiSchemas } from '../../platform/api.ts';
import crypto from 'node:crypto';
import { minorUnitOf } from '@tariff/openapi/schemas/iso4217';
import { validateBook, type BookVersion, type PriceBook } from '@tariff/core-wasm';
import type { Actor } from '../../platform/auth.ts';
import { requirePermission } from '../../platform/auth.ts';
import { withTenant, type TenantScope } from '../../platform/db.ts';
import { emitSignal } from '../../platform/signals.ts';
import type { Deps } from '../../platform/deps.ts';
import { conflict, invalid, notFound, precondition, type FieldProblem } from '../../platform/errors.ts';
import { recordChange } from '../audit/service.ts';
import * as repo from './repo.ts';
// The importer lives with the kernel host (the CLI calls the same function).
import {
  CatalogueImportError,
  CatalogueUpdateError,
  importCatalogue,
  planCatalogueUpdate,
  type CatalogueImport,
  type CatalogueUpdate,
} from '../../../../core-wasm/src/importers/catalogue.ts';
import {
  priceBookCode,
  type AddPriceBookVersionInput,
  type CreatePriceBookInput,
  type ImportPriceBookInput,
  type ListPriceBooksInput,
  type UpdatePriceBookFromCatalogueInput,
} from '@tariff/openapi/schemas/pricing';

/** The kernel host's validator, the one authority on what a valid book is; paths become `<prefix>.a.0.b`. */
function checkBook(book: unknown, mapPath: (path: string) => string): void {
  const result = validateBook(book);
  const problems = result.ok ? [] : result.errors.map((e) => ({ path: e.path, message: e.message }));
  // The id becomes the book's code: the kernel takes any non-empty string, the database a code's length.
  const id = (book as { id?: unknown }).id;
  const code = typeof id === 'string' && id.length > 0 ? priceBookCode.safeParse(id) : undefined;
  if (code && !code.success) problems.push({ path: 'id', message: code.error.issues[0].message });
  // The kernel takes any three capitals; an invoice needs the currency's ISO 4217 minor unit.
  const currency = (book as { currency?: unknown }).currency;
  if (typeof currency === 'string' && /^[A-Z]{3}$/.test(currency) && minorUnitOf(currency) === undefined) {
    problems.push({ path: 'currency', message: `"${currency}" is not an active ISO 4217 currency with a minor unit` });
  }
  if (problems.length === 0) return;
  const details: FieldProblem[] = problems.map((e) => ({
    field: mapPath(e.path.replace(/\[(\d+)\]/g, '.$1')),
    reason: e.message,
  }));
  throw invalid('invalid_price_book', `The price book is not valid: ${details.length} problem(s)`, details);
}

export async function createPriceBook(deps: Deps, actor: Actor, input: CreatePriceBookInput) {
  requirePermission(actor, 'price_books.write');
  checkBook(input.book, (path) => (path ? `book.${path}` : 'book'));
  const book = input.book as unknown as PriceBook;
  const now = deps.clock.now();
  const createdBy = `${actor.type}:${actor.id}`;
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const row: repo.PriceBookRow = {
      id: crypto.randomUUID(),
      code: book.id,
      name: input.name ?? null,
      currency: book.currency,
      createdAt: now,
      createdBy,
      ownerCustomerId: await resolveBookOwner(scope, actor, input.owner_customer_id),
    };
    await repo.insertPriceBook(scope, row);
    const schedules: [repo.Schedule, BookVersion[]][] = [
      ['price', book.versions],
      ['cost', book.cost?.versions ?? []],
    ];
    for (const [schedule, versions] of schedules) {
      for (const [i, body] of versions.entries()) {
        await repo.insertVersion(scope, row.id, {
          schedule,
          version: i + 1,
          effectiveFrom: new Date(body.effective_from),
          body,
          createdAt: now,
          createdBy,
        });
      }
    }
    // Read back: the owner's external id comes from the customer.
    const result = await readPriceBook(scope, (await repo.findPriceBookById(scope, row.id))!);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'price_book.created',
      entityType: 'price_book',
      entityId: row.id,
      after: result,
    });
    return result;
  });
}

/**
 * Builds a book from a public catalogue with the kernel host's importer (the one the CLI runs) and stores it like any
 * other book. Models that cannot be stated are skipped and listed; the notes say where the import approximated.
 */
export async function importPriceBook(
  deps: Deps,
  actor: Actor,
  input: ImportPriceBookInput,
): Promise<ApiSchemas['ImportedPriceBook']> {
  requirePermission(actor, 'price_books.write');
  const imported = runCatalogueImport(input, { bookId: input.book_id, firstEffectiveFrom: input.first_effective_from });
  const book = await createPriceBook(deps, actor, {
    name: input.name ?? `${input.source} catalogue`,
    book: imported.book as unknown as Record<string, unknown>,
  });
  return { price_book: book, notes: imported.notes, skipped: imported.skipped };
}

type CatalogueInput = Pick<ImportPriceBookInput, 'source' | 'catalogue' | 'regex' | 'strict'>;

function runCatalogueImport(
  input: CatalogueInput,
  options: { bookId?: string; firstEffectiveFrom?: string },
): CatalogueImport {
  try {
    return importCatalogue(input.source, input.catalogue, { ...options, regex: input.regex, strict: input.strict });
  } catch (error) {
    if (!(error instanceof CatalogueImportError)) throw error;
    const details = error.problems.map((problem) => ({
      field: `catalogue${toFieldPath(problem.path)}`,
      reason: problem.message,
    }));
    throw invalid('catalogue_not_importable', `${error.message.split('\n')[0]}: ${details.length} problem(s)`, details);
  }
}

/** `$[3].models[12].match` -> `.3.models.12.match`; `$["gpt-4o"]` -> `.gpt-4o`. */
function toFieldPath(path: string): string {
  return path
    .replace(/^\$/, '')
    .replace(/\["((?:[^"\\]|\\.)*)"\]/g, (_, key: string) => `.${JSON.parse(`"${key}"`)}`)
    .replace(/\[(\d+)\]/g, '.$1');
}

/**
 * What a newer catalogue would change in a book, without changing it: the rates added, removed and changed per card,
 * what would be skipped, and the digest that publishing this exact update requires.
 */
export async function previewPriceBookUpdate(
  deps: Deps,
  actor: Actor,
  code: string,
  input: UpdatePriceBookFromCatalogueInput,
) {
  requirePermission(actor, 'price_books.write');
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const { row, plan, imported, effectiveFrom } = await planUpdate(deps, scope, code, input, { lock: false });
    return catalogueUpdateResult(await readPriceBook(scope, row), plan, imported, effectiveFrom, 0);
  });
}

/**
 * Adds a newer catalogue's prices to a book as new versions (never a new book): the prices in force at
 * `effective_from`, then any later dated prices of the catalogue. Nothing is added when nothing changed.
 */
export async function updatePriceBookFromCatalogue(
  deps: Deps,
  actor: Actor,
  code: string,
  input: UpdatePriceBookFromCatalogueInput,
) {
  requirePermission(actor, 'price_books.write');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    // The row lock serialises this with other additions: the digest is checked against the versions it appends to.
    const { row, plan, imported, effectiveFrom, versions } = await planUpdate(deps, scope, code, input, { lock: true });
    const prices = versions.filter((version) => version.schedule === 'price');
    const digest = updateDigest(prices.length, plan);
    if (input.preview_digest !== undefined && input.preview_digest !== digest) {
      throw conflict(
        'preview_outdated',
        'The update differs from the preview it names: the book or the catalogue changed since; preview again',
        [{ field: 'preview_digest', reason: `the update now has digest ${digest}` }],
      );
    }
    const createdBy = `${actor.type}:${actor.id}`;
    for (const [index, body] of plan.versions.entries()) {
      await repo.insertVersion(scope, row.id, {
        schedule: 'price',
        version: prices.length + index + 1,
        effectiveFrom: new Date(body.effective_from),
        body,
        createdAt: now,
        createdBy,
      });
    }
    const book = await readPriceBook(scope, row);
    if (plan.versions.length) {
      await recordChange(tx, deps.clock, actor, actor.tenantId, {
        action: 'price_book.catalogue_update',
        entityType: 'price_book',
        entityId: row.id,
        after: {
          source: input.source,
          effective_from: effectiveFrom,
          versions: plan.versions.map((_, index) => prices.length + index + 1),
          added: plan.changes.added.length,
          removed: plan.changes.removed.length,
          changed: plan.changes.changed.length,
          skipped: imported.skipped.length,
        },
      });
    }
    return catalogueUpdateResult(book, plan, imported, effectiveFrom, plan.versions.length);
  });
}

async function planUpdate(
  deps: Deps,
  scope: TenantScope,
  code: string,
  input: UpdatePriceBookFromCatalogueInput,
  options: { lock: boolean },
) {
  const now = deps.clock.now();
  const row = await repo.findPriceBookByCode(scope, code, options);
  if (!row) throw notFound('price_book_not_found', `No price book "${code}"`);
  const effectiveFrom = input.effective_from === undefined ? now : new Date(input.effective_from);
  if (effectiveFrom.getTime() < now.getTime()) {
    throw precondition('version_in_past', 'A catalogue update cannot take effect in the past', [
      {
        field: 'effective_from',
        reason: `is before now (${now.toISOString()}); to re-rate past events, add a retroactive version instead`,
      },
    ]);
  }
  const versions = await repo.listVersions(scope, row.id);
  const imported = runCatalogueImport(input, { bookId: row.code });
  let plan: CatalogueUpdate;
  try {
    plan = planCatalogueUpdate(assemble(row, versions), imported.book, effectiveFrom.toISOString());
  } catch (error) {
    if (!(error instanceof CatalogueUpdateError)) throw error;
    const field = error.field === 'book.currency' ? 'source' : error.field;
    throw precondition('catalogue_update_not_applicable', `The catalogue cannot update this book: ${error.message}`, [
      { field, reason: error.message },
    ]);
  }
  // The book with its new versions must be valid as a whole, as for any added version.
  if (plan.versions.length) {
    checkBook(
      assemble(row, [...versions, ...plan.versions.map((body) => ({ schedule: 'price' as const, body }))]),
      (path) => `(updated book).${path}`,
    );
  }
  return { row, plan, imported, effectiveFrom: effectiveFrom.toISOString(), versions };
}

/** Identifies an update by what it appends and to which versions, whatever instant "now" was when it was previewed. */
function updateDigest(existingVersions: number, plan: CatalogueUpdate): string {
  const [first, ...later] = plan.versions;
  const body = { existing_versions: existingVersions, first: first ? { ...first, effective_from: null } : null, later };
  return crypto.createHash('sha256').update(JSON.stringify(body)).digest('hex');
}

function catalogueUpdateResult(
  book: ApiSchemas['PriceBook'],
  plan: CatalogueUpdate,
  imported: CatalogueImport,
  effectiveFrom: string,
  versionsAdded: number,
): ApiSchemas['PriceBookCatalogueUpdate'] {
  const existing = book.versions.filter((version) => version.schedule === 'price').length - versionsAdded;
  return {
    price_book: book,
    effective_from: effectiveFrom,
    versions_to_add: plan.versions.length,
    versions_added: versionsAdded,
    changes: plan.changes as ApiSchemas['PriceBookCatalogueUpdate']['changes'],
    skipped: imported.skipped,
    notes: imported.notes,
    digest: updateDigest(existing, plan),
  };
}

/**
 * Appends one version. It must take effect after every existing version of its schedule, and not before now
 * unless it is retroactive: events up to now may already be rated against the current version, and changing
 * their price is re-rating, an explicit operation of its own (previewed, then applied on approval), which a
 * retroactive price version starts in the same transaction (through a signal the re-rating domain reacts to).
 */
export async function addPriceBookVersion(deps: Deps, actor: Actor, code: string, input: AddPriceBookVersionInput) {
  requirePermission(actor, 'price_books.write');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    // The row lock serialises concurrent additions to one book: version numbers stay gapless.
    const row = await repo.findPriceBookByCode(scope, code, { lock: true });
    if (!row) throw notFound('price_book_not_found', `No price book "${code}"`);
    const versions = await repo.listVersions(scope, row.id);
    const existing = versions.filter((v) => v.schedule === input.schedule);
    const body = input.version as unknown as BookVersion;
    // The whole book with the new version must be valid (ascending effective_from included); problems in the
    // new version are reported under "version".
    const prefix = input.schedule === 'price' ? `versions.${existing.length}` : `cost.versions.${existing.length}`;
    checkBook(assemble(row, [...versions, { schedule: input.schedule, body }]), (path) =>
      path.startsWith(prefix) ? `version${path.slice(prefix.length)}` : `(existing book).${path}`,
    );
    const effectiveFrom = new Date(body.effective_from);
    const retroactive = effectiveFrom.getTime() < now.getTime();
    if (retroactive && !input.retroactive) {
      throw precondition(
        'version_in_past',
        'A new version cannot take effect in the past unless it is added as retroactive (which re-rates what it covers)',
        [
          {
            field: 'version.effective_from',
            reason: `is before now (${now.toISOString()}); set retroactive: true to re-rate from then`,
          },
        ],
      );
    }
    if (retroactive && input.schedule !== 'price') {
      throw invalid('retroactive_cost_version', 'Only price versions can be added retroactively', [
        { field: 'retroactive', reason: 'only for schedule "price"' },
      ]);
    }
    await repo.insertVersion(scope, row.id, {
      schedule: input.schedule,
      version: existing.length + 1,
      effectiveFrom,
      body,
      createdAt: now,
      createdBy: `${actor.type}:${actor.id}`,
    });
    if (retroactive) {
      await emitSignal(scope, 'price_book.retroactive_version', {
        priceBookId: row.id,
        effectiveFrom,
        bookVersions: versions.length + 1,
        createdBy: `${actor.type}:${actor.id}`,
        now,
      });
    }
    // Read back: the owner's external id comes from the customer.
    const result = await readPriceBook(scope, (await repo.findPriceBookById(scope, row.id))!);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'price_book.version_added',
      entityType: 'price_book',
      entityId: row.id,
      after: {
        schedule: input.schedule,
        version: existing.length + 1,
        effective_from: effectiveFrom.toISOString(),
        body: input.version,
      },
    });
    return result;
  });
}

export async function getPriceBook(deps: Deps, actor: Actor, code: string) {
  requirePermission(actor, 'price_books.read');
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const row = await repo.findPriceBookByCode(scope, code);
    if (!row) throw notFound('price_book_not_found', `No price book "${code}"`);
    return readPriceBook(scope, row);
  });
}

export async function listPriceBooks(
  deps: Deps,
  actor: Actor,
  input: ListPriceBooksInput,
): Promise<ApiSchemas['PriceBookList']> {
  requirePermission(actor, 'price_books.read');
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const rows = await repo.listPriceBooks(
      { db: tx, tenantId: actor.tenantId },
      { limit: input.limit, startingAfter: input.starting_after },
    );
    return { data: rows.map(toApiPriceBookSummary), has_more: rows.length === input.limit };
  });
}

/**
 * The owner of a new book: the named reseller (visible to the caller, so within a subtree key's subtree), else a
 * subtree key's own reseller, else the tenant (null).
 */
async function resolveBookOwner(scope: TenantScope, actor: Actor, externalId: string | undefined) {
  if (externalId === undefined) return actor.subtreeRootId ?? null;
  const owner = await repo.findOwnerCandidate(scope, externalId);
  if (!owner)
    throw invalid('owner_not_found', `No customer "${externalId}" to own the book`, [
      { field: 'owner_customer_id', reason: 'no such customer' },
    ]);
  if (!owner.isReseller)
    throw invalid('owner_not_reseller', `"${externalId}" is not a reseller`, [
      { field: 'owner_customer_id', reason: 'only a reseller owns price books' },
    ]);
  return owner.id;
}

/**
 * A book may price a customer only if it belongs to whoever sells to that customer: the customer's parent when
 * the parent is a reseller, else the tenant. Otherwise 422 on `field` (the request's field naming the book).
 */
export async function requireBookForCustomer(
  scope: TenantScope,
  book: { id: string; code?: string },
  customerId: string,
  field: string,
): Promise<void> {
  const [owner, row] = await Promise.all([
    repo.findPricingOwner(scope, customerId),
    repo.findPriceBookById(scope, book.id),
  ]);
  const expected = owner?.ownerId ?? null;
  if (owner && row && row.ownerCustomerId === expected) return;
  throw precondition(
    'price_book_not_owned_by_seller',
    `Price book "${row?.code ?? book.code ?? book.id}" cannot price this customer`,
    [
      {
        field,
        reason:
          expected === null
            ? "the customer's parent is not a reseller: only the tenant's own books may price it"
            : "only a book owned by the customer's reseller parent may price it",
      },
    ],
  );
}

/** The book as the kernel reads it, from its stored versions. For rating (events) and for the API. */
export async function loadPriceBook(scope: TenantScope, priceBookId: string): Promise<PriceBook | undefined> {
  const row = await repo.findPriceBookById(scope, priceBookId);
  if (!row) return undefined;
  return assemble(row, await repo.listVersions(scope, row.id));
}

async function readPriceBook(scope: TenantScope, row: repo.PriceBookRow): Promise<ApiSchemas['PriceBook']> {
  const versions = await repo.listVersions(scope, row.id);
  return {
    ...toApiPriceBookSummary(row),
    versions: versions.map((v) => ({
      schedule: v.schedule,
      version: v.version,
      effective_from: v.effectiveFrom.toISOString(),
      created_at: v.createdAt.toISOString(),
      created_by: v.createdBy,
    })),
    // The book's own shape is the kernel's (book.ts); the document describes it as an object.
    book: assemble(row, versions) as unknown as Record<string, unknown>,
  };
}

function assemble(row: repo.PriceBookRow, versions: Pick<repo.VersionRow, 'schedule' | 'body'>[]): PriceBook {
  const price = versions.filter((v) => v.schedule === 'price').map((v) => v.body);
  const cost = versions.filter((v) => v.schedule === 'cost').map((v) => v.body);
  return {
    id: row.code,
    currency: row.currency,
    versions: price,
    ...(cost.length > 0 ? { cost: { currency: row.currency, versions: cost } } : {}),
  };
}

export function toApiPriceBookSummary(row: repo.PriceBookRow): ApiSchemas['PriceBookSummary'] {
  return {
    id: row.id,
    code: row.code,
    name: row.name,
    currency: row.currency,
    created_at: row.createdAt.toISOString(),
    created_by: row.createdBy,
    owner_customer_id: row.ownerExternalId ?? null,
  };
}
