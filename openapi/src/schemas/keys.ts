import { z } from 'zod';
import { text } from './text.ts';

export const createApiKeyInput = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('secret'),
    name: text(200, { trim: true }),
    /** What the key may do; a key never gets a role above its creator's. */
    role: z.enum(['admin', 'billing', 'viewer']).default('admin'),
    /** A reseller's external id: the key is confined to that reseller's subtree. */
    customer_id: text(255).optional(),
  }),
  z.strictObject({
    kind: z.literal('publishable'),
    name: text(200, { trim: true }),
    customer_id: text(255).optional(),
  }),
]);
export type CreateApiKeyInput = z.infer<typeof createApiKeyInput>;

export const apiKeyIdInput = z.strictObject({ id: z.uuid() });
