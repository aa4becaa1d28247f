import { z } from 'zod';
import { jsonObject, text } from './text.ts';
import { notificationTypes } from './notifications.ts';

/** What an endpoint's filter may name: every notification type, and the test send's own type. */
export const webhookEventTypes = [...notificationTypes, 'webhook.test'] as const;

const url = text(2048).refine((value) => URL.canParse(value) && ['http:', 'https:'].includes(new URL(value).protocol), {
  message: 'an http or https URL',
});

/** Free text for the tenant's own reference: may be empty, trimmed, tabs and line breaks allowed. */
const description = text(1000, { min: 0, trim: true, controls: 'whitespace' });

export const createEndpointInput = z.strictObject({
  url,
  description: description.default(''),
  /** The notification types sent to it; empty or absent: every type. */
  event_types: z.array(z.enum(webhookEventTypes)).max(100).default([]),
  enabled: z.boolean().default(true),
});
export type CreateEndpointInput = z.infer<typeof createEndpointInput>;

export const updateEndpointInput = z.strictObject({
  url: url.optional(),
  description: description.optional(),
  event_types: z.array(z.enum(webhookEventTypes)).max(100).optional(),
  /** Enabling a disabled endpoint resumes its pending deliveries now. */
  enabled: z.boolean().optional(),
});
export type UpdateEndpointInput = z.infer<typeof updateEndpointInput>;

export const rotateSecretInput = z.strictObject({
  /** How long the replaced secret keeps signing beside the new one (seconds, up to 7 days; default 24 hours). */
  overlap_seconds: z
    .number()
    .int()
    .min(0)
    .max(7 * 86_400)
    .default(86_400),
});
export type RotateSecretInput = z.infer<typeof rotateSecretInput>;

/** Largest test payload (bytes of its JSON). */
export const maxTestPayloadBytes = 65_536;

export const testSendInput = z.strictObject({
  event_type: z.enum(webhookEventTypes).default('webhook.test'),
  /** The message's `data`; a small example when absent. At most 64 KiB as JSON. */
  payload: jsonObject
    .refine((value) => Buffer.byteLength(JSON.stringify(value)) <= maxTestPayloadBytes, {
      message: `at most ${maxTestPayloadBytes} bytes as JSON`,
    })
    .optional(),
});
export type TestSendInput = z.infer<typeof testSendInput>;

export const replayInput = z
  .strictObject({
    /** Messages created at or after this instant... */
    since: z.iso.datetime({ offset: true }),
    /** ...and before this one (default: now). */
    until: z.iso.datetime({ offset: true }).optional(),
    /** Also send again the messages this endpoint already received (default: only those never delivered). */
    include_succeeded: z.boolean().default(false),
  })
  .refine((input) => input.until === undefined || Date.parse(input.until) > Date.parse(input.since), {
    message: 'must be after since',
    path: ['until'],
  });
export type ReplayInput = z.infer<typeof replayInput>;

export const retryInput = z.strictObject({ endpoint_id: z.uuid() });

export const endpointPath = z.strictObject({ id: z.uuid() });
const messageId = text(36).regex(/^msg_[0-9a-f]{32}$/, 'a message id (msg_ and 32 hex digits)');
export const messagePath = z.strictObject({ id: messageId });

export const listDeliveriesInput = z.strictObject({
  status: z.enum(['pending', 'succeeded', 'failed']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  /** Message id of the last delivery of the previous page (newest first). */
  starting_after: messageId.optional(),
});
export type ListDeliveriesInput = z.infer<typeof listDeliveriesInput>;

export const listMessagesInput = z.strictObject({
  event_type: z.enum(webhookEventTypes).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type ListMessagesInput = z.infer<typeof listMessagesInput>;

export const listAttemptsInput = z.strictObject({ endpoint_id: z.uuid().optional() });
