import { z } from 'zod';

export const createApiKeyInput = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('secret'),
    name: z.string().trim().min(1).max(200),
    /** What the key may do; a key never gets a role above its creator's. */
    role: z.enum(['admin', 'billing', 'viewer']).default('admin'),
  }),
  z.strictObject({
    kind: z.literal('publishable'),
    name: z.string().trim().min(1).max(200),
  }),
]);
export type CreateApiKeyInput = z.infer<typeof createApiKeyInput>;

export const apiKeyIdInput = z.strictObject({ id: z.uuid() });
