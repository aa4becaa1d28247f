// Signup, login and sessions for the dashboard; the users of a tenant and their roles.
import crypto from 'node:crypto';
import type { Actor } from '../../platform/auth.ts';
import { outranks, requirePermission, unauthenticated } from '../../platform/auth.ts';
import { generateToken, hashPassword, hashToken, tokenKind, verifyPassword } from '../../platform/crypto.ts';
import { withTenant, type Tx } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError, forbidden, invalid, notFound, precondition } from '../../platform/errors.ts';
import { recordChange } from '../audit/service.ts';
import { forgetTenantKeys } from '../keys/service.ts';
import { deliverEmail, enqueueEmail } from '../mail/service.ts';
import * as repo from './repo.ts';
import type {
  ChangeUserRoleInput,
  CreateUserInput,
  LoginInput,
  RequestPasswordResetInput,
  ResetPasswordInput,
  SignupInput,
} from '@tariff/openapi/schemas/tenants';

const verificationTtlSeconds = 48 * 3600;
const resetTtlSeconds = 3600;

export interface IssuedSession {
  token: string;
  expiresAt: Date;
}

/**
 * Creates a tenant, its owner and a first session, all in one transaction, and mails the owner a verification
 * link. The tenant's slug (its name at login) is the one asked for, or one derived from its name.
 */
export async function signUp(deps: Deps, input: SignupInput, requestId?: string) {
  const passwordHash = await hashPassword(input.password);
  const base = input.tenant_slug ?? slugFrom(input.tenant_name);
  for (let attempt = 0; ; attempt++) {
    // A derived slug that is taken gets a random suffix; one the caller chose is theirs or a conflict.
    const slug = attempt === 0 ? base : `${base.slice(0, 33)}-${crypto.randomBytes(3).toString('hex')}`;
    try {
      return await createTenant(deps, input, slug, passwordHash, requestId);
    } catch (error) {
      if (
        !(error instanceof AppError && error.code === 'tenant_slug_taken') ||
        input.tenant_slug !== undefined ||
        attempt >= 5
      )
        throw error;
    }
  }
}

async function createTenant(deps: Deps, input: SignupInput, slug: string, passwordHash: string, requestId?: string) {
  const tenantId = crypto.randomUUID();
  const userId = crypto.randomUUID();
  const now = deps.clock.now();
  const { result, emailId } = await withTenant(deps.db, tenantId, async (tx) => {
    const scope = { db: tx, tenantId };
    const tenant = await repo.insertTenant(scope, { name: input.tenant_name, slug, createdAt: now });
    const user = await repo.insertUser(scope, {
      id: userId,
      email: input.email,
      name: input.name,
      passwordHash,
      role: 'owner',
      createdAt: now,
    });
    const actor: Actor = { tenantId, type: 'user', id: userId, principal: 'owner', requestId };
    await recordChange(tx, deps.clock, actor, tenantId, {
      action: 'tenant.created',
      entityType: 'tenant',
      entityId: tenantId,
      after: toApiTenant(tenant),
    });
    await recordChange(tx, deps.clock, actor, tenantId, {
      action: 'user.created',
      entityType: 'user',
      entityId: userId,
      after: toApiUser(user),
    });
    const emailId = await sendVerification(deps, tx, tenant, user);
    const session = await openSession(deps, tx, actor);
    return { result: { tenant: toApiTenant(tenant), user: toApiUser(user), session }, emailId };
  });
  void deliverEmail(deps, tenantId, emailId);
  return result;
}

/** A tenant name as a slug: lowercase words joined by hyphens, at most 30 characters. */
export function slugFrom(name: string): string {
  const words = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 30)
    .replace(/^-+|-+$/g, '');
  return words.length >= 3 ? words : `tenant-${crypto.randomBytes(3).toString('hex')}`;
}

