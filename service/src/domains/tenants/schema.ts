import { z } from 'zod';
import { roles } from '../../platform/auth.ts';

const email = z.string().trim().toLowerCase().pipe(z.email().max(320));
// Length is what makes a password strong; composition rules only make it predictable (NIST SP 800-63B).
const password = z.string().min(12, 'must be at least 12 characters').max(256);

export const signupInput = z.strictObject({
  tenant_name: z.string().trim().min(1).max(200),
  email,
  password,
  name: z.string().trim().min(1).max(200).optional(),
});
export type SignupInput = z.infer<typeof signupInput>;

export const loginInput = z.strictObject({
  email,
  password: z.string().min(1).max(256),
  /** Needed only when the email belongs to users of several tenants. */
  tenant_id: z.uuid().optional(),
});
export type LoginInput = z.infer<typeof loginInput>;

export const createUserInput = z.strictObject({
  email,
  password,
  name: z.string().trim().min(1).max(200).optional(),
  role: z.enum(roles),
});
export type CreateUserInput = z.infer<typeof createUserInput>;

export const changeUserRoleInput = z.strictObject({
  user_id: z.uuid(),
  role: z.enum(roles),
});
export type ChangeUserRoleInput = z.infer<typeof changeUserRoleInput>;
