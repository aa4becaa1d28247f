// Credit grants (prepaid, promotional, goodwill) and each customer's depletion policy. Grants are drawn down by
// the kernel at rating time (events/billing.ts); here they are issued, voided and read, each change posted to
// the ledger in the transaction that makes it.
import crypto from 'node:crypto';
import type { Grant as KernelGrant } from '@tariff/core-wasm';
import type { ApiSchemas } from '../../platform/api.ts';
import type { Actor } from '../../platform/auth.ts';
import { requirePermission, requireTenantWide } from '../../platform/auth.ts';
import { withTenant, type TenantScope } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { conflict, invalid, notFound, precondition } from '../../platform/errors.ts';
import { divideHalfEven, formatMoney, toNano } from '../../platform/money.ts';
import { recordChange } from '../audit/service.ts';
import { convertNano } from '../currency/convert.ts';
import { findConversions } from '../currency/service.ts';
import * as customersRepo from '../customers/repo.ts';
import { requireCustomer } from '../customers/service.ts';
import { accounts, postTransactions, type Posting } from '../ledger/service.ts';
import * as metersRepo from '../meters/repo.ts';
import * as notify from '../notifications/service.ts';
import * as holdsRepo from '../holds/repo.ts';
import * as repo from './repo.ts';
import type {
  CreateGrantInput,
  GrantKind,
  ListGrantsInput,
  UpdateBillingSettingsInput,
  UpdateWalletInput,
  VoidGrantInput,
} from '@tariff/openapi/schemas/wallets';

/** The account a grant's credit comes from (and goes back to when it is voided or lapses unused). */
function fundingAccount(kind: GrantKind, currency: string) {
  return kind === 'prepaid' ? accounts.prepaidPurchases(currency) : accounts.creditExpense(kind, currency);
}

/** Goodwill is free credit like a promotion; the kernel knows two classes: free credit first, then prepaid. */
export function kernelGrant(grant: repo.Grant, balance: bigint): KernelGrant {
  const scope =
    grant.scopeCards || grant.scopeEventTypes
      ? {
          ...(grant.scopeCards ? { cards: grant.scopeCards } : {}),
          ...(grant.scopeEventTypes ? { event_types: grant.scopeEventTypes } : {}),
        }
      : undefined;
  return {
    id: grant.id,
    kind: grant.kind === 'prepaid' ? 'prepaid' : 'promotional',
    priority: grant.priority,
    balance: formatMoney(balance),
    ...(grant.effectiveAt ? { effective_at: grant.effectiveAt.toISOString() } : {}),
    ...(grant.expiresAt ? { expires_at: grant.expiresAt.toISOString() } : {}),
    ...(scope ? { scope } : {}),
  };
}

/** Pure: the currency value (nano-units) of `credits` (nano-credits) at `rate` (nano-units per credit), half-even. */
export function creditsToNano(credits: bigint, rate: bigint): bigint {
  return divideHalfEven(credits * rate, 1_000_000_000n);
}

/** Pure: a currency balance (nano-units) in credits (nano-credits) at `rate`, half-even: for display only. */
export function nanoToCredits(value: bigint, rate: bigint): bigint {
  return divideHalfEven(value * 1_000_000_000n, rate);
}

/** Whether a grant can be drawn at `at` (its scope aside). */
export function grantInForce(grant: Pick<repo.Grant, 'status' | 'effectiveAt' | 'expiresAt'>, at: Date): boolean {
  if (grant.status !== 'active') return false;
  if (grant.effectiveAt && grant.effectiveAt.getTime() > at.getTime()) return false;
  if (grant.expiresAt && grant.expiresAt.getTime() <= at.getTime()) return false;
  return true;
}

