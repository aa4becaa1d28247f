import { z } from 'zod';
import { text } from './text.ts';

/** A user's role, highest first (service/src/platform/auth.ts says what each may do). */
export const roles = ['owner', 'admin', 'billing', 'viewer'] as const;

const email = text(320, { trim: true }).toLowerCase().pipe(z.email());
// Length is what makes a password strong; composition rules only make it predictable (NIST SP 800-63B).
const password = text(256, { min: 12, controls: 'any' });

/** What people type to name their tenant at login: 3 to 40 lowercase letters, digits and inner hyphens. */
export const tenantSlug = text(40, { trim: true })
  .toLowerCase()
  .regex(
    /^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$/,
    'must be 3 to 40 lowercase letters, digits or hyphens, starting and ending with a letter or digit',
  );

export const signupInput = z.strictObject({
  tenant_name: text(200, { trim: true }),
  /** The tenant's login name; derived from tenant_name when absent. */
  tenant_slug: tenantSlug.optional(),
  email,
  password,
  name: text(200, { trim: true }).optional(),
});
export type SignupInput = z.infer<typeof signupInput>;

// The tenant is named at login, so an email may belong to users of several tenants without ambiguity. Its
// format is not checked beyond length: a malformed slug is just a tenant that does not exist (same 401).
export const loginInput = z.strictObject({
  tenant: text(100, { trim: true }).toLowerCase(),
  email,
  password: text(256, { controls: 'any' }),
});
export type LoginInput = z.infer<typeof loginInput>;

export const verifyEmailInput = z.strictObject({ token: text(200) });

export const requestPasswordResetInput = z.strictObject({
  tenant: text(100, { trim: true }).toLowerCase(),
  email,
});
export type RequestPasswordResetInput = z.infer<typeof requestPasswordResetInput>;

export const resetPasswordInput = z.strictObject({ token: text(200), password });
export type ResetPasswordInput = z.infer<typeof resetPasswordInput>;

export const createUserInput = z.strictObject({
  email,
  password,
  name: text(200, { trim: true }).optional(),
  role: z.enum(roles),
  /** A reseller's external id: the user sees and changes only that reseller's subtree. */
  customer_id: text(255).optional(),
});
export type CreateUserInput = z.infer<typeof createUserInput>;

export const changeUserRoleInput = z.strictObject({
  user_id: z.uuid(),
  role: z.enum(roles),
});
export type ChangeUserRoleInput = z.infer<typeof changeUserRoleInput>;

export const userIdInput = z.strictObject({ user_id: z.uuid() });
/** /v1/users/:id: an error names the path's own parameter, `path.id`. */
export const userPath = z.strictObject({ id: z.uuid() });
export const updateUserInput = z.strictObject({ role: z.enum(roles) });
