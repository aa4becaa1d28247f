// Outgoing webhook delivery per the Standard Webhooks specification: signing, the HTTP sender, the back-off
// schedule and destination address checks. Pure of the service: no database, no clock of its own.
export { generateSecret, isSecret, signatureHeader, signPayload } from './signing.ts';
export { maxAttempts, retryDelayMs, retrySchedule } from './backoff.ts';
export { checkDestination, isPublicAddress, type DestinationCheck } from './address.ts';
export {
  prepareDestination,
  sendWebhook,
  type Attempt,
  type Destination,
  type SendOptions,
  type SendResult,
} from './sender.ts';
