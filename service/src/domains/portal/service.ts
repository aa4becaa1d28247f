// The customer portal: a signed, expiring link (or a longer-lived embed token) for one customer, and the reads
// it allows: usage and spend against budget this period, balance and credits, invoices, under the tenant's or
// the reseller's brand. The token is HS256 over the tenant's signing key (quotes/signing.ts) and states the
// tenant and the customer; nothing in a portal call names a customer, so a token reaches its own customer only.
import type { Actor } from '../../platform/auth.ts';
import { requirePermission, unauthenticated } from '../../platform/auth.ts';
import { withTenant, type TenantScope } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { invalid, notFound, precondition } from '../../platform/errors.ts';
import { recordChange } from '../audit/service.ts';
import * as customersRepo from '../customers/repo.ts';
import { requireCustomer } from '../customers/service.ts';
import { getUsage } from '../events/usage.ts';
import * as insightsRepo from '../insights/repo.ts';
import { getUsageSeries, summaryOf } from '../insights/service.ts';
import type { UsageSeriesInput } from '../insights/schema.ts';
import { getInvoice, listInvoices } from '../invoices/service.ts';
import { currentSigningKey, signingKeyById } from '../quotes/signing.ts';
import { epochSeconds, signToken, tokenKeyId, tokenTenantId, verifyToken } from '../quotes/tokens.ts';
import * as tenantsRepo from '../tenants/repo.ts';
import { getWallet } from '../wallets/service.ts';
import { getCustomerPayment, isStripeConnected, setupLinkFor } from '../payments/service.ts';
import * as repo from './repo.ts';
import * as brands from '../brands/service.ts';
import type { ResellerBrandBody } from '@tariff/openapi/schemas/brands';
import type { CreateEmbedTokenInput, CreatePortalLinkInput, SetBrandInput } from '@tariff/openapi/schemas/portal';

export type PortalUse = 'link' | 'embed';

/** Who a portal call is for: the token's tenant and customer. */
export interface PortalAccess {
  tenantId: string;
  customerId: string;
  externalId: string;
  use: PortalUse;
  expiresAt: Date;
}

async function issue(deps: Deps, actor: Actor, externalId: string, use: PortalUse, expiresIn: number) {
  requirePermission(actor, 'customers.write');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customer = await requireCustomer(scope, externalId);
    const key = await currentSigningKey(scope, now);
    const expiresAt = new Date((epochSeconds(now) + expiresIn) * 1000);
    const token = signToken(key, {
      typ: 'tariff.portal',
      tid: actor.tenantId,
      cid: customer.id,
      use,
      iat: epochSeconds(now),
      exp: epochSeconds(expiresAt),
    });
    // Who opened access to which customer until when; never the token itself.
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: use === 'link' ? 'portal_link.created' : 'portal_embed_token.created',
      entityType: 'customer',
      entityId: customer.id,
      after: { customer_id: customer.externalId, expires_at: expiresAt.toISOString() },
    });
    return { token, expiresAt, customer };
  });
}

export async function createPortalLink(deps: Deps, actor: Actor, input: CreatePortalLinkInput) {
  const { token, expiresAt, customer } = await issue(deps, actor, input.customer_id, 'link', input.expires_in);
  // In the fragment: a browser sends it to no server (no access log, no Referer); the portal page reads it.
  return {
    customer_id: customer.externalId,
    url: `${deps.publicUrl ?? ''}/portal#token=${token}`,
    token,
    expires_at: expiresAt.toISOString(),
  };
}

