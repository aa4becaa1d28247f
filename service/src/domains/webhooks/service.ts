// Outgoing webhooks: a tenant's endpoints and their signing secrets, the delivery of every notification (one
// message, recorded with it by the notifications trigger of migration 038) to each endpoint whose filter takes
// it, retried on the back-off schedule of @tariff/webhooks, and the log, retry, replay and test send around it.
// Delivery is at least once: a delivery job leases the endpoint before it sends, and writes each delivery only
// with its outcome, so a crash leaves the unrecorded deliveries due, sent again later under the same webhook-ids.
import crypto from 'node:crypto';
import {
  checkDestination,
  generateSecret,
  prepareDestination,
  retryDelayMs,
  sendWebhook,
  type Destination,
  type SendResult,
} from '@tariff/webhooks';
import type { ApiSchemas } from '../../platform/api.ts';
import type { Actor } from '../../platform/auth.ts';
import { requirePermission } from '../../platform/auth.ts';
import { withTenant, withTenantPipelined, type TenantScope } from '../../platform/db.ts';
import { foregroundBusy } from '../../platform/foreground.ts';
import type { Deps } from '../../platform/deps.ts';
import { invalid, notFound } from '../../platform/errors.ts';
import { recordChange } from '../audit/service.ts';
import * as notify from '../notifications/service.ts';
import * as repo from './repo.ts';
import type {
  CreateEndpointInput,
  ListDeliveriesInput,
  ListMessagesInput,
  ReplayInput,
  RotateSecretInput,
  TestSendInput,
  UpdateEndpointInput,
} from '@tariff/openapi/schemas/webhooks';

export interface WebhookSettings {
  /** Deliver to private and loopback addresses (WEBHOOK_ALLOW_PRIVATE=1). */
  allowPrivate: boolean;
  /** Deadline of one attempt (WEBHOOK_TIMEOUT_MS, default 15 s). */
  timeoutMs: number;
  /** An endpoint whose every attempt failed for this long is disabled (WEBHOOK_DISABLE_AFTER_DAYS, default 5). */
  disableAfterDays: number;
  /** Attempts in flight at once per endpoint (WEBHOOK_CONCURRENCY, default 16). */
  concurrency: number;
  /** Attempts the process starts per second while it answers requests (WEBHOOK_BUSY_RATE, default 200). */
  busyRate: number;
}