export async function createGrant(
  deps: Deps,
  actor: Actor,
  externalId: string,
  input: CreateGrantInput,
): Promise<ApiSchemas['CreditGrant']> {
  requirePermission(actor, 'credits.write');
  const now = deps.clock.now();
  if (input.expires_at && Date.parse(input.expires_at) <= now.getTime()) {
    throw precondition('grant_already_expired', 'The grant would expire before it can be used', [
      { field: 'expires_at', reason: `must be after now (${now.toISOString()})` },
    ]);
  }
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customer = await requireCustomer(scope, externalId);
    const eventTypes = new Set(input.scope?.event_types ?? []);
    for (const [i, code] of (input.scope?.meters ?? []).entries()) {
      const meter = await metersRepo.findMeterByCode(scope, code);
      if (!meter)
        throw invalid('meter_not_found', `No meter "${code}"`, [
          { field: `scope.meters.${i}`, reason: 'no such meter' },
        ]);
      eventTypes.add(meter.eventType);
    }
    // Credits are drawn as their value in the currency: amount x rate, half-even to the nano-unit (the one rounding).
    const given = input.credits
      ? creditsToNano(toNano(input.credits.amount), toNano(input.credits.rate))
      : toNano(input.amount!);
    if (given === 0n)
      throw invalid('grant_worth_nothing', 'The credits are worth less than a nano-unit', [
        { field: 'credits.amount', reason: 'amount x rate rounds to 0' },
      ]);
    // The kernel draws a grant in the currency the customer is rated in (its books'): a grant given in the billing
    // currency of a customer rated in another is converted now, at the rate in force, and keeps that conversion.
    const currency = await customersRepo.findRatingCurrency(scope, customer.id);
    let amount = given;
    let fx: repo.Grant['fx'] = null;
    if (currency !== customer.currency) {
      const found = (await findConversions(scope, customer.currency, currency, [now], 'issue')).get(now.getTime())!;
      if (!found.ok) {
        throw precondition(
          'fx_rate_missing',
          `No ${customer.currency}/${currency} rate for ${now.toISOString()}: the grant, given in ${customer.currency}, is held in ${currency} (the customer's price books' currency)`,
          [
            {
              field: input.credits ? 'credits' : 'amount',
              reason: `no ${customer.currency}->${currency} rate, direct, inverse or through EUR, in force now`,
            },
          ],
        );
      }
      amount = convertNano(given, found.conversion.rate);
      fx = { ...found.conversion, amount_given: formatMoney(given) };
      if (amount === 0n)
        throw invalid('grant_worth_nothing', `The grant is worth less than a nano-unit of ${currency}`, [
          { field: input.credits ? 'credits.amount' : 'amount', reason: 'rounds to 0 once converted' },
        ]);
    }
    if (amount >= 2n ** 63n)
      throw invalid('grant_too_large', 'The credits are worth more than an amount can hold', [
        { field: 'credits.amount', reason: 'amount x rate is too large' },
      ]);
    const grant: repo.Grant = {
      id: crypto.randomUUID(),
      customerId: customer.id,
      kind: input.kind,
      name: input.name ?? null,
      reason: input.reason ?? null,
      currency,
      amount: formatMoney(amount),
      balance: formatMoney(amount),
      priority: input.priority,
      effectiveAt: input.effective_at ? new Date(input.effective_at) : null,
      expiresAt: input.expires_at ? new Date(input.expires_at) : null,
      expiryNoticeDays: input.expiry_notice_days ?? null,
      credits: input.credits
        ? { amount: formatMoney(toNano(input.credits.amount)), rate: formatMoney(toNano(input.credits.rate)) }
        : null,
      fx,
      scopeCards: input.scope?.cards ?? null,
      scopeEventTypes: eventTypes.size > 0 ? [...eventTypes] : null,
      scopeMeters: input.scope?.meters ?? null,
      status: 'active',
      createdAt: now,
      createdBy: `${actor.type}:${actor.id}`,
      endedAt: null,
    };
    await repo.insertGrant(scope, grant);
    const posting: Posting = {
      kind: 'grant_issued',
      customerId: customer.id,
      currency: grant.currency,
      reference: grant.id,
      description: `${grant.kind} credit${grant.name ? `: ${grant.name}` : ''}`,
      occurredAt: now,
      lines: [
        { account: fundingAccount(grant.kind, grant.currency), amount },
        { account: accounts.grant(grant.id, grant.currency, customer.id), amount: -amount },
      ],
    };
    await postTransactions(scope, [posting], now);
    const result = toApiGrant(grant, externalId);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'credit_grant.created',
      entityType: 'credit_grant',
      entityId: grant.id,
      after: result,
    });
    return result;
  });
}

