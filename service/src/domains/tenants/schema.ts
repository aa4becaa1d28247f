import { z } from 'zod';
import { roles } from '../../platform/auth.ts';
import { text } from '../../platform/text.ts';

const email = text(320, { trim: true }).toLowerCase().pipe(z.email());
// Length is what makes a password strong; composition rules only make it predictable (NIST SP 800-63B).
const password = text(256, { min: 12, controls: 'any' });

export const signupInput = z.strictObject({
  tenant_name: text(200, { trim: true }),
  email,
  password,
  name: text(200, { trim: true }).optional(),
});
export type SignupInput = z.infer<typeof signupInput>;

export const loginInput = z.strictObject({
  email,
  password: text(256, { controls: 'any' }),
  /** Needed only when the email belongs to users of several tenants. */
  tenant_id: z.uuid().optional(),
});
export type LoginInput = z.infer<typeof loginInput>;

export const createUserInput = z.strictObject({
  email,
  password,
  name: text(200, { trim: true }).optional(),
  role: z.enum(roles),
});
export type CreateUserInput = z.infer<typeof createUserInput>;

export const changeUserRoleInput = z.strictObject({
  user_id: z.uuid(),
  role: z.enum(roles),
});
export type ChangeUserRoleInput = z.infer<typeof changeUserRoleInput>;
