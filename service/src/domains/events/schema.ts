import { z } from 'zod';
import { externalId } from '../customers/schema.ts';

export const maxBatchSize = 10_000;

const propertyValue = z.union([z.string().max(1000), z.number().refine(Number.isFinite, 'must be a finite number'), z.boolean(), z.null()]);

/** One usage event as a tenant sends it; the kernel's UsageEvent. */
export const usageEvent = z.strictObject({
  transaction_id: z.string().min(1).max(255).regex(/^[^\u0000-\u001f\u007f]+$/, 'must not contain control characters'),
  customer_id: externalId,
  event_type: z.string().min(1).max(200),
  timestamp: z.string().max(64),
  properties: z
    .record(z.string().min(1).max(100), propertyValue)
    .refine((p) => Object.keys(p).length <= 100, 'at most 100 properties')
    .default({}),
});
export type UsageEventInput = z.infer<typeof usageEvent>;

/** A batch `{"events": [...]}` (1 to 10,000) or one event on its own. Events are checked one by one later. */
export const ingestBody = z.preprocess(
  (body) => (typeof body === 'object' && body !== null && !Array.isArray(body) && !('events' in body) ? { events: [body] } : body),
  z.strictObject({ events: z.array(z.unknown()).min(1, 'must hold at least one event').max(maxBatchSize, `at most ${maxBatchSize} events per request`) }),
);

export const transactionIdPath = z.strictObject({ transaction_id: usageEvent.shape.transaction_id });

export const usageQuery = z.strictObject({
  /** Any instant inside the period wanted; the current period when omitted. */
  at: z.iso.datetime({ offset: true }).optional(),
});

/** A quote: events rated against a book and the caller's own state snapshot; nothing is stored. */
export const estimateInput = z.strictObject({
  price_book: z.string().min(1).max(200),
  events: z.array(z.record(z.string(), z.unknown())).min(1).max(1000, 'at most 1000 events per estimate'),
  /** CustomerState by customer id, as the kernel takes it; customers not listed start empty. */
  states: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
});
export type EstimateInput = z.infer<typeof estimateInput>;
