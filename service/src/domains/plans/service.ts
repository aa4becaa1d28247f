// Plans: what a subscription bills besides usage (base fee, interval, minimum spend), which price book rates
// its usage, and the allowances included each period. Plans do not change once created; a new plan does.
import crypto from 'node:crypto';
import { formatQuantity, parseScaled, type PriceBook } from '@tariff/core-wasm';
import type { ApiSchemas } from '../../platform/api.ts';
import type { Actor } from '../../platform/auth.ts';
import { requirePermission } from '../../platform/auth.ts';
import { withTenant } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { invalid, notFound, precondition } from '../../platform/errors.ts';
import { formatMoney, toNano } from '../../platform/money.ts';
import { recordChange } from '../audit/service.ts';
import * as pricingRepo from '../pricing/repo.ts';
import { loadPriceBook } from '../pricing/service.ts';
import * as repo from './repo.ts';
import type { CreatePlanInput, ListPlansInput } from '@tariff/openapi/schemas/plans';

/** Allowance pools some charge of the book (any version, any variant) draws. */
export function poolsDrawnBy(book: PriceBook): Set<string> {
  const pools = new Set<string>();
  for (const version of book.versions) {
    for (const card of version.rate_cards) {
      for (const charge of [...card.charges, ...(card.variants ?? []).flatMap((v) => v.charges)])
        if (charge.allowance) pools.add(charge.allowance);
    }
  }
  return pools;
}

export async function createPlan(deps: Deps, actor: Actor, input: CreatePlanInput): Promise<ApiSchemas['Plan']> {
  requirePermission(actor, 'plans.write');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const bookRow = await pricingRepo.findPriceBookByCode(scope, input.price_book);
    if (!bookRow)
      throw invalid('price_book_not_found', `No price book "${input.price_book}"`, [
        { field: 'price_book', reason: 'no such price book' },
      ]);
    // A reseller's plans sell its own books; the book it is assigned (its parent's) is not its to resell.
    if (actor.subtreeRootId && (bookRow.ownerCustomerId === null || !bookRow.ownerExternalId))
      throw precondition('price_book_not_owned', `Price book "${input.price_book}" is not the reseller's own`, [
        { field: 'price_book', reason: "a reseller's plan uses a book the reseller owns" },
      ]);
    const drawn = poolsDrawnBy((await loadPriceBook(scope, bookRow.id))!);
    const problems = Object.keys(input.allowances)
      .filter((pool) => !drawn.has(pool))
      .map((pool) => ({
        field: `allowances.${pool}`,
        reason: `no charge of price book "${bookRow.code}" draws this pool (it draws: ${[...drawn].join(', ') || 'none'})`,
      }));
    if (problems.length > 0)
      throw invalid('allowance_not_drawn', 'An included allowance must be a pool the price book draws', problems);
    const allowances = Object.fromEntries(
      Object.entries(input.allowances).map(([pool, quantity]) => [
        pool,
        formatQuantity((parseScaled(quantity, 6) as { ok: true; value: bigint }).value),
      ]),
    );
    const plan = {
      id: crypto.randomUUID(),
      code: input.code,
      name: input.name,
      currency: bookRow.currency,
      priceBookId: bookRow.id,
      baseFee: formatMoney(toNano(input.base_fee)),
      interval: input.interval,
      allowances,
      minimumSpend: input.minimum_spend ? formatMoney(toNano(input.minimum_spend)) : null,
      invoiceGraceSeconds: input.invoice_grace_hours * 3600,
      progressiveThresholds: input.progressive_thresholds.map((t) => formatMoney(toNano(t))),
      termCommitment: input.term_commitment
        ? {
            minimumSpend: formatMoney(toNano(input.term_commitment.minimum_spend)),
            periods: input.term_commitment.periods,
          }
        : null,
      createdAt: now,
      createdBy: `${actor.type}:${actor.id}`,
      archivedAt: null,
    };
    await repo.insertPlan(scope, plan);
    const result = toApiPlan({ ...plan, priceBookCode: bookRow.code });
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'plan.created',
      entityType: 'plan',
      entityId: plan.id,
      after: result,
    });
    return result;
  });
}

export async function getPlan(deps: Deps, actor: Actor, code: string): Promise<ApiSchemas['Plan']> {
  requirePermission(actor, 'billing.read');
  const plan = await withTenant(deps.db, actor.tenantId, (tx) =>
    repo.findPlanByCode({ db: tx, tenantId: actor.tenantId }, code),
  );
  if (!plan) throw notFound('plan_not_found', `No plan "${code}"`);
  return toApiPlan(plan);
}

export async function listPlans(deps: Deps, actor: Actor, input: ListPlansInput): Promise<ApiSchemas['PlanList']> {
  requirePermission(actor, 'billing.read');
  const plans = await withTenant(deps.db, actor.tenantId, (tx) =>
    repo.listPlans({ db: tx, tenantId: actor.tenantId }, { limit: input.limit, startingAfter: input.starting_after }),
  );
  return { data: plans.map(toApiPlan), has_more: plans.length === input.limit };
}

export function toApiPlan(plan: repo.Plan): ApiSchemas['Plan'] {
  return {
    id: plan.id,
    code: plan.code,
    name: plan.name,
    currency: plan.currency,
    price_book: plan.priceBookCode,
    base_fee: formatMoney(toNano(plan.baseFee)),
    interval: plan.interval,
    allowances: plan.allowances,
    minimum_spend: plan.minimumSpend === null ? null : formatMoney(toNano(plan.minimumSpend)),
    invoice_grace_hours: plan.invoiceGraceSeconds / 3600,
    progressive_thresholds: plan.progressiveThresholds.map((t) => formatMoney(toNano(t))),
    term_commitment: plan.termCommitment
      ? { minimum_spend: formatMoney(toNano(plan.termCommitment.minimumSpend)), periods: plan.termCommitment.periods }
      : null,
    created_at: plan.createdAt.toISOString(),
    created_by: plan.createdBy,
    archived_at: plan.archivedAt?.toISOString() ?? null,
  };
}