export function webhookSettings(env: NodeJS.ProcessEnv = process.env): WebhookSettings {
  const number = (name: string, fallback: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got "${raw}"`);
    return value;
  };
  return {
    allowPrivate: env.WEBHOOK_ALLOW_PRIVATE === '1' || env.WEBHOOK_ALLOW_PRIVATE === 'true',
    timeoutMs: number('WEBHOOK_TIMEOUT_MS', 15_000),
    disableAfterDays: number('WEBHOOK_DISABLE_AFTER_DAYS', 5),
    concurrency: number('WEBHOOK_CONCURRENCY', 16),
    busyRate: number('WEBHOOK_BUSY_RATE', 200),
  };
}

/**
 * Deliveries one claim takes (and one outcome write records), per attempt in flight: a batch is sent in this many
 * rounds at most. Each claim and each outcome write is a transaction whose cost is mostly per statement, not per
 * row, and the senders wait when a claim's round trip outlasts the batch before it: with the endpoint leased (a
 * claim writes one row, not one per delivery), 16 rounds cost less of both the process's and PostgreSQL's CPU per
 * delivery than 8, and 32 more of PostgreSQL's (bench:webhooks, BENCHMARKS.md). The lease grows with the batch.
 */
const roundsPerBatch = 16;

/**
 * How long claimed deliveries are kept from other workers: every round of the batch at its deadline, and one
 * more as margin for recording. A worker that dies leaves them due again after this.
 */
function leaseMs(settings: WebhookSettings, claimed: number): number {
  return (Math.ceil(claimed / settings.concurrency) + 1) * settings.timeoutMs;
}

type ApiEndpoint = ApiSchemas['WebhookEndpoint'];

export function toApiEndpoint(e: repo.Endpoint, now: Date): ApiEndpoint {
  return {
    id: e.id,
    url: e.url,
    description: e.description,
    event_types: e.eventTypes as ApiEndpoint['event_types'],
    enabled: e.enabled,
    disabled_reason: e.disabledReason,
    disabled_at: e.disabledAt?.toISOString() ?? null,
    failing_since: e.failingSince?.toISOString() ?? null,
    previous_secret_expires_at:
      e.previousSecret && e.previousSecretExpiresAt && e.previousSecretExpiresAt > now
        ? e.previousSecretExpiresAt.toISOString()
        : null,
    created_at: e.createdAt.toISOString(),
    updated_at: e.updatedAt.toISOString(),
  };
}

async function requireDestination(url: string, settings: WebhookSettings): Promise<void> {
  const check = await checkDestination(url, { allowPrivate: settings.allowPrivate });
  if (!check.ok)
    throw invalid('invalid_webhook_url', `The webhook URL cannot be used: ${check.reason}`, [
      { field: 'url', reason: check.reason },
    ]);
}

async function requireEndpoint(
  scope: TenantScope,
  id: string,
  options: { lock?: boolean } = {},
): Promise<repo.Endpoint> {
  const endpoint = await repo.findEndpoint(scope, id, options);
  if (!endpoint) throw notFound('webhook_endpoint_not_found', `No webhook endpoint ${id}`);
  return endpoint;
}

export async function createEndpoint(
  deps: Deps,
  actor: Actor,
  input: CreateEndpointInput,
): Promise<ApiSchemas['WebhookEndpointWithSecret']> {
  requirePermission(actor, 'webhooks.manage');
  await requireDestination(input.url, webhookSettings());
  const now = deps.clock.now();
  const endpoint: repo.Endpoint = {
    id: crypto.randomUUID(),
    url: input.url,
    description: input.description,
    eventTypes: [...new Set(input.event_types)],
    enabled: input.enabled,
    disabledReason: input.enabled ? null : 'manual',
    disabledAt: input.enabled ? null : now,
    secret: generateSecret(),
    previousSecret: null,
    previousSecretExpiresAt: null,
    failingSince: null,
    createdAt: now,
    updatedAt: now,
  };
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    await repo.insertEndpoint({ db: tx, tenantId: actor.tenantId }, endpoint);
    const result = toApiEndpoint(endpoint, now);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'webhook_endpoint.created',
      entityType: 'webhook_endpoint',
      entityId: endpoint.id,
      after: result,
    });
    return { ...result, secret: endpoint.secret };
  });
}

export async function listEndpoints(deps: Deps, actor: Actor): Promise<ApiSchemas['WebhookEndpointList']> {
  requirePermission(actor, 'webhooks.manage');
  const now = deps.clock.now();
  const rows = await withTenant(deps.db, actor.tenantId, (tx) =>
    repo.listEndpoints({ db: tx, tenantId: actor.tenantId }),
  );
  return { data: rows.map((e) => toApiEndpoint(e, now)), has_more: false };
}

export async function getEndpoint(deps: Deps, actor: Actor, id: string): Promise<ApiEndpoint> {
  requirePermission(actor, 'webhooks.manage');
  const endpoint = await withTenant(deps.db, actor.tenantId, (tx) =>
    requireEndpoint({ db: tx, tenantId: actor.tenantId }, id),
  );
  return toApiEndpoint(endpoint, deps.clock.now());
}

export async function updateEndpoint(
  deps: Deps,
  actor: Actor,
  id: string,
  input: UpdateEndpointInput,
): Promise<ApiEndpoint> {
  requirePermission(actor, 'webhooks.manage');
  if (input.url !== undefined) await requireDestination(input.url, webhookSettings());
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const before = await requireEndpoint(scope, id, { lock: true });
    const after: repo.Endpoint = {
      ...before,
      url: input.url ?? before.url,
      description: input.description ?? before.description,
      eventTypes: input.event_types ? [...new Set(input.event_types)] : before.eventTypes,
      updatedAt: now,
    };
    if (input.enabled === true && !before.enabled)
      Object.assign(after, { enabled: true, disabledReason: null, disabledAt: null, failingSince: null });
    if (input.enabled === false && before.enabled)
      Object.assign(after, { enabled: false, disabledReason: 'manual', disabledAt: now });
    await repo.updateEndpoint(scope, after);
    if (after.enabled && !before.enabled) await repo.resumeDeliveries(scope, id, now);
    const result = toApiEndpoint(after, now);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'webhook_endpoint.updated',
      entityType: 'webhook_endpoint',
      entityId: id,
      before: toApiEndpoint(before, now),
      after: result,
    });
    return result;
  });
}

export async function deleteEndpoint(deps: Deps, actor: Actor, id: string): Promise<ApiEndpoint> {
  requirePermission(actor, 'webhooks.manage');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const endpoint = await requireEndpoint(scope, id, { lock: true });
    await repo.deleteEndpoint(scope, id, now);
    const result = toApiEndpoint(endpoint, now);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'webhook_endpoint.deleted',
      entityType: 'webhook_endpoint',
      entityId: id,
      before: result,
    });
    return result;
  });
}

/** A new secret; the old one keeps signing beside it for `overlap_seconds`. The only time the new one is shown. */
export async function rotateSecret(
  deps: Deps,
  actor: Actor,
  id: string,
  input: RotateSecretInput,
): Promise<ApiSchemas['WebhookEndpointWithSecret']> {
  requirePermission(actor, 'webhooks.manage');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const before = await requireEndpoint(scope, id, { lock: true });
    const after: repo.Endpoint = {
      ...before,
      secret: generateSecret(),
      previousSecret: input.overlap_seconds > 0 ? before.secret : null,
      previousSecretExpiresAt:
        input.overlap_seconds > 0 ? new Date(now.getTime() + input.overlap_seconds * 1000) : null,
      updatedAt: now,
    };
    await repo.updateEndpoint(scope, after);
    const result = toApiEndpoint(after, now);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'webhook_endpoint.secret_rotated',
      entityType: 'webhook_endpoint',
      entityId: id,
      after: result,
    });
    return { ...result, secret: after.secret };
  });
}

/** The secrets an attempt at `now` signs with: the current one, and the replaced one while its overlap lasts. */
export function signingSecrets(endpoint: repo.Endpoint, now: Date): string[] {
  const previous =
    endpoint.previousSecret && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > now
      ? [endpoint.previousSecret]
      : [];
  return [endpoint.secret, ...previous];
}

function toApiAttempt(a: repo.Attempt): ApiSchemas['WebhookAttempt'] {
  return {
    id: a.id,
    endpoint_id: a.endpointId,
    message_id: a.messageId,
    attempt: a.attempt,
    trigger: a.trigger,
    started_at: a.startedAt.toISOString(),
    succeeded: a.succeeded,
    status_code: a.statusCode,
    latency_ms: a.latencyMs,
    response_excerpt: a.responseExcerpt,
    error: a.error,
  };
}

/** Sends a test message to the endpoint now, and answers with the attempt (retried like any message if it failed). */
export async function sendTest(
  deps: Deps,
  actor: Actor,
  endpointId: string,
  input: TestSendInput,
): Promise<ApiSchemas['WebhookTestResult']> {
  requirePermission(actor, 'webhooks.manage');
  const now = deps.clock.now();
  const messageId = `msg_${crypto.randomUUID().replaceAll('-', '')}`;
  await withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    await requireEndpoint(scope, endpointId);
    const data = input.payload ?? { message: 'A test message from Tariff', endpoint_id: endpointId };
    const body = JSON.stringify({ type: input.event_type, timestamp: now.toISOString(), data });
    await repo.insertMessage(scope, {
      id: messageId,
      eventType: input.event_type,
      notificationId: null,
      body,
      createdAt: now,
    });
    await repo.insertDelivery(scope, endpointId, messageId, now);
  });
  const attempt = await attemptNow(deps, actor.tenantId, endpointId, messageId);
  return { message_id: messageId, attempt: toApiAttempt(attempt) };
}

/** Sends one message to one endpoint again now, whatever its delivery's state (or creates the delivery). */
export async function retryMessage(
  deps: Deps,
  actor: Actor,
  messageId: string,
  endpointId: string,
): Promise<ApiSchemas['WebhookAttempt']> {
  requirePermission(actor, 'webhooks.manage');
  const now = deps.clock.now();
  await withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    if (!(await repo.findMessage(scope, messageId)))
      throw notFound('webhook_message_not_found', `No webhook message ${messageId}`);
    const endpoint = await repo.findEndpoint(scope, endpointId);
    if (!endpoint)
      throw invalid('webhook_endpoint_not_found', `No webhook endpoint ${endpointId}`, [
        { field: 'endpoint_id', reason: 'no such endpoint' },
      ]);
    await repo.insertDelivery(scope, endpointId, messageId, now);
  });
  return toApiAttempt(await attemptNow(deps, actor.tenantId, endpointId, messageId));
}

/** Queues again the messages of a time range for one endpoint; the delivery jobs send them. */
export async function replay(
  deps: Deps,
  actor: Actor,
  endpointId: string,
  input: ReplayInput,
): Promise<ApiSchemas['WebhookReplayResult']> {
  requirePermission(actor, 'webhooks.manage');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const endpoint = await requireEndpoint(scope, endpointId);
    const until = input.until ? new Date(input.until) : now;
    const queued = await repo.replayDeliveries(
      scope,
      endpoint,
      { since: new Date(input.since), until, includeSucceeded: input.include_succeeded },
      now,
    );
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'webhook_endpoint.replayed',
      entityType: 'webhook_endpoint',
      entityId: endpointId,
      after: { since: input.since, until: until.toISOString(), include_succeeded: input.include_succeeded, queued },
    });
    return { queued };
  });
}

export async function listDeliveries(
  deps: Deps,
  actor: Actor,
  endpointId: string,
  input: ListDeliveriesInput,
): Promise<ApiSchemas['WebhookDeliveryList']> {
  requirePermission(actor, 'webhooks.manage');
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    await requireEndpoint(scope, endpointId);
    const rows = await repo.listDeliveries(scope, endpointId, {
      status: input.status,
      limit: input.limit,
      startingAfter: input.starting_after,
    });
    return {
      data: rows.map((d) => ({
        endpoint_id: d.endpointId,
        message_id: d.messageId,
        event_type: d.eventType,
        status: d.status,
        attempts: d.attempts,
        next_attempt_at: d.status === 'pending' ? (d.nextAttemptAt?.toISOString() ?? null) : null,
        last_attempt_at: d.lastAttemptAt?.toISOString() ?? null,
        last_status_code: d.lastStatusCode,
        last_error: d.lastError,
        created_at: d.createdAt.toISOString(),
      })),
      has_more: rows.length === input.limit,
    };
  });
}

export async function listMessages(
  deps: Deps,
  actor: Actor,
  input: ListMessagesInput,
): Promise<ApiSchemas['WebhookMessageList']> {
  requirePermission(actor, 'webhooks.manage');
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const rows = await repo.listMessages(
      { db: tx, tenantId: actor.tenantId },
      {
        eventType: input.event_type,
        since: input.since ? new Date(input.since) : undefined,
        until: input.until ? new Date(input.until) : undefined,
        limit: input.limit,
      },
    );
    return {
      data: rows.map((m) => ({
        id: m.id,
        event_type: m.eventType,
        notification_id: m.notificationId,
        payload: JSON.parse(m.body),
        created_at: m.createdAt.toISOString(),
        deliveries: m.deliveries.map((d) => ({
          endpoint_id: d.endpointId,
          status: d.status as 'pending' | 'succeeded' | 'failed',
          attempts: d.attempts,
        })),
      })),
      has_more: rows.length === input.limit,
    };
  });
}

export async function listAttempts(
  deps: Deps,
  actor: Actor,
  messageId: string,
  endpointId?: string,
): Promise<ApiSchemas['WebhookAttemptList']> {
  requirePermission(actor, 'webhooks.manage');
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    if (!(await repo.findMessage(scope, messageId)))
      throw notFound('webhook_message_not_found', `No webhook message ${messageId}`);
    return { data: (await repo.listAttempts(scope, messageId, endpointId)).map(toApiAttempt), has_more: false };
  });
}

// ---- delivery ----

/** Appends an ended attempt of a claimed delivery to its batch's columns (its delivery's next state is planned later). */
function appendAttempt(
  batch: repo.AttemptColumns,
  delivery: repo.ClaimedDelivery,
  startedAt: number,
  result: SendResult,
): void {
  batch.rowIds.push(delivery.rowId);
  batch.messageIds.push(delivery.messageId);
  batch.attempts.push(delivery.attempts + 1);
  batch.startedAt.push(startedAt);
  batch.succeeded.push(result.ok);
  batch.statusCodes.push(result.status);
  batch.latencyMs.push(result.latencyMs);
  batch.responseExcerpts.push(result.responseExcerpt);
  batch.errors.push(result.error ?? (result.ok ? null : `HTTP ${result.status}`));
  // The state as claimed, until planAttempts replaces it.
  batch.statuses.push(delivery.status);
  batch.nextAttemptAt.push(null);
}

/**
 * Each attempt's delivery's next state, in place of the state it was claimed in: success ends it; a failure waits
 * its back-off or gives up (a manual attempt leaves a delivery that was not pending as it was).
 */
export function planAttempts(batch: repo.AttemptColumns, now: Date, random: () => number = Math.random): void {
  for (let i = 0; i < batch.rowIds.length; i++) {
    if (batch.succeeded[i]) batch.statuses[i] = 'succeeded';
    else if (batch.trigger === 'manual' && batch.statuses[i] !== 'pending') continue;
    else {
      const delay = retryDelayMs(batch.attempts[i], random());
      batch.statuses[i] = delay === null ? 'failed' : 'pending';
      batch.nextAttemptAt[i] = delay === null ? null : now.getTime() + delay;
    }
  }
}

/**
 * Records a batch's attempts and the endpoint's health (one statement in a transaction sent at once, not waiting
 * for the disk: a server crash that forgot it leaves the deliveries leased, and they are sent again under their
 * webhook-ids, which Standard Webhooks receivers must tolerate), then disables the endpoint on a 410 or after
 * days of failures; whether it was disabled.
 */
async function recordSent(
  deps: Deps,
  tenantId: string,
  endpoint: repo.Endpoint,
  batch: repo.AttemptColumns,
  settings: WebhookSettings,
): Promise<boolean> {
  const now = deps.clock.now();
  planAttempts(batch, now);
  const succeeded = batch.succeeded.includes(true);
  let firstFailureAt: number | null = null;
  for (let i = 0; i < batch.rowIds.length; i++)
    if (!batch.succeeded[i] && (firstFailureAt === null || batch.startedAt[i] < firstFailureAt))
      firstFailureAt = batch.startedAt[i];
  await withTenantPipelined(
    deps.db,
    tenantId,
    async (tx) => ({
      result: undefined,
      writes: [
        repo.recordAttempts({ db: tx, tenantId }, endpoint.id, batch, {
          succeeded,
          firstFailureAt: firstFailureAt === null ? null : new Date(firstFailureAt),
        }),
      ],
      unflushed: true,
    }),
    { asyncCommit: true },
  );
  const gone = batch.statusCodes.includes(410);
  if (!gone && succeeded) return false;
  return withTenant(deps.db, tenantId, async (tx) => {
    const scope = { db: tx, tenantId };
    let disabled: repo.Endpoint | undefined;
    if (gone) disabled = await repo.disableEndpoint(scope, endpoint.id, 'gone', now);
    else if (!succeeded)
      disabled = await repo.disableEndpoint(
        scope,
        endpoint.id,
        'failing',
        now,
        new Date(now.getTime() - settings.disableAfterDays * 86_400_000),
      );
    if (disabled) {
      deps.logger.warn('webhook endpoint disabled', {
        tenant_id: tenantId,
        endpoint_id: endpoint.id,
        reason: disabled.disabledReason,
      });
      await notify.recordOnce(scope, {
        id: crypto.randomUUID(),
        type: 'webhook_endpoint.disabled',
        customerId: null,
        subjectId: `${endpoint.id}:${now.toISOString()}`,
        payload: {
          endpoint_id: endpoint.id,
          url: endpoint.url,
          reason: disabled.disabledReason,
          failing_since: disabled.failingSince?.toISOString() ?? null,
          disabled_at: now.toISOString(),
          last_status_code: batch.statusCodes.at(-1) ?? null,
        },
        createdAt: now,
      });
    }
    return disabled !== undefined;
  });
}

async function attemptNow(deps: Deps, tenantId: string, endpointId: string, messageId: string): Promise<repo.Attempt> {
  const settings = webhookSettings();
  const now = deps.clock.now();
  const { endpoint, claimed } = await withTenant(deps.db, tenantId, async (tx) => {
    const scope = { db: tx, tenantId };
    const endpoint = await requireEndpoint(scope, endpointId);
    const claimed = await repo.claimDelivery(
      scope,
      endpointId,
      messageId,
      new Date(now.getTime() + leaseMs(settings, 1)),
    );
    return { endpoint, claimed };
  });
  if (!claimed) throw notFound('webhook_delivery_not_found', `No delivery of ${messageId} to ${endpointId}`);
  const startedAt = deps.clock.now();
  const result = await sendWebhook({
    url: endpoint.url,
    id: claimed.messageId,
    timestamp: Math.floor(startedAt.getTime() / 1000),
    body: claimed.body,
    secrets: signingSecrets(endpoint, startedAt),
    timeoutMs: settings.timeoutMs,
    allowPrivate: settings.allowPrivate,
  });
  const batch = repo.attemptColumns('manual');
  appendAttempt(batch, claimed, startedAt.getTime(), result);
  await recordSent(deps, tenantId, endpoint, batch, settings);
  const attempts = await withTenant(deps.db, tenantId, (tx) =>
    repo.listAttempts({ db: tx, tenantId }, messageId, endpointId),
  );
  return attempts.at(-1)!;
}

/** When the next attempt may start while the foreground is busy: one slot per 1/busyRate s, shared by every job. */
let nextBusySlot = 0;

/**
 * Delivery is background work: while the process answers requests (platform/foreground.ts), attempts start at
 * `busyRate` per second at most, whichever jobs send them, so a backlog drains without taking ingestion's CPU and
 * database. Called only while the foreground is busy (an idle process sends at once, without a wait per attempt):
 * how long the next attempt waits for its slot, in ms.
 */
function foregroundDelay(busyRate: number): number {
  const now = performance.now();
  const slot = Math.max(nextBusySlot, now);
  nextBusySlot = slot + 1000 / busyRate;
  return slot - now;
}

/** A refused destination's outcome for each of its attempts: nothing is sent. */
function refused(reason: string): SendResult {
  return { ok: false, status: null, latencyMs: 0, responseExcerpt: '', error: `destination refused: ${reason}` };
}

/**
 * The delivery job's work for one endpoint: claim its due deliveries a batch at a time, send them with
 * `concurrency` attempts in flight, record the outcomes a batch at a time; until none is due or `budgetMs` has
 * passed. `more`: stopped with work left.
 * Streamed, not batch by batch: every attempt in flight is followed at once by the next claimed delivery, the
 * next batch is claimed while the last one's deliveries are still queued, and outcomes are recorded behind the
 * sending, so neither the receiver nor the sockets wait on the database's round trips or on a batch's slowest
 * answer. A 410 stops the sending at once; the recorded outcome disables the endpoint. The endpoint is read again
 * and its address checked again at each claim; its attempts connect to the addresses checked.
 */
export async function deliverEndpoint(
  deps: Deps,
  tenantId: string,
  endpointId: string,
  options: { batchSize?: number; budgetMs?: number } = {},
): Promise<{ attempted: number; more: boolean }> {
  const settings = webhookSettings();
  const batchSize = options.batchSize ?? settings.concurrency * roundsPerBatch;
  const budgetMs = options.budgetMs ?? 30_000;
  // The endpoint is leased to this job (renewed at each claim): a claimed delivery waits behind at most one batch (a
  // claim is made when the queue falls under one), and the lease covers both.
  const holder = crypto.randomUUID();
  const lease = leaseMs(settings, 2 * batchSize);
  const started = performance.now();
  let endpoint: repo.Endpoint | undefined;
  // Claimed batches not yet all started, each with the destination checked at its claim; `next` is its first
  // delivery not started. A delivery leaves its batch as it starts, so that it dies with its attempt (young, in
  // V8's terms) rather than lives on to its batch's last start.
  const queue: { deliveries: (repo.ClaimedDelivery | undefined)[]; destination: Destination; next: number }[] = [];
  let queued = 0;
  let claiming: Promise<void> | undefined;
  // Each claim resumes where the one before it ended (repo.claimDueDeliveries; migration 051).
  let cursor: repo.ClaimCursor | undefined;
  // No more claims: a claim came back short (nothing more due), the endpoint is off, or a failure.
  let drained = false;
  // No more sends: a 410, a disabling, or a failure.
  let stopped = false;
  let failure: unknown;
  const fail = (error: unknown) => {
    failure ??= error;
    stopped = true;
    drained = true;
  };

  const claim = async () => {
    const now = deps.clock.now();
    // The endpoint's lease (taken or renewed; nothing is read of an endpoint that is off or another job's) and the
    // claim go out with BEGIN and COMMIT at once: one round trip. Not waiting for the disk: a lease a server crash
    // forgot leaves the deliveries due as they were, sent again (under the same webhook-ids), never skipped.
    const [current, found] = await withTenantPipelined(
      deps.db,
      tenantId,
      async (tx) => {
        const scope = { db: tx, tenantId };
        const leased = repo.leaseEndpoint(scope, endpointId, holder, now, new Date(now.getTime() + lease));
        const claimed = repo.claimDueDeliveries(scope, endpointId, holder, now, batchSize, cursor);
        return { result: Promise.all([leased, claimed]), writes: [leased, claimed], unflushed: true };
      },
      { asyncCommit: true },
    );
    if (!current?.enabled) drained = true;
    else endpoint = current;
    if (found.claimed.length > 0) {
      const destination = await prepareDestination({
        url: endpoint!.url,
        secrets: signingSecrets(endpoint!, now),
        timeoutMs: settings.timeoutMs,
        allowPrivate: settings.allowPrivate,
      });
      queue.push({ deliveries: found.claimed, destination, next: 0 });
      queued += found.claimed.length;
    }
    cursor = found.cursor ?? cursor;
    if (found.claimed.length < batchSize) drained = true;
  };
  const overBudget = () => performance.now() - started > budgetMs;
  /**
   * Claims the next batch once the queue is down to one batch (time for a claim's round trips while that batch
   * is sent: with half a batch the senders sat idle at each claim; at most two batches leased at once, as the
   * lease allows), unless one is being claimed or nothing more is due.
   */
  const refill = (): Promise<void> | undefined => {
    if (!claiming && !drained && !stopped && queued <= batchSize && !overBudget()) {
      claiming = claim()
        .catch(fail)
        .finally(() => (claiming = undefined));
    }
    return claiming;
  };

  let outcomes = repo.attemptColumns('scheduled');
  let recording: Promise<void> = Promise.resolve();
  /** Records the outcomes so far behind the ones before them (one transaction at a time, in order). */
  const record = () => {
    if (outcomes.rowIds.length === 0 || !endpoint) return;
    const batch = outcomes;
    const target = endpoint;
    outcomes = repo.attemptColumns('scheduled');
    recording = recording
      .then(async () => {
        if (await recordSent(deps, tenantId, target, batch, settings)) stopped = true;
      })
      .catch(fail);
  };

  let attempted = 0;
  // Attempts are started from the callbacks of those that end (and of the claims that fill the queue), up to
  // `concurrency` at once: no promise, async frame or record object per attempt.
  let running = 0;
  let finished!: () => void;
  const allDone = new Promise<void>((resolve) => (finished = resolve));
  let pumping = false;
  let pumpAgain = false;
  let awaitingClaim = false;
  const ended = (delivery: repo.ClaimedDelivery, startedAt: number, result: SendResult) => {
    running -= 1;
    attempted += 1;
    appendAttempt(outcomes, delivery, startedAt, result);
    if (result.status === 410) {
      stopped = true;
      record();
    } else if (outcomes.rowIds.length >= batchSize) record();
    pump();
  };
  const start = (delivery: repo.ClaimedDelivery, destination: Destination) => {
    const startedAt = deps.clock.now().getTime();
    if (!destination.ok) ended(delivery, startedAt, refused(destination.reason));
    else
      destination.send(
        { id: delivery.messageId, timestamp: Math.floor(startedAt / 1000), body: delivery.body },
        (result) => ended(delivery, startedAt, result),
      );
  };
  /** Starts queued deliveries while slots are free; claims more when the queue runs low; ends when all is done. */
  const pump = () => {
    // An attempt can end within `send` (a request that cannot be made): its pump runs in this loop, not nested.
    if (pumping) {
      pumpAgain = true;
      return;
    }
    pumping = true;
    do {
      pumpAgain = false;
      while (!stopped && running < settings.concurrency && queued > 0) {
        const batch = queue[0];
        const delivery = batch.deliveries[batch.next]!;
        batch.deliveries[batch.next++] = undefined;
        const destination = batch.destination;
        if (batch.next === batch.deliveries.length) queue.shift();
        queued -= 1;
        running += 1;
        void refill();
        const wait = foregroundBusy() ? foregroundDelay(settings.busyRate) : 0;
        if (wait > 0) setTimeout(start, wait, delivery, destination);
        else start(delivery, destination);
      }
    } while (pumpAgain);
    pumping = false;
    if (!stopped && queued === 0) {
      // Free slots wait for the claim being made, if any (one callback, however many slots).
      const pending = refill();
      if (pending) {
        if (!awaitingClaim) {
          awaitingClaim = true;
          void pending.then(() => {
            awaitingClaim = false;
            pump();
          });
        }
        return;
      }
    }
    if (running === 0) finished();
  };

  await refill();
  pump();
  await allDone;
  record();
  await recording;
  // Every outcome is recorded (or failed): the lease is given up, so the next job need not wait for it to lapse.
  // Deliveries still queued (stopped by a 410) were never written: still due, sent by the next holder.
  if (endpoint) {
    const released = withTenantPipelined(
      deps.db,
      tenantId,
      async (tx) => {
        const release = repo.releaseEndpoint({ db: tx, tenantId }, endpointId, holder);
        return { result: release, writes: [release], unflushed: true };
      },
      { asyncCommit: true },
    );
    await released.catch((error) => {
      failure ??= error;
    });
  }
  if (failure !== undefined) throw failure;
  return { attempted, more: !stopped && !drained };
}