async function sendVerification(deps: Deps, tx: Tx, tenant: repo.Tenant, user: repo.User): Promise<string> {
  const token = await issueUserToken(deps, tx, tenant.id, user, 'verify_email', verificationTtlSeconds);
  return enqueueEmail(tx, deps.clock, tenant.id, {
    to: user.email,
    subject: 'Confirm your email for Tariff',
    body: [
      `Confirm ${user.email} for the Tariff tenant "${tenant.name}" (log in as ${tenant.slug}):`,
      '',
      `${publicUrl(deps)}/verify-email?token=${token}`,
      '',
      `or send the token to POST /v1/auth/verify_email: ${token}`,
      `The link works once and expires in ${verificationTtlSeconds / 3600} hours.`,
    ].join('\n'),
  });
}

async function issueUserToken(
  deps: Deps,
  tx: Tx,
  tenantId: string,
  user: repo.User,
  purpose: repo.TokenPurpose,
  ttlSeconds: number,
): Promise<string> {
  const token = generateToken(purpose === 'verify_email' ? 'vfy' : 'rst');
  const now = deps.clock.now();
  await repo.insertUserToken(
    { db: tx, tenantId },
    {
      id: crypto.randomUUID(),
      userId: user.id,
      purpose,
      tokenHash: hashToken(token),
      email: user.email,
      createdAt: now,
      expiresAt: new Date(now.getTime() + ttlSeconds * 1000),
    },
  );
  return token;
}

function publicUrl(deps: Deps): string {
  return deps.publicUrl ?? 'http://localhost:3000';
}

// Verifying against a real hash when the tenant or email is unknown keeps "no such user" as slow as "wrong
// password": the answer and its timing are the same whether the email exists in that tenant or not.
const decoyHash = hashPassword(crypto.randomBytes(16).toString('hex'));

export async function logIn(deps: Deps, input: LoginInput, requestId?: string) {
  const user = await repo.findLoginUser(deps.db, input.tenant, input.email);
  const matches = await verifyPassword(input.password, user?.passwordHash ?? (await decoyHash));
  if (!user || !matches)
    throw new AppError('unauthenticated', 'invalid_credentials', 'Wrong tenant, email or password');
  const actor: Actor = { tenantId: user.tenantId, type: 'user', id: user.userId, principal: user.role, requestId };
  return withTenant(deps.db, user.tenantId, async (tx) => {
    const session = await openSession(deps, tx, actor);
    return { tenant_id: user.tenantId, user_id: user.userId, session };
  });
}

/** Proves the address a verification token was sent to; the token works once. */
export async function verifyEmail(deps: Deps, token: string, requestId?: string) {
  const found = await findMailedToken(deps, token, 'vfy');
  return withTenant(deps.db, found.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: found.tenantId };
    const now = deps.clock.now();
    const used = await repo.consumeUserToken(scope, found.tokenId, 'verify_email', now);
    if (!used || !(await repo.markEmailVerified(scope, used.userId, used.email, now))) throw invalidToken();
    const actor: Actor = { tenantId: found.tenantId, type: 'user', id: used.userId, principal: 'viewer', requestId };
    await recordChange(tx, deps.clock, actor, found.tenantId, {
      action: 'user.email_verified',
      entityType: 'user',
      entityId: used.userId,
      after: { email: used.email },
    });
    const user = await repo.findUser(scope, used.userId);
    return toApiUser(user!);
  });
}

/** A new verification mail for the caller (the old links stop working). */
export async function resendVerification(deps: Deps, actor: Actor) {
  if (actor.type !== 'user') throw forbidden('users_only', 'Only a user has an email to verify');
  const emailId = await withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const user = await repo.findUser(scope, actor.id);
    const tenant = await repo.findTenant(scope);
    if (!user || !tenant) throw notFound('user_not_found', 'No such user');
    if (user.emailVerifiedAt) throw precondition('email_already_verified', 'This email is already verified');
    await repo.expireUserTokens(scope, user.id, 'verify_email', deps.clock.now());
    return sendVerification(deps, tx, tenant, user);
  });
  void deliverEmail(deps, actor.tenantId, emailId);
  return { ok: true };
}

/**
 * Mails a reset link if the tenant has an active user with this email. The answer is the same either way, and
 * mail goes out after the answer, so neither the answer nor its timing says whether the account exists.
 */
