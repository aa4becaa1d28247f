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
}

export function can(actor: Actor, permission: Permission): boolean {
  return permissionsByPrincipal[actor.principal].has(permission);
}

export function requirePermission(actor: Actor, permission: Permission): void {
  if (!can(actor, permission)) {
    throw forbidden(
      'permission_denied',
      `This ${actor.type === 'user' ? 'user' : 'key'} (${actor.principal}) may not ${permission}`,
    );
  }
}

/** Roles rank owner > admin > billing > viewer; nobody grants a role above their own. */
export function outranks(granter: Principal, granted: Role): boolean {
  if (granter === 'publishable' || granter === 'portal') return false;
  return roles.indexOf(granter) <= roles.indexOf(granted);
}

export const unauthenticated = (message: string) => new AppError('unauthenticated', 'unauthenticated', message);
