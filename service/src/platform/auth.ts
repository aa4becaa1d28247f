// Who is calling (Actor) and what each role may do. Services check permissions; routers only authenticate.
import { roles } from '@tariff/openapi/schemas/tenants';
import { AppError, forbidden } from './errors.ts';

export type Role = (typeof roles)[number];
export type ApiKeyRole = Exclude<Role, 'owner'>;

export type Permission =
  | 'tenant.manage'
  | 'users.manage'
  | 'api_keys.manage'
  | 'audit.read'
  | 'customers.read'
  | 'customers.write'
  | 'meters.read'
  | 'meters.write'
  | 'price_books.read'
  | 'price_books.write'
  | 'events.write'
  | 'usage.read'
  | 'estimates.create'
  | 'billing.read'
  | 'entitlements.check'
  | 'credits.write'
  | 'budgets.write'
  | 'plans.write'
  | 'subscriptions.write'
  | 'invoices.write'
  | 'webhooks.manage'
  | 'payments.manage';

const reads: Permission[] = [
  'customers.read',
  'meters.read',
  'price_books.read',
  'usage.read',
  'estimates.create',
  'billing.read',
  'entitlements.check',
];
const billing: Permission[] = [
  ...reads,
  'customers.write',
  'meters.write',
  'price_books.write',
  'events.write',
  'audit.read',
  'credits.write',
  'budgets.write',
  'plans.write',
  'subscriptions.write',
  'invoices.write',
];
const admin: Permission[] = [...billing, 'users.manage', 'api_keys.manage', 'webhooks.manage', 'payments.manage'];

/**
 * A publishable key is embeddable in a browser or edge worker: it reads prices and estimates, nothing else. A
 * portal token (domains/portal) reads one customer's usage and billing; its procedures name that customer.
 */
export type Principal = Role | 'publishable' | 'portal';

const permissionsByPrincipal: Record<Principal, ReadonlySet<Permission>> = {
  owner: new Set([...admin, 'tenant.manage']),
  admin: new Set(admin),
  billing: new Set(billing),
  viewer: new Set(reads),
  publishable: new Set(['price_books.read', 'estimates.create']),
  portal: new Set(['usage.read', 'billing.read']),
};

export interface Actor {
  tenantId: string;
  type: 'user' | 'api_key' | 'portal';
  /** User id, API key id, or the portal's customer id. */
  id: string;
  principal: Principal;
  /** Correlates audit rows and logs with the request. */
  requestId?: string;
  /**
   * A reseller-scoped key's reseller (customer id): the actor sees and changes only that customer's subtree, and
   * every transaction it opens sets `app.subtree_root` (platform/db.ts withinSubtree, migration 080).
   */
  subtreeRootId?: string;
}

/** What a subtree actor may never do, whatever its role: the tenant's own administration. */
const tenantOnly: ReadonlySet<Permission> = new Set([
  'tenant.manage',
  'users.manage',
  'audit.read',
  'meters.write',
  'webhooks.manage',
  'payments.manage',
]);

export function can(actor: Actor, permission: Permission): boolean {
  if (actor.subtreeRootId && tenantOnly.has(permission)) return false;
  return permissionsByPrincipal[actor.principal].has(permission);
}

export function requirePermission(actor: Actor, permission: Permission): void {
  if (!can(actor, permission)) {
    throw forbidden(
      'permission_denied',
      `This ${actor.type === 'user' ? 'user' : 'key'} (${actor.principal}${actor.subtreeRootId ? ', reseller-scoped' : ''}) may not ${permission}`,
    );
  }
}

/** The tenant's own settings (tax, currency, ...): forbidden to a reseller-scoped actor whatever its role. */
export function requireTenantWide(actor: Actor, what: string): void {
  if (actor.subtreeRootId)
    throw forbidden('tenant_only', `A reseller-scoped ${actor.type === 'user' ? 'user' : 'key'} may not ${what}`);
}

/** Roles rank owner > admin > billing > viewer; nobody grants a role above their own. */
export function outranks(granter: Principal, granted: Role): boolean {
  if (granter === 'publishable' || granter === 'portal') return false;
  return roles.indexOf(granter) <= roles.indexOf(granted);
}

export const unauthenticated = (message: string) => new AppError('unauthenticated', 'unauthenticated', message);