export async function createEmbedToken(deps: Deps, actor: Actor, input: CreateEmbedTokenInput) {
  const { token, expiresAt, customer } = await issue(deps, actor, input.customer_id, 'embed', input.expires_in);
  return { customer_id: customer.externalId, token, expires_at: expiresAt.toISOString() };
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The access a portal token grants, or an unauthenticated error (which says no more than that). */
export async function authenticatePortal(deps: Deps, token: string): Promise<PortalAccess> {
  const refused = unauthenticated('The portal link is invalid or has expired');
  const tenantId = tokenTenantId(token);
  if (tenantId === undefined || !uuid.test(tenantId) || tokenKeyId(token) === undefined) throw refused;
  const now = deps.clock.now();
  return withTenant(deps.db, tenantId, async (tx) => {
    const scope = { db: tx, tenantId };
    const checked = verifyToken(token, await signingKeyById(scope, tokenKeyId(token)!), {
      typ: 'tariff.portal',
      tenantId,
      now,
    });
    if (!checked.ok) throw refused;
    const { cid, use } = checked.claims;
    if (typeof cid !== 'string' || !uuid.test(cid) || (use !== 'link' && use !== 'embed')) throw refused;
    const customer = await customersRepo.findCustomerById(scope, cid);
    if (!customer) throw refused;
    return {
      tenantId,
      customerId: customer.id,
      externalId: customer.externalId,
      use,
      expiresAt: new Date(checked.claims.exp * 1000),
    };
  });
}

/** The services' reads, as the portal's customer: usage and billing reads, nothing else (auth.ts's 'portal'). */
function actorOf(access: PortalAccess, requestId?: string): Actor {
  return { tenantId: access.tenantId, type: 'portal', id: access.customerId, principal: 'portal', requestId };
}

export interface PortalBrand {
  /** Whose brand: the tenant's, or the customer's reseller's. */
  owner: 'tenant' | 'reseller';
  name: string;
  logo_url: string | null;
  accent_color: string | null;
}

/** The nearest reseller ancestor's brand, else the tenant's, else the tenant's name. */
async function brandFor(scope: TenantScope, customerId: string): Promise<PortalBrand> {
  const resellers = (await insightsRepo.listAncestors(scope, customerId)).filter((a) => a.isReseller);
  const brands = await repo.findBrands(scope, [...resellers.map((r) => r.id), null]);
  const tenant = (await tenantsRepo.findTenant(scope))!;
  for (const reseller of resellers) {
    const brand = brands.find((b) => b.customerId === reseller.id);
    if (brand)
      return {
        owner: 'reseller',
        name: brand.displayName ?? reseller.name ?? reseller.externalId,
        logo_url: brand.logoUrl,
        accent_color: brand.accentColor,
      };
  }
  const own = brands.find((b) => b.customerId === null);
  return {
    owner: 'tenant',
    name: own?.displayName ?? tenant.name,
    logo_url: own?.logoUrl ?? null,
    accent_color: own?.accentColor ?? null,
  };
}

/** The portal's first screen: brand, who, this period's spend against budget, credits. */
export async function getPortalSummary(deps: Deps, access: PortalAccess) {
  const now = deps.clock.now();
  return withTenant(deps.db, access.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: access.tenantId };
    const customer = (await customersRepo.findCustomerById(scope, access.customerId))!;
    const summary = await summaryOf(scope, customer, now);
    return {
      brand: await brandFor(scope, customer.id),
      // Invoices are in `currency`; spend, budget and usage in `rating_currency` (they differ when invoices convert).
      customer: {
        external_id: customer.externalId,
        name: customer.name,
        currency: customer.currency,
        rating_currency: summary.rating_currency,
      },
      period: summary.period,
      spend: summary.spend,
      budget: summary.budget,
      credits: summary.credits,
      access: { use: access.use, expires_at: access.expiresAt.toISOString() },
    };
  });
}

export const getPortalUsage = (deps: Deps, access: PortalAccess, requestId?: string) =>
  getUsage(deps, actorOf(access, requestId), access.externalId, {});

export const getPortalUsageSeries = (
  deps: Deps,
  access: PortalAccess,
  input: Omit<UsageSeriesInput, 'customer_id'>,
  requestId?: string,
) => getUsageSeries(deps, actorOf(access, requestId), { ...input, customer_id: access.externalId });

export const getPortalCredits = (deps: Deps, access: PortalAccess, requestId?: string) =>
  getWallet(deps, actorOf(access, requestId), access.externalId);

export const listPortalInvoices = (
  deps: Deps,
  access: PortalAccess,
  input: { limit: number; starting_after?: string },
  requestId?: string,
) =>
  listInvoices(deps, actorOf(access, requestId), {
    customer_id: access.externalId,
    limit: input.limit,
    starting_after: input.starting_after,
  });