/** Ends a grant now; what is left goes back to where it came from (a refund of prepaid credit, a reversed expense). */
export async function voidGrant(
  deps: Deps,
  actor: Actor,
  externalId: string,
  grantId: string,
  input: VoidGrantInput,
): Promise<ApiSchemas['CreditGrant']> {
  requirePermission(actor, 'credits.write');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customer = await requireCustomer(scope, externalId);
    // Locked like rating locks it: a void and a drawdown of the same grant happen one after the other.
    const grant = await repo.findGrant(scope, customer.id, grantId, { lock: true });
    if (!grant) throw notFound('credit_grant_not_found', `No credit grant "${grantId}" for customer "${externalId}"`);
    if (grant.status !== 'active') throw conflict('credit_grant_ended', `The grant is already ${grant.status}`);
    const remaining = toNano(grant.balance);
    await repo.endGrant(scope, grant.id, 'voided', now);
    await postTransactions(
      scope,
      remaining === 0n
        ? []
        : [
            {
              kind: 'grant_voided',
              customerId: customer.id,
              currency: grant.currency,
              reference: grant.id,
              description: input.reason ? `voided: ${input.reason}` : 'voided',
              occurredAt: now,
              lines: [
                { account: accounts.grant(grant.id, grant.currency, customer.id), amount: remaining },
                { account: fundingAccount(grant.kind, grant.currency), amount: -remaining },
              ],
            },
          ],
      now,
    );
    const result = toApiGrant({ ...grant, status: 'voided', balance: formatMoney(0n), endedAt: now }, externalId);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'credit_grant.voided',
      entityType: 'credit_grant',
      entityId: grant.id,
      before: toApiGrant(grant, externalId),
      after: { ...result, void_reason: input.reason ?? null },
    });
    return result;
  });
}

/**
 * Ends a grant whose expiry has passed (the expiry job). What is left lapses: unused prepaid credit is breakage
 * revenue, unused free credit reverses its expense. The kernel already stopped drawing it at `expires_at`.
 * Idempotent.
 */
export async function expireGrant(deps: Deps, tenantId: string, grantId: string): Promise<'expired' | 'skipped'> {
  const now = deps.clock.now();
  return withTenant(deps.db, tenantId, async (tx) => {
    const scope = { db: tx, tenantId };
    const grant = await repo.findGrantById(scope, grantId, { lock: true });
    if (!grant || grant.status !== 'active' || !grant.expiresAt || grant.expiresAt.getTime() > now.getTime())
      return 'skipped';
    const remaining = toNano(grant.balance);
    await repo.endGrant(scope, grant.id, 'expired', now);
    await postTransactions(
      scope,
      remaining === 0n
        ? []
        : [
            {
              kind: 'grant_expired',
              customerId: grant.customerId,
              currency: grant.currency,
              reference: grant.id,
              description: `expired at ${grant.expiresAt.toISOString()}`,
              occurredAt: grant.expiresAt,
              lines: [
                { account: accounts.grant(grant.id, grant.currency, grant.customerId), amount: remaining },
                {
                  account:
                    grant.kind === 'prepaid'
                      ? accounts.revenue('breakage', grant.currency)
                      : fundingAccount(grant.kind, grant.currency),
                  amount: -remaining,
                },
              ],
            },
          ],
      now,
    );
    await recordChange(tx, deps.clock, 'system', tenantId, {
      action: 'credit_grant.expired',
      entityType: 'credit_grant',
      entityId: grant.id,
      after: { lapsed: formatMoney(remaining) },
    });
    const customer = await customersRepo.findCustomerById(scope, grant.customerId);
    await notify.recordOnce(scope, {
      id: crypto.randomUUID(),
      type: 'credit_grant.expired',
      customerId: grant.customerId,
      subjectId: grant.id,
      payload: {
        grant_id: grant.id,
        customer_id: customer?.externalId ?? null,
        kind: grant.kind,
        name: grant.name,
        currency: grant.currency,
        amount: formatMoney(toNano(grant.amount)),
        lapsed: formatMoney(remaining),
        expires_at: grant.expiresAt.toISOString(),
      },
      createdAt: now,
    });
    return 'expired';
  });
}

