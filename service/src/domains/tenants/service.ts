// Signup, login and sessions for the dashboard; the users of a tenant and their roles.
import crypto from 'node:crypto';
import type { Actor } from '../../platform/auth.ts';
import { outranks, requirePermission, unauthenticated } from '../../platform/auth.ts';
import { generateToken, hashPassword, hashToken, verifyPassword } from '../../platform/crypto.ts';
import { withTenant, type Tx } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError, forbidden, invalid, notFound, precondition } from '../../platform/errors.ts';
import { recordChange } from '../audit/service.ts';
import * as repo from './repo.ts';
import type { ChangeUserRoleInput, CreateUserInput, LoginInput, SignupInput } from './schema.ts';

export interface IssuedSession {
  token: string;
  expiresAt: Date;
}

/** Creates a tenant, its owner and a first session, all in one transaction. */
export async function signUp(deps: Deps, input: SignupInput, requestId?: string) {
  const tenantId = crypto.randomUUID();
  const userId = crypto.randomUUID();
  const passwordHash = await hashPassword(input.password);
  const now = deps.clock.now();
  return withTenant(deps.db, tenantId, async (tx) => {
    const scope = { db: tx, tenantId };
    const tenant = await repo.insertTenant(scope, { name: input.tenant_name, createdAt: now });
    const user = await repo.insertUser(scope, { id: userId, email: input.email, name: input.name, passwordHash, role: 'owner', createdAt: now });
    const actor: Actor = { tenantId, type: 'user', id: userId, principal: 'owner', requestId };
    await recordChange(tx, deps.clock, actor, tenantId, { action: 'tenant.created', entityType: 'tenant', entityId: tenantId, after: toApiTenant(tenant) });
    await recordChange(tx, deps.clock, actor, tenantId, { action: 'user.created', entityType: 'user', entityId: userId, after: toApiUser(user) });
    const session = await openSession(deps, tx, actor);
    return { tenant: toApiTenant(tenant), user: toApiUser(user), session };
  });
}

// Verifying against a real hash when the email is unknown keeps "no such user" as slow as "wrong password".
const decoyHash = hashPassword(crypto.randomBytes(16).toString('hex'));

export async function logIn(deps: Deps, input: LoginInput, requestId?: string) {
  const candidates = await repo.findLoginCandidates(deps.db, input.email);
  const inTenant = input.tenant_id ? candidates.filter((c) => c.tenantId === input.tenant_id) : candidates;
  if (inTenant.length > 1) {
    throw invalid('tenant_required', 'This email belongs to several tenants: say which one', [
      { field: 'tenant_id', reason: 'required when the email belongs to several tenants' },
    ]);
  }
  const candidate = inTenant[0];
  const matches = await verifyPassword(input.password, candidate?.passwordHash ?? (await decoyHash));
  if (!candidate || !matches) throw new AppError('unauthenticated', 'invalid_credentials', 'Wrong email or password');
  const actor: Actor = { tenantId: candidate.tenantId, type: 'user', id: candidate.userId, principal: candidate.role, requestId };
  return withTenant(deps.db, candidate.tenantId, async (tx) => {
    const session = await openSession(deps, tx, actor);
    return { tenant_id: candidate.tenantId, user_id: candidate.userId, session };
  });
}

async function openSession(deps: Deps, tx: Tx, actor: Actor): Promise<IssuedSession> {
  const token = generateToken('ses');
  const now = deps.clock.now();
  const expiresAt = new Date(now.getTime() + deps.sessionTtlSeconds * 1000);
  const sessionId = crypto.randomUUID();
  await repo.insertSession({ db: tx, tenantId: actor.tenantId }, { id: sessionId, userId: actor.id, tokenHash: hashToken(token), createdAt: now, expiresAt });
  await recordChange(tx, deps.clock, actor, actor.tenantId, {
    action: 'session.created',
    entityType: 'session',
    entityId: sessionId,
    after: { user_id: actor.id, expires_at: expiresAt.toISOString() },
  });
  return { token, expiresAt };
}

