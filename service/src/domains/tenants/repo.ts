import type { Role } from '../../platform/auth.ts';
import { isUniqueViolation, type Db, type TenantScope } from '../../platform/db.ts';
import { conflict } from '../../platform/errors.ts';

export interface Tenant {
  id: string;
  name: string;
  slug: string;
  createdAt: Date;
}

export interface User {
  tenantId: string;
  id: string;
  email: string;
  name: string | null;
  role: Role;
  createdAt: Date;
  disabledAt: Date | null;
  emailVerifiedAt: Date | null;
}

/** Throws `tenant_slug_taken` (conflict) when another tenant has the slug. */
export async function insertTenant(
  { db, tenantId }: TenantScope,
  tenant: { name: string; slug: string; createdAt: Date },
): Promise<Tenant> {
  try {
    const [row] = await db`
      insert into tenants (tenant_id, name, slug, created_at) values (${tenantId}, ${tenant.name}, ${tenant.slug}, ${tenant.createdAt}) returning *`;
    return fromDbTenant(row);
  } catch (error) {
    if (isUniqueViolation(error, 'tenants_slug_unique')) {
      throw conflict('tenant_slug_taken', `The tenant name "${tenant.slug}" is taken`, [
        { field: 'tenant_slug', reason: 'already taken' },
      ]);
    }
    throw error;
  }
}

export async function findTenant({ db, tenantId }: TenantScope): Promise<Tenant | undefined> {
  const [row] = await db`select * from tenants where tenant_id = ${tenantId}`;
  return row ? fromDbTenant(row) : undefined;
}

export async function insertUser(
  { db, tenantId }: TenantScope,
  user: {
    id: string;
    email: string;
    name?: string;
    passwordHash: string;
    role: Role;
    createdAt: Date;
    scopeCustomerId?: string | null;
  },
): Promise<User> {
  try {
    const [row] = await db`
      insert into users (tenant_id, id, email, name, password_hash, role, created_at, scope_customer_id)
      values (${tenantId}, ${user.id}, ${user.email}, ${user.name ?? null}, ${user.passwordHash}, ${user.role}, ${user.createdAt},
              ${user.scopeCustomerId ?? null})
      returning *`;
    return fromDbUser(row);
  } catch (error) {
    if (isUniqueViolation(error, 'users_email_unique')) {
      throw conflict('user_exists', 'A user with this email already exists in this tenant', [
        { field: 'email', reason: 'already in use' },
      ]);
    }
    throw error;
  }
}

export async function findUser({ db, tenantId }: TenantScope, userId: string): Promise<User | undefined> {
  const [row] = await db`select * from users where tenant_id = ${tenantId} and id = ${userId}`;
  return row ? fromDbUser(row) : undefined;
}

export async function listUsers({ db, tenantId }: TenantScope): Promise<User[]> {
  const rows = await db`select * from users where tenant_id = ${tenantId} order by created_at, id`;
  return rows.map(fromDbUser);
}

export async function updateUserRole(
  { db, tenantId }: TenantScope,
  userId: string,
  role: Role,
): Promise<User | undefined> {
  const [row] = await db`update users set role = ${role} where tenant_id = ${tenantId} and id = ${userId} returning *`;
  return row ? fromDbUser(row) : undefined;
}

export async function disableUser({ db, tenantId }: TenantScope, userId: string, at: Date): Promise<User | undefined> {
  const [row] =
    await db`update users set disabled_at = ${at} where tenant_id = ${tenantId} and id = ${userId} and disabled_at is null returning *`;
  return row ? fromDbUser(row) : undefined;
}

export async function updatePassword(
  { db, tenantId }: TenantScope,
  userId: string,
  passwordHash: string,
): Promise<void> {
  await db`update users set password_hash = ${passwordHash} where tenant_id = ${tenantId} and id = ${userId}`;
}

/** Verified only if the user's address is still the one the token was sent to. */
export async function markEmailVerified(
  { db, tenantId }: TenantScope,
  userId: string,
  email: string,
  at: Date,
): Promise<boolean> {
  const rows = await db`
    update users set email_verified_at = coalesce(email_verified_at, ${at})
    where tenant_id = ${tenantId} and id = ${userId} and email = ${email} and disabled_at is null returning id`;
  return rows.length > 0;
}

export async function revokeUserSessions({ db, tenantId }: TenantScope, userId: string, at: Date): Promise<number> {
  const rows = await db`
    update sessions set revoked_at = ${at} where tenant_id = ${tenantId} and user_id = ${userId} and revoked_at is null returning id`;
  return rows.length;
}

export type TokenPurpose = 'verify_email' | 'reset_password';

export interface UserToken {
  id: string;
  userId: string;
  purpose: TokenPurpose;
  email: string;
  expiresAt: Date;
  usedAt: Date | null;
}