/**
 * Advance notice of expiry (the notice job): records one credit_grant.expiring notification for an active grant
 * with credit left once its notice period (the grant's days, else the tenant's, else 7) has begun. Once per
 * grant (the notification's unique subject); skipped when the grant ended, was used up or already expired.
 */
export async function notifyGrantExpiry(
  deps: Deps,
  tenantId: string,
  grantId: string,
): Promise<'notified' | 'skipped'> {
  const now = deps.clock.now();
  return withTenant(deps.db, tenantId, async (tx) => {
    const scope = { db: tx, tenantId };
    const grant = await repo.findGrantById(scope, grantId, { lock: true });
    if (!grant || grant.status !== 'active' || !grant.expiresAt || grant.expiresAt.getTime() <= now.getTime())
      return 'skipped';
    const balance = toNano(grant.balance);
    if (balance === 0n) return 'skipped';
    const noticeDays = grant.expiryNoticeDays ?? (await repo.findExpiryNoticeDays(scope));
    if (grant.expiresAt.getTime() - noticeDays * 86_400_000 > now.getTime()) return 'skipped';
    const customer = await customersRepo.findCustomerById(scope, grant.customerId);
    const recorded = await notify.recordOnce(scope, {
      id: crypto.randomUUID(),
      type: 'credit_grant.expiring',
      customerId: grant.customerId,
      subjectId: grant.id,
      payload: {
        grant_id: grant.id,
        customer_id: customer?.externalId ?? null,
        kind: grant.kind,
        name: grant.name,
        currency: grant.currency,
        balance: formatMoney(balance),
        expires_at: grant.expiresAt.toISOString(),
        notice_days: noticeDays,
      },
      createdAt: now,
    });
    return recorded ? 'notified' : 'skipped';
  });
}

function billingSettingsOf(settings: repo.BillingSettings): ApiSchemas['BillingSettings'] {
  return { credit_expiry_notice_days: settings.creditExpiryNoticeDays, invoice_emails: settings.invoiceEmails };
}

export async function getBillingSettings(deps: Deps, actor: Actor): Promise<ApiSchemas['BillingSettings']> {
  requirePermission(actor, 'billing.read');
  requireTenantWide(actor, "read the tenant's billing settings");
  const settings = await withTenant(deps.db, actor.tenantId, (tx) =>
    repo.findBillingSettings({ db: tx, tenantId: actor.tenantId }),
  );
  return billingSettingsOf(settings);
}

/** Changes what the input names and keeps the rest. */
export async function updateBillingSettings(
  deps: Deps,
  actor: Actor,
  input: UpdateBillingSettingsInput,
): Promise<ApiSchemas['BillingSettings']> {
  requirePermission(actor, 'credits.write');
  requireTenantWide(actor, "change the tenant's billing settings");
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const before = await repo.findBillingSettings(scope);
    const after = {
      creditExpiryNoticeDays: input.credit_expiry_notice_days ?? before.creditExpiryNoticeDays,
      invoiceEmails: input.invoice_emails ?? before.invoiceEmails,
    };
    await repo.upsertBillingSettings(scope, after, now);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'billing_settings.updated',
      entityType: 'tenant',
      entityId: actor.tenantId,
      before: billingSettingsOf(before),
      after: billingSettingsOf(after),
    });
    return billingSettingsOf(after);
  });
}

export async function listGrants(
  deps: Deps,
  actor: Actor,
  externalId: string,
  input: ListGrantsInput,
): Promise<ApiSchemas['CreditGrantList']> {
  requirePermission(actor, 'billing.read');
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customer = await requireCustomer(scope, externalId);
    const grants = await repo.listGrants(scope, customer.id, input.status);
    return { data: grants.map((g) => toApiGrant(g, externalId)) };
  });
}