export interface SessionActor extends Actor {
  sessionId: string;
}

/** The actor behind a session token, or undefined when the token is unknown, expired or revoked. */
export async function authenticateSession(deps: Pick<Deps, 'db' | 'clock'>, token: string): Promise<SessionActor | undefined> {
  const identity = await repo.findSessionByTokenHash(deps.db, hashToken(token), deps.clock.now());
  if (!identity) return undefined;
  return { tenantId: identity.tenantId, type: 'user', id: identity.userId, principal: identity.role, sessionId: identity.sessionId };
}

export async function logOut(deps: Deps, actor: Actor, token: string | undefined): Promise<void> {
  if (!token) throw unauthenticated('No session to end');
  const session = await authenticateSession(deps, token);
  if (!session || session.tenantId !== actor.tenantId) throw unauthenticated('No session to end');
  await withTenant(deps.db, actor.tenantId, async (tx) => {
    await repo.revokeSession({ db: tx, tenantId: actor.tenantId }, session.sessionId, deps.clock.now());
    await recordChange(tx, deps.clock, actor, actor.tenantId, { action: 'session.revoked', entityType: 'session', entityId: session.sessionId });
  });
}

export async function getCurrentUser(deps: Deps, actor: Actor) {
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const tenant = await repo.findTenant(scope);
    if (!tenant) throw notFound('tenant_not_found', 'Tenant not found');
    if (actor.type !== 'user') return { tenant: toApiTenant(tenant), user: null, principal: actor.principal };
    const user = await repo.findUser(scope, actor.id);
    return { tenant: toApiTenant(tenant), user: user ? toApiUser(user) : null, principal: actor.principal };
  });
}

export async function listUsers(deps: Deps, actor: Actor) {
  requirePermission(actor, 'users.manage');
  const users = await withTenant(deps.db, actor.tenantId, (tx) => repo.listUsers({ db: tx, tenantId: actor.tenantId }));
  return users.map(toApiUser);
}

export async function createUser(deps: Deps, actor: Actor, input: CreateUserInput) {
  requirePermission(actor, 'users.manage');
  if (!outranks(actor.principal, input.role)) throw forbidden('role_too_high', `A ${actor.principal} cannot grant the ${input.role} role`);
  const passwordHash = await hashPassword(input.password);
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const user = await repo.insertUser(
      { db: tx, tenantId: actor.tenantId },
      { id: crypto.randomUUID(), email: input.email, name: input.name, passwordHash, role: input.role, createdAt: deps.clock.now() },
    );
    await recordChange(tx, deps.clock, actor, actor.tenantId, { action: 'user.created', entityType: 'user', entityId: user.id, after: toApiUser(user) });
    return toApiUser(user);
  });
}

export async function changeUserRole(deps: Deps, actor: Actor, input: ChangeUserRoleInput) {
  requirePermission(actor, 'users.manage');
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const before = await repo.findUser(scope, input.user_id);
    if (!before) throw notFound('user_not_found', 'No such user');
    if (!outranks(actor.principal, input.role) || !outranks(actor.principal, before.role)) {
      throw forbidden('role_too_high', `A ${actor.principal} cannot change a ${before.role} to ${input.role}`);
    }
    const after = await repo.updateUserRole(scope, input.user_id, input.role);
    if (before.role === 'owner' && input.role !== 'owner' && (await repo.countOwners(scope)) === 0) {
      throw precondition('last_owner', 'A tenant keeps at least one owner');
    }
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'user.role_changed',
      entityType: 'user',
      entityId: input.user_id,
      before: toApiUser(before),
      after: toApiUser(after!),
    });
    return toApiUser(after!);
  });
}

export function toApiTenant(tenant: repo.Tenant) {
  return { id: tenant.id, name: tenant.name, created_at: tenant.createdAt.toISOString() };
}

export function toApiUser(user: repo.User) {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    created_at: user.createdAt.toISOString(),
    disabled_at: user.disabledAt?.toISOString() ?? null,
  };
}
