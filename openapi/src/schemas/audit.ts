import { z } from 'zod';
import { text } from './text.ts';

export const listAuditLogInput = z.strictObject({
  entity_type: text(100).optional(),
  entity_id: text(300).optional(),
  /** The id of the last entry of the previous page (ids are random: the log keeps its own order). */
  before_id: z.uuid('must be an audit entry id').optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type ListAuditLogInput = z.infer<typeof listAuditLogInput>;