export async function requestPasswordReset(deps: Deps, input: RequestPasswordResetInput, requestId?: string) {
  const found = await repo.findLoginUser(deps.db, input.tenant, input.email);
  if (found) {
    void (async () => {
      const emailId = await withTenant(deps.db, found.tenantId, async (tx) => {
        const scope = { db: tx, tenantId: found.tenantId };
        const user = await repo.findUser(scope, found.userId);
        const tenant = await repo.findTenant(scope);
        if (!user || !tenant) return undefined;
        await repo.expireUserTokens(scope, user.id, 'reset_password', deps.clock.now());
        const token = await issueUserToken(deps, tx, tenant.id, user, 'reset_password', resetTtlSeconds);
        const actor: Actor = { tenantId: tenant.id, type: 'user', id: user.id, principal: user.role, requestId };
        await recordChange(tx, deps.clock, actor, tenant.id, {
          action: 'user.password_reset_requested',
          entityType: 'user',
          entityId: user.id,
        });
        return enqueueEmail(tx, deps.clock, tenant.id, {
          to: user.email,
          subject: 'Reset your Tariff password',
          body: [
            `Someone asked to reset the password of ${user.email} in the Tariff tenant "${tenant.name}" (${tenant.slug}).`,
            'If it was not you, ignore this mail: nothing changes.',
            '',
            `${publicUrl(deps)}/reset-password?token=${token}`,
            '',
            `or send the token with a new password to POST /v1/auth/password_reset/confirm: ${token}`,
            `The link works once and expires in ${resetTtlSeconds / 60} minutes.`,
          ].join('\n'),
        });
      });
      if (emailId) await deliverEmail(deps, found.tenantId, emailId);
    })().catch((error: unknown) => deps.logger.error('password reset mail failed', { request_id: requestId, error }));
  }
  return { ok: true };
}

/** Sets a new password with a reset token (once); every session of the user ends, so does every other reset link. */
export async function resetPassword(deps: Deps, input: ResetPasswordInput, requestId?: string) {
  const found = await findMailedToken(deps, input.token, 'rst');
  const passwordHash = await hashPassword(input.password);
  return withTenant(deps.db, found.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: found.tenantId };
    const now = deps.clock.now();
    const used = await repo.consumeUserToken(scope, found.tokenId, 'reset_password', now);
    const user = used && (await repo.findUser(scope, used.userId));
    if (!used || !user || user.disabledAt || user.email !== used.email) throw invalidToken();
    await repo.updatePassword(scope, user.id, passwordHash);
    await repo.expireUserTokens(scope, user.id, 'reset_password', now);
    const revoked = await repo.revokeUserSessions(scope, user.id, now);
    // Receiving the mail proves the address as well as a verification link does.
    await repo.markEmailVerified(scope, user.id, used.email, now);
    const actor: Actor = { tenantId: found.tenantId, type: 'user', id: user.id, principal: user.role, requestId };
    await recordChange(tx, deps.clock, actor, found.tenantId, {
      action: 'user.password_reset',
      entityType: 'user',
      entityId: user.id,
      after: { sessions_revoked: revoked },
    });
    return { ok: true };
  });
}

async function findMailedToken(deps: Deps, token: string, kind: 'vfy' | 'rst') {
  const found = tokenKind(token) === kind ? await repo.findUserTokenByHash(deps.db, hashToken(token)) : undefined;
  if (!found) throw invalidToken();
  return found;
}

const invalidToken = () =>
  invalid('invalid_token', 'This link is invalid, used or expired: ask for a new one', [
    { field: 'token', reason: 'invalid, used or expired' },
  ]);

