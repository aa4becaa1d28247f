import { z } from 'zod';
import { isPlainText, isStorable, jsonObject, text } from './text.ts';
import { externalId } from './customers.ts';

export const maxBatchSize = 10_000;

const propertyValue = z.union([
  text(1000, { min: 0, controls: 'any' }),
  z.number().refine(Number.isFinite, 'must be a finite number'),
  z.boolean(),
  z.null(),
]);

/** One usage event as a tenant sends it; the kernel's UsageEvent. */
export const usageEvent = z.strictObject({
  transaction_id: text(255),
  customer_id: externalId,
  event_type: text(200),
  timestamp: text(64, { min: 0, controls: 'any' }),
  properties: z
    .record(text(100), propertyValue)
    .refine((p) => Object.keys(p).length <= 100, 'at most 100 properties')
    .default({}),
  /** A price quote for this event (POST /v1/quotes): honoured if it holds, else the event is rejected (quotes/service.ts). */
  quote: text(4096).optional(),
  /** The spend hold this event captures (POST /v1/customers/{id}/holds; holds/settle.ts). */
  hold_id: text(255).optional(),
  /** This capture is the hold's last: what it still holds is released. */
  hold_final: z.boolean().optional(),
});
export type UsageEventInput = z.infer<typeof usageEvent>;

const eventKeys = new Set(['transaction_id', 'customer_id', 'event_type', 'timestamp', 'properties']);

/**
 * True when usageEvent accepts `raw` exactly as it is (properties present, nothing to default, no quote): ingestion's
 * fast path, about 30 times cheaper than zod on a batch. Anything else goes through zod, which explains it.
 * events.test.ts holds the two to the same verdicts.
 */
export function isWellFormedEvent(raw: unknown): raw is UsageEventInput {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return false;
  let keys = 0;
  for (const key in raw) {
    if (!eventKeys.has(key)) return false;
    keys++;
  }
  if (keys !== eventKeys.size) return false;
  const event = raw as Record<string, unknown>;
  const { transaction_id, customer_id, event_type, timestamp, properties } = event;
  if (!isText(transaction_id, 255) || !isText(customer_id, 255) || !isText(event_type, 200)) return false;
  if (typeof timestamp !== 'string' || timestamp.length > 64 || !isStorable(timestamp)) return false;
  if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) return false;
  let count = 0;
  for (const key in properties) {
    if (++count > 100 || !isText(key, 100) || !Object.hasOwn(properties, key)) return false;
    const value = (properties as Record<string, unknown>)[key];
    if (
      typeof value === 'string'
        ? value.length > 1000 || !isStorable(value)
        : !(value === null || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value)))
    )
      return false;
  }
  return true;
}

/** What text(max) accepts: 1 to max characters, storable, no control character. */
function isText(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= max && isPlainText(value);
}

/** A batch `{"events": [...]}` (1 to 10,000) or one event on its own. Events are checked one by one later. */
export const ingestBody = z.preprocess(
  (body) =>
    typeof body === 'object' && body !== null && !Array.isArray(body) && !('events' in body)
      ? { events: [body] }
      : body,
  z.strictObject({
    events: z
      .array(z.unknown())
      .min(1, 'must hold at least one event')
      .max(maxBatchSize, `at most ${maxBatchSize} events per request`),
    /** What to do with an event that takes its customer past a blocking limit (events/service.ts OnBlock). */
    on_block: z.enum(['accept', 'refuse']).optional(),
  }),
);

export const transactionIdPath = z.strictObject({ transaction_id: usageEvent.shape.transaction_id });

export const usageQuery = z.strictObject({
  /** Any instant inside the period wanted; the current period when omitted. */
  at: z.iso.datetime({ offset: true }).optional(),
});

/** A quote: events rated against a book and the caller's own state snapshot; nothing is stored. */
export const estimateInput = z.strictObject({
  price_book: text(200),
  events: z.array(jsonObject).min(1).max(1000, 'at most 1000 events per estimate'),
  /** CustomerState by customer id, as the kernel takes it; customers not listed start empty. */
  states: z.record(text(255), jsonObject).default({}),
});
export type EstimateInput = z.infer<typeof estimateInput>;
