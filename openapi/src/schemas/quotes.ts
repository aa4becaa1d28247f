import { z } from 'zod';
import { usageEvent } from './events.ts';

/** The longest a quote may hold; the default is five minutes. */
export const maxQuoteSeconds = 3600;

export const createQuoteInput = z.strictObject({
  /** The event as it will be sent to POST /v1/events (same transaction id, customer, type and properties). */
  event: usageEvent.omit({ quote: true }),
  /** How long the quote holds, in seconds (1 to 3600). */
  expires_in: z.number().int().min(1).max(maxQuoteSeconds).default(300),
});
export type CreateQuoteInput = z.infer<typeof createQuoteInput>;