async function openSession(deps: Deps, tx: Tx, actor: Actor): Promise<IssuedSession> {
  const token = generateToken('ses');
  const now = deps.clock.now();
  const expiresAt = new Date(now.getTime() + deps.sessionTtlSeconds * 1000);
  const sessionId = crypto.randomUUID();
  await repo.insertSession(
    { db: tx, tenantId: actor.tenantId },
    { id: sessionId, userId: actor.id, tokenHash: hashToken(token), createdAt: now, expiresAt },
  );
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
export async function authenticateSession(
  deps: Pick<Deps, 'db' | 'clock'>,
  token: string,
): Promise<SessionActor | undefined> {
  const identity = await repo.findSessionByTokenHash(deps.db, hashToken(token), deps.clock.now());
  if (!identity) return undefined;
  return {
    tenantId: identity.tenantId,
    type: 'user',
    id: identity.userId,
    principal: identity.role,
    sessionId: identity.sessionId,
    ...(identity.scopeCustomerId ? { subtreeRootId: identity.scopeCustomerId } : {}),
  };
}

export async function logOut(deps: Deps, actor: Actor, token: string | undefined): Promise<void> {
  if (!token) throw unauthenticated('No session to end');
  const session = await authenticateSession(deps, token);
  if (!session || session.tenantId !== actor.tenantId) throw unauthenticated('No session to end');
  await withTenant(deps.db, actor.tenantId, async (tx) => {
    await repo.revokeSession({ db: tx, tenantId: actor.tenantId }, session.sessionId, deps.clock.now());
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'session.revoked',
      entityType: 'session',
      entityId: session.sessionId,
    });
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
  if (!outranks(actor.principal, input.role))
    throw forbidden('role_too_high', `A ${actor.principal} cannot grant the ${input.role} role`);
  const passwordHash = await hashPassword(input.password);
  const created = await withTenant(deps.db, actor.tenantId, async (tx) => {
    const scopeCustomerId =
      input.customer_id === undefined
        ? null
        : await repo.findResellerId({ db: tx, tenantId: actor.tenantId }, input.customer_id);
    if (scopeCustomerId === undefined)
      throw invalid('reseller_not_found', `No reseller "${input.customer_id}"`, [
        { field: 'customer_id', reason: 'a user can be scoped to a reseller only' },
      ]);
    const user = await repo.insertUser(
      { db: tx, tenantId: actor.tenantId },
      {
        id: crypto.randomUUID(),
        email: input.email,
        name: input.name,
        passwordHash,
        role: input.role,
        createdAt: deps.clock.now(),
        scopeCustomerId,
      },
    );
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'user.created',
      entityType: 'user',
      entityId: user.id,
      after: toApiUser(user),
    });
    const tenant = await repo.findTenant({ db: tx, tenantId: actor.tenantId });
    return { user: toApiUser(user), emailId: await sendVerification(deps, tx, tenant!, user) };
  });
  void deliverEmail(deps, actor.tenantId, created.emailId);
  return created.user;
}

export async function changeUserRole(deps: Deps, actor: Actor, input: ChangeUserRoleInput) {
  requirePermission(actor, 'users.manage');
  const changed = await withTenant(deps.db, actor.tenantId, async (tx) => {
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
  // After commit: a key authenticated meanwhile must not cache the old role.
  forgetTenantKeys(actor.tenantId);
  return changed;
}

/** Disables a user: their sessions end, and the API keys they created (directly or through keys) stop working. */
export async function removeUser(deps: Deps, actor: Actor, userId: string) {
  requirePermission(actor, 'users.manage');
  const removed = await withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const before = await repo.findUser(scope, userId);
    if (!before) throw notFound('user_not_found', 'No such user');
    if (before.disabledAt) return toApiUser(before);
    if (!outranks(actor.principal, before.role))
      throw forbidden('role_too_high', `A ${actor.principal} cannot remove a ${before.role}`);
    const now = deps.clock.now();
    const after = await repo.disableUser(scope, userId, now);
    if (before.role === 'owner' && (await repo.countOwners(scope)) === 0)
      throw precondition('last_owner', 'A tenant keeps at least one owner');
    await repo.revokeUserSessions(scope, userId, now);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'user.removed',
      entityType: 'user',
      entityId: userId,
      before: toApiUser(before),
      after: toApiUser(after!),
    });
    return toApiUser(after!);
  });
  forgetTenantKeys(actor.tenantId);
  return removed;
}

export function toApiTenant(tenant: repo.Tenant) {
  return { id: tenant.id, name: tenant.name, slug: tenant.slug, created_at: tenant.createdAt.toISOString() };
}

export function toApiUser(user: repo.User) {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    created_at: user.createdAt.toISOString(),
    email_verified: user.emailVerifiedAt !== null,
    disabled_at: user.disabledAt?.toISOString() ?? null,
  };
}
