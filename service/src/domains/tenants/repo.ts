import type { Role } from '../../platform/auth.ts';
import { isUniqueViolation, type Db, type TenantScope } from '../../platform/db.ts';
import { conflict } from '../../platform/errors.ts';

export interface Tenant {
  id: string;
  name: string;
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
}

export async function insertTenant({ db, tenantId }: TenantScope, tenant: { name: string; createdAt: Date }): Promise<Tenant> {
  const [row] = await db`insert into tenants (tenant_id, name, created_at) values (${tenantId}, ${tenant.name}, ${tenant.createdAt}) returning *`;
  return fromDbTenant(row);
}

export async function findTenant({ db, tenantId }: TenantScope): Promise<Tenant | undefined> {
  const [row] = await db`select * from tenants where tenant_id = ${tenantId}`;
  return row ? fromDbTenant(row) : undefined;
}

export async function insertUser(
  { db, tenantId }: TenantScope,
  user: { id: string; email: string; name?: string; passwordHash: string; role: Role; createdAt: Date },
): Promise<User> {
  try {
    const [row] = await db`
      insert into users (tenant_id, id, email, name, password_hash, role, created_at)
      values (${tenantId}, ${user.id}, ${user.email}, ${user.name ?? null}, ${user.passwordHash}, ${user.role}, ${user.createdAt})
      returning *`;
    return fromDbUser(row);
  } catch (error) {
    if (isUniqueViolation(error, 'users_email_unique')) {
      throw conflict('user_exists', 'A user with this email already exists in this tenant', [{ field: 'email', reason: 'already in use' }]);
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

export async function updateUserRole({ db, tenantId }: TenantScope, userId: string, role: Role): Promise<User | undefined> {
  const [row] = await db`update users set role = ${role} where tenant_id = ${tenantId} and id = ${userId} returning *`;
  return row ? fromDbUser(row) : undefined;
}

export async function countOwners({ db, tenantId }: TenantScope): Promise<number> {
  const [row] = await db`select count(*)::int as n from users where tenant_id = ${tenantId} and role = 'owner' and disabled_at is null`;
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

export interface LoginCandidate {
  tenantId: string;
  userId: string;
  passwordHash: string;
  role: Role;
}

export async function findLoginCandidates(db: Db, email: string): Promise<LoginCandidate[]> {
  const rows = await db`select * from auth_login_candidates(${email})`;
  return rows.map((r) => ({ tenantId: r.tenant_id, userId: r.user_id, passwordHash: r.password_hash, role: r.role }));
}

export interface SessionIdentity {
  tenantId: string;
  sessionId: string;
  userId: string;
  role: Role;
}

export async function findSessionByTokenHash(db: Db, tokenHash: Buffer, now: Date): Promise<SessionIdentity | undefined> {
  const [row] = await db`select * from auth_session(${tokenHash}, ${now})`;
  return row ? { tenantId: row.tenant_id, sessionId: row.session_id, userId: row.user_id, role: row.role } : undefined;
}

function fromDbTenant(row: Record<string, any>): Tenant {
  return { id: row.tenant_id, name: row.name, createdAt: row.created_at };
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
  };
}