/** One of the customer's invoices; another customer's is as absent as a missing one. */
export async function getPortalInvoice(deps: Deps, access: PortalAccess, invoiceId: string, requestId?: string) {
  const invoice = await getInvoice(deps, actorOf(access, requestId), invoiceId).catch((error) => {
    if (error?.kind === 'not_found') throw notFound('invoice_not_found', `No invoice "${invoiceId}"`);
    throw error;
  });
  if (invoice.customer_id !== access.externalId) throw notFound('invoice_not_found', `No invoice "${invoiceId}"`);
  return invoice;
}

/** The customer's payment method, and whether the tenant collects through Stripe (then a card can be saved). */
export async function getPortalPayment(deps: Deps, access: PortalAccess, requestId?: string) {
  const payment = await getCustomerPayment(deps, actorOf(access, requestId), access.externalId);
  return {
    stripe_connected: await isStripeConnected(deps, access.tenantId),
    default_payment_method: payment.default_payment_method,
    payment_method_set_at: payment.payment_method_set_at,
    card: payment.card,
    blocked: payment.blocked,
  };
}

/** Stripe's hosted page (Checkout in setup mode) where the portal's own customer saves a card. */
export async function createPortalSetupLink(deps: Deps, access: PortalAccess, requestId?: string) {
  const link = await setupLinkFor(deps, actorOf(access, requestId), access.externalId, {});
  return { url: link.url, expires_at: link.expires_at };
}

// ---- brand settings (dashboard) ----

export async function setBrand(deps: Deps, actor: Actor, input: SetBrandInput) {
  requirePermission(actor, 'customers.write');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    if (input.customer_id === undefined && actor.subtreeRootId)
      throw invalid('customer_required', "A reseller-scoped caller sets its resellers' brands, not the tenant's", [
        { field: 'customer_id', reason: 'required for a reseller-scoped caller' },
      ]);
    const owner = input.customer_id === undefined ? undefined : await requireCustomer(scope, input.customer_id);
    if (owner && !owner.isReseller) {
      throw precondition(
        'not_a_reseller',
        `Customer "${owner.externalId}" is not a reseller: only a reseller's end users see its brand`,
        [{ field: 'customer_id', reason: 'is not a reseller' }],
      );
    }
    const [current] = await repo.findBrands(scope, [owner?.id ?? null]);
    const next: repo.Brand = {
      customerId: owner?.id ?? null,
      displayName: input.display_name === undefined ? (current?.displayName ?? null) : input.display_name,
      logoUrl: input.logo_url === undefined ? (current?.logoUrl ?? null) : input.logo_url,
      accentColor: input.accent_color === undefined ? (current?.accentColor ?? null) : input.accent_color,
      updatedAt: now,
    };
    await repo.upsertBrand(scope, next);
    const after = toApiBrand(next, owner?.externalId ?? null);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'portal_brand.updated',
      entityType: 'portal_brand',
      entityId: owner?.id ?? actor.tenantId,
      before: current ? toApiBrand(current, owner?.externalId ?? null) : null,
      after,
    });
    return after;
  });
}

export async function getBrand(deps: Deps, actor: Actor, customerId: string | undefined) {
  requirePermission(actor, 'customers.read');
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const owner = customerId === undefined ? undefined : await requireCustomer(scope, customerId);
    const [brand] = await repo.findBrands(scope, [owner?.id ?? null]);
    return brand
      ? toApiBrand(brand, owner?.externalId ?? null)
      : {
          customer_id: owner?.externalId ?? null,
          display_name: null,
          logo_url: null,
          accent_color: null,
          updated_at: null,
        };
  });
}

function toApiBrand(brand: repo.Brand, customerExternalId: string | null) {
  return {
    customer_id: customerExternalId,
    display_name: brand.displayName,
    logo_url: brand.logoUrl,
    accent_color: brand.accentColor,
    updated_at: brand.updatedAt.toISOString() as string | null,
  };
}

// ---- a reseller's whole brand (REST /v1/customers/:id/brand): the portal's look plus its seller profile ----

async function requireReseller(scope: TenantScope, externalId: string) {
  const owner = await requireCustomer(scope, externalId);
  if (!owner.isReseller)
    throw precondition(
      'not_a_reseller',
      `Customer "${owner.externalId}" is not a reseller: only a reseller has a brand for its children`,
      [{ field: 'id', reason: 'is not a reseller' }],
    );
  return owner;
}

