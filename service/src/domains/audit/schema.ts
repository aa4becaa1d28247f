import { z } from 'zod';
import { text } from '../../platform/text.ts';

export const listAuditLogInput = z.strictObject({
  entity_type: text(100).optional(),
  entity_id: text(300).optional(),
  before_id: text(18).regex(/^[0-9]{1,18}$/, 'must be an audit entry id').optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type ListAuditLogInput = z.infer<typeof listAuditLogInput>;