export async function insertUserToken(
  { db, tenantId }: TenantScope,
  token: {
    id: string;
    userId: string;
    purpose: TokenPurpose;
    tokenHash: Buffer;
    email: string;
    createdAt: Date;
    expiresAt: Date;
  },
): Promise<void> {
  await db`
    insert into user_tokens (tenant_id, id, user_id, purpose, token_hash, email, created_at, expires_at)
    values (${tenantId}, ${token.id}, ${token.userId}, ${token.purpose}, ${token.tokenHash}, ${token.email}, ${token.createdAt}, ${token.expiresAt})`;
}

/** Marks the token used if it is unused and unexpired: at most one caller ever gets it back. */
export async function consumeUserToken(
  { db, tenantId }: TenantScope,
  id: string,
  purpose: TokenPurpose,
  at: Date,
): Promise<UserToken | undefined> {
  const [row] = await db`
    update user_tokens set used_at = ${at}
    where tenant_id = ${tenantId} and id = ${id} and purpose = ${purpose} and used_at is null and expires_at > ${at}
    returning *`;
  return row
    ? {
        id: row.id,
        userId: row.user_id,
        purpose: row.purpose,
        email: row.email,
        expiresAt: row.expires_at,
        usedAt: row.used_at,
      }
    : undefined;
}

/** A new reset link makes the older ones worthless; so does a reset. */
export async function expireUserTokens(
  { db, tenantId }: TenantScope,
  userId: string,
  purpose: TokenPurpose,
  at: Date,
): Promise<void> {
  await db`
    update user_tokens set used_at = ${at}
    where tenant_id = ${tenantId} and user_id = ${userId} and purpose = ${purpose} and used_at is null`;
}

export async function countOwners({ db, tenantId }: TenantScope): Promise<number> {
  const [row] =
    await db`select count(*)::int as n from users where tenant_id = ${tenantId} and role = 'owner' and disabled_at is null`;
  return row.n;
}

export async function insertSession(
  { db, tenantId }: TenantScope,
  session: { id: string; userId: string; tokenHash: Buffer; createdAt: Date; expiresAt: Date },
): Promise<void> {
  await db`
    insert into sessions (tenant_id, id, user_id, token_hash, created_at, expires_at)
    values (${tenantId}, ${session.id}, ${session.userId}, ${session.tokenHash}, ${session.createdAt}, ${session.expiresAt})`;
}

export async function revokeSession({ db, tenantId }: TenantScope, sessionId: string, at: Date): Promise<boolean> {
  const rows = await db`
    update sessions set revoked_at = ${at}
    where tenant_id = ${tenantId} and id = ${sessionId} and revoked_at is null returning id`;
  return rows.length > 0;
}

// Credential lookups across tenants, through the SECURITY DEFINER functions of migration 002: no tenant is
// known yet, so these take the pool (whose session is the service role) rather than a tenant scope.

export interface LoginUser {
  tenantId: string;
  userId: string;
  passwordHash: string;
  role: Role;
}

/** The active user with this email in the tenant with this slug, if both exist. */
export async function findLoginUser(db: Db, tenantSlug: string, email: string): Promise<LoginUser | undefined> {
  const [row] = await db`select * from auth_login_user(${tenantSlug}, ${email})`;
  return row
    ? { tenantId: row.tenant_id, userId: row.user_id, passwordHash: row.password_hash, role: row.role }
    : undefined;
}

/** The tenant and id of a mailed token, by its hash. */
export async function findUserTokenByHash(
  db: Db,
  tokenHash: Buffer,
): Promise<{ tenantId: string; tokenId: string } | undefined> {
  const [row] = await db`select * from auth_user_token(${tokenHash})`;
  return row ? { tenantId: row.tenant_id, tokenId: row.token_id } : undefined;
}

export interface SessionIdentity {
  tenantId: string;
  sessionId: string;
  userId: string;
  role: Role;
  /** A reseller-scoped user's reseller (customer id). */
  scopeCustomerId: string | null;
}

export async function findSessionByTokenHash(
  db: Db,
  tokenHash: Buffer,
  now: Date,
): Promise<SessionIdentity | undefined> {
  const [row] = await db`select * from auth_session(${tokenHash}, ${now})`;
  return row
    ? {
        tenantId: row.tenant_id,
        sessionId: row.session_id,
        userId: row.user_id,
        role: row.role,
        scopeCustomerId: row.scope_customer_id,
      }
    : undefined;
}

/** A reseller, by external id, that may scope a user (within what the session sees). */
export async function findResellerId({ db, tenantId }: TenantScope, externalId: string): Promise<string | undefined> {
  const [row] = await db`
    select id from customers where tenant_id = ${tenantId} and external_id = ${externalId} and is_reseller`;
  return row?.id;
}

function fromDbTenant(row: Record<string, any>): Tenant {
  return { id: row.tenant_id, name: row.name, slug: row.slug, createdAt: row.created_at };
}

function fromDbUser(row: Record<string, any>): User {
  return {
    tenantId: row.tenant_id,
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    createdAt: row.created_at,
    disabledAt: row.disabled_at,
    emailVerifiedAt: row.email_verified_at,
  };
}