function toApiResellerBrand(
  externalId: string,
  look: repo.Brand | undefined,
  profile: brands.IssuerProfile | undefined,
  logo: brands.LogoRef | null,
) {
  const updated = [look?.updatedAt, profile?.updatedAt].filter((d): d is Date => d !== undefined);
  return {
    customer_id: externalId,
    display_name: look?.displayName ?? null,
    logo_url: look?.logoUrl ?? null,
    accent_color: look?.accentColor ?? null,
    legal_name: profile?.legalName ?? null,
    address: profile?.address ?? null,
    country: profile?.country ?? null,
    region: profile?.region ?? null,
    tax_ids: profile?.taxIds ?? [],
    tax_registrations: (profile?.taxRegistrations ?? []).map((r) => ({
      jurisdiction: r.jurisdiction,
      tax_id: r.taxId,
    })),
    prices_include_tax: profile?.pricesIncludeTax ?? false,
    logo,
    invoice_prefix: profile?.invoicePrefix ?? brands.defaultInvoicePrefix,
    currency: profile?.currency ?? null,
    reply_to: profile?.replyTo ?? null,
    stripe_account: profile?.stripeAccount ?? null,
    updated_at: updated.length === 0 ? null : new Date(Math.max(...updated.map((d) => d.getTime()))).toISOString(),
  };
}

/** Sets a reseller's brand: absent fields stay, null clears. */
export async function setResellerBrand(deps: Deps, actor: Actor, externalId: string, input: ResellerBrandBody) {
  requirePermission(actor, 'customers.write');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const owner = await requireReseller(scope, externalId);
    const [look] = await repo.findBrands(scope, [owner.id]);
    const lookChanged =
      input.display_name !== undefined || input.logo_url !== undefined || input.accent_color !== undefined;
    const nextLook: repo.Brand | undefined =
      lookChanged || look
        ? {
            customerId: owner.id,
            displayName: input.display_name === undefined ? (look?.displayName ?? null) : input.display_name,
            logoUrl: input.logo_url === undefined ? (look?.logoUrl ?? null) : input.logo_url,
            accentColor: input.accent_color === undefined ? (look?.accentColor ?? null) : input.accent_color,
            updatedAt: lookChanged ? now : look!.updatedAt,
          }
        : undefined;
    if (lookChanged) await repo.upsertBrand(scope, nextLook!);
    const profile = await brands.saveResellerProfile(scope, owner.id, input, now);
    const before =
      look || profile.before
        ? toApiResellerBrand(
            owner.externalId,
            look,
            profile.before,
            await brands.findLogoRef(scope, profile.before?.logoDigest ?? null),
          )
        : null;
    const after = toApiResellerBrand(owner.externalId, nextLook, profile.after, profile.logo);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'reseller_brand.updated',
      entityType: 'customer',
      entityId: owner.id,
      before,
      after,
    });
    return after;
  });
}

export async function getResellerBrand(deps: Deps, actor: Actor, externalId: string) {
  requirePermission(actor, 'customers.read');
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const owner = await requireReseller(scope, externalId);
    const [look] = await repo.findBrands(scope, [owner.id]);
    const profile = await brands.findResellerProfile(scope, owner.id);
    return toApiResellerBrand(
      owner.externalId,
      look,
      profile,
      await brands.findLogoRef(scope, profile?.logoDigest ?? null),
    );
  });
}

/** A reseller's stored logo as the dashboard previews it (a data: URL of the very bytes its invoices print); null: none. */
export async function getResellerLogo(deps: Deps, actor: Actor, externalId: string) {
  requirePermission(actor, 'customers.read');
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const owner = await requireReseller(scope, externalId);
    const digest = (await brands.findResellerProfile(scope, owner.id))?.logoDigest;
    const logo = digest ? await brands.findLogo(scope, digest) : undefined;
    if (!logo) return null;
    return {
      digest: logo.digest,
      media_type: logo.media_type,
      data_url: `data:${logo.media_type};base64,${logo.data.toString('base64')}`,
    };
  });
}