/** The customer's credit now: the policy, the balance in force (what the next event could draw) and the active grants. */
export async function getWallet(deps: Deps, actor: Actor, externalId: string): Promise<ApiSchemas['Wallet']> {
  requirePermission(actor, 'billing.read');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) =>
    readWallet({ db: tx, tenantId: actor.tenantId }, externalId, now),
  );
}

export async function updateWallet(
  deps: Deps,
  actor: Actor,
  externalId: string,
  input: UpdateWalletInput,
): Promise<ApiSchemas['Wallet']> {
  requirePermission(actor, 'credits.write');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customer = await requireCustomer(scope, externalId);
    const before = await repo.findWalletSettings(scope, customer.id);
    const after: repo.WalletSettings = {
      onDepletion: input.on_depletion ?? before.onDepletion,
      lowBalanceThreshold:
        input.low_balance_threshold === undefined
          ? before.lowBalanceThreshold
          : input.low_balance_threshold === null
            ? null
            : formatMoney(toNano(input.low_balance_threshold)),
    };
    await repo.upsertWalletSettings(scope, customer.id, after, now);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'wallet.updated',
      entityType: 'customer',
      entityId: customer.id,
      before: { on_depletion: before.onDepletion, low_balance_threshold: before.lowBalanceThreshold },
      after: { on_depletion: after.onDepletion, low_balance_threshold: after.lowBalanceThreshold },
    });
    return readWallet(scope, externalId, now);
  });
}

async function readWallet(scope: TenantScope, externalId: string, now: Date): Promise<ApiSchemas['Wallet']> {
  const customer = await requireCustomer(scope, externalId);
  const [settings, grants, held, currency] = await Promise.all([
    repo.findWalletSettings(scope, customer.id),
    repo.listGrants(scope, customer.id, 'active'),
    holdsRepo.sumOpenHolds(scope, customer.id, now),
    customersRepo.findRatingCurrency(scope, customer.id),
  ]);
  const inForce = grants.filter((g) => grantInForce(g, now) && g.currency === currency);
  const balance = inForce.reduce((sum, g) => sum + toNano(g.balance), 0n);
  return {
    customer_id: externalId,
    currency,
    on_depletion: settings.onDepletion,
    low_balance_threshold:
      settings.lowBalanceThreshold === null ? null : formatMoney(toNano(settings.lowBalanceThreshold)),
    balance: formatMoney(balance),
    held: formatMoney(toNano(held)),
    available_balance: formatMoney(balance - toNano(held)),
    as_of: now.toISOString(),
    grants: grants.map((g) => toApiGrant(g, externalId)),
  };
}

export function toApiGrant(grant: repo.Grant, customerExternalId: string): ApiSchemas['CreditGrant'] {
  const scoped = grant.scopeCards || grant.scopeEventTypes || grant.scopeMeters;
  return {
    id: grant.id,
    customer_id: customerExternalId,
    kind: grant.kind,
    name: grant.name,
    reason: grant.reason,
    currency: grant.currency,
    fx: grant.fx,
    amount: formatMoney(toNano(grant.amount)),
    balance: formatMoney(toNano(grant.balance)),
    priority: grant.priority,
    effective_at: grant.effectiveAt?.toISOString() ?? null,
    expires_at: grant.expiresAt?.toISOString() ?? null,
    expiry_notice_days: grant.expiryNoticeDays,
    credits: grant.credits
      ? {
          amount: formatMoney(toNano(grant.credits.amount)),
          rate: formatMoney(toNano(grant.credits.rate)),
          balance: formatMoney(nanoToCredits(toNano(grant.balance), toNano(grant.credits.rate))),
        }
      : null,
    scope: scoped ? { cards: grant.scopeCards, event_types: grant.scopeEventTypes, meters: grant.scopeMeters } : null,
    status: grant.status,
    created_at: grant.createdAt.toISOString(),
    created_by: grant.createdBy,
    ended_at: grant.endedAt?.toISOString() ?? null,
  };
}
