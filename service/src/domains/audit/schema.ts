import { z } from 'zod';

export const listAuditLogInput = z.strictObject({
  entity_type: z.string().min(1).max(100).optional(),
  entity_id: z.string().min(1).max(300).optional(),
  before_id: z.string().regex(/^[0-9]{1,18}$/, 'must be an audit entry id').optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type ListAuditLogInput = z.infer<typeof listAuditLogInput>;
