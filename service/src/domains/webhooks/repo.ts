// The webhooks domain's SQL: endpoints (leased by a delivery job), messages, deliveries and the attempt log.
import { plainArray, quotedArray, type Db, type TenantScope } from '../../platform/db.ts';

export interface Endpoint {
  id: string;
  url: string;
  description: string;
  eventTypes: string[];
  enabled: boolean;
  disabledReason: 'manual' | 'gone' | 'failing' | null;
  disabledAt: Date | null;
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: Date | null;
  failingSince: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

function fromDbEndpoint(r: Record<string, any>): Endpoint {
  return {
    id: r.id,
    url: r.url,
    description: r.description,
    eventTypes: r.event_types,
    enabled: r.enabled,
    disabledReason: r.disabled_reason,
    disabledAt: r.disabled_at,
    secret: r.secret,
    previousSecret: r.previous_secret,
    previousSecretExpiresAt: r.previous_secret_expires_at,
    failingSince: r.failing_since,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export async function insertEndpoint({ db, tenantId }: TenantScope, e: Endpoint): Promise<void> {
  await db`
    insert into webhook_endpoints (tenant_id, id, url, description, event_types, enabled, disabled_reason, disabled_at, secret, created_at, updated_at)
    values (${tenantId}, ${e.id}, ${e.url}, ${e.description}, ${e.eventTypes}, ${e.enabled}, ${e.disabledReason}, ${e.disabledAt}, ${e.secret}, ${e.createdAt}, ${e.updatedAt})`;
}

export async function findEndpoint(
  { db, tenantId }: TenantScope,
  id: string,
  options: { lock?: boolean } = {},
): Promise<Endpoint | undefined> {
  const [row] = await db`
    select * from webhook_endpoints where tenant_id = ${tenantId} and id = ${id} and deleted_at is null
    ${options.lock ? db`for update` : db``}`;
  return row ? fromDbEndpoint(row) : undefined;
}

export async function listEndpoints({ db, tenantId }: TenantScope): Promise<Endpoint[]> {
  const rows =
    await db`select * from webhook_endpoints where tenant_id = ${tenantId} and deleted_at is null order by created_at, id`;
  return rows.map(fromDbEndpoint);
}

export async function updateEndpoint({ db, tenantId }: TenantScope, e: Endpoint): Promise<void> {
  await db`
    update webhook_endpoints set url = ${e.url}, description = ${e.description}, event_types = ${e.eventTypes}, enabled = ${e.enabled},
      disabled_reason = ${e.disabledReason}, disabled_at = ${e.disabledAt}, secret = ${e.secret}, previous_secret = ${e.previousSecret},
      previous_secret_expires_at = ${e.previousSecretExpiresAt}, failing_since = ${e.failingSince}, updated_at = ${e.updatedAt}
    where tenant_id = ${tenantId} and id = ${e.id}`;
}

export async function deleteEndpoint({ db, tenantId }: TenantScope, id: string, now: Date): Promise<void> {
  await db`update webhook_endpoints set deleted_at = ${now}, updated_at = ${now} where tenant_id = ${tenantId} and id = ${id}`;
}

/** An enabled endpoint's pending deliveries become due now (after it was enabled again). */
export async function resumeDeliveries({ db, tenantId }: TenantScope, endpointId: string, now: Date): Promise<void> {
  await db`
    update webhook_deliveries set next_attempt_at = ${now}
    where tenant_id = ${tenantId} and endpoint_id = ${endpointId} and status = 'pending' and next_attempt_at > ${now}`;
}

/**
 * Disables an enabled endpoint for `reason` (`failing` only when its failing streak began at or before
 * `failingCutoff`); the endpoint as it was disabled, or undefined when it was not.
 */
export async function disableEndpoint(
  { db, tenantId }: TenantScope,
  endpointId: string,
  reason: 'gone' | 'failing',
  now: Date,
  failingCutoff?: Date,
): Promise<Endpoint | undefined> {
  const [row] = await db`
    update webhook_endpoints set enabled = false, disabled_reason = ${reason}, disabled_at = ${now}, updated_at = ${now}
    where tenant_id = ${tenantId} and id = ${endpointId} and enabled and deleted_at is null
    ${failingCutoff ? db`and failing_since <= ${failingCutoff}` : db``}
    returning *`;
  return row ? fromDbEndpoint(row) : undefined;
}

export interface Message {
  id: string;
  eventType: string;
  notificationId: string | null;
  body: string;
  createdAt: Date;
}

export async function insertMessage({ db, tenantId }: TenantScope, m: Message): Promise<void> {
  await db`
    insert into webhook_messages (tenant_id, id, event_type, notification_id, body, created_at)
    values (${tenantId}, ${m.id}, ${m.eventType}, ${m.notificationId}, ${m.body}, ${m.createdAt})`;
}

export async function findMessage({ db, tenantId }: TenantScope, id: string): Promise<Message | undefined> {
  const [r] = await db`select * from webhook_messages where tenant_id = ${tenantId} and id = ${id}`;
  return r
    ? { id: r.id, eventType: r.event_type, notificationId: r.notification_id, body: r.body, createdAt: r.created_at }
    : undefined;
}

export async function listMessages(
  { db, tenantId }: TenantScope,
  filter: { eventType?: string; since?: Date; until?: Date; limit: number },
): Promise<(Message & { deliveries: { endpointId: string; status: string; attempts: number }[] })[]> {
  const rows = await db`
    select m.*, coalesce((select json_agg(json_build_object('endpoint_id', d.endpoint_id, 'status', d.status, 'attempts', d.attempts) order by d.endpoint_id)
                          from webhook_deliveries d where d.tenant_id = m.tenant_id and d.message_id = m.id), '[]') as deliveries
    from webhook_messages m
    where m.tenant_id = ${tenantId}
    ${filter.eventType ? db`and m.event_type = ${filter.eventType}` : db``}
    ${filter.since ? db`and m.created_at >= ${filter.since}` : db``}
    ${filter.until ? db`and m.created_at < ${filter.until}` : db``}
    order by m.created_at desc, m.id desc limit ${filter.limit}`;
  return rows.map((r) => ({
    id: r.id,
    eventType: r.event_type,
    notificationId: r.notification_id,
    body: r.body,
    createdAt: r.created_at,
    deliveries: (r.deliveries as { endpoint_id: string; status: string; attempts: number }[]).map((d) => ({
      endpointId: d.endpoint_id,
      status: d.status,
      attempts: d.attempts,
    })),
  }));
}

export interface Delivery {
  endpointId: string;
  messageId: string;
  eventType: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  nextAttemptAt: Date | null;
  lastAttemptAt: Date | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: Date;
}

function fromDbDelivery(r: Record<string, any>): Delivery {
  return {
    endpointId: r.endpoint_id,
    messageId: r.message_id,
    eventType: r.event_type,
    status: r.status,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastAttemptAt: r.last_attempt_at,
    lastStatusCode: r.last_status_code,
    lastError: r.last_error,
    createdAt: r.created_at,
  };
}

/** A delivery of the message to the endpoint, due now; one already there is left as it is. */
export async function insertDelivery(
  { db, tenantId }: TenantScope,
  endpointId: string,
  messageId: string,
  now: Date,
): Promise<void> {
  await db`
    insert into webhook_deliveries (tenant_id, endpoint_id, message_id, status, next_attempt_at, created_at)
    values (${tenantId}, ${endpointId}, ${messageId}, 'pending', ${now}, ${now})
    on conflict do nothing`;
}

export async function findDelivery(
  { db, tenantId }: TenantScope,
  endpointId: string,
  messageId: string,
  options: { lock?: boolean } = {},
): Promise<Delivery | undefined> {
  const [r] = await db`
    select d.*, m.event_type from webhook_deliveries d join webhook_messages m on m.tenant_id = d.tenant_id and m.id = d.message_id
    where d.tenant_id = ${tenantId} and d.endpoint_id = ${endpointId} and d.message_id = ${messageId}
    ${options.lock ? db`for update of d` : db``}`;
  return r ? fromDbDelivery(r) : undefined;
}

export async function listDeliveries(
  { db, tenantId }: TenantScope,
  endpointId: string,
  filter: { status?: string; limit: number; startingAfter?: string },
): Promise<Delivery[]> {
  const rows = await db`
    select d.*, m.event_type from webhook_deliveries d join webhook_messages m on m.tenant_id = d.tenant_id and m.id = d.message_id
    where d.tenant_id = ${tenantId} and d.endpoint_id = ${endpointId}
    ${filter.status ? db`and d.status = ${filter.status}` : db``}
    ${
      filter.startingAfter
        ? db`and (d.created_at, d.message_id) < (select created_at, message_id from webhook_deliveries
               where tenant_id = ${tenantId} and endpoint_id = ${endpointId} and message_id = ${filter.startingAfter})`
        : db``
    }
    order by d.created_at desc, d.message_id desc limit ${filter.limit}`;
  return rows.map(fromDbDelivery);
}

export interface ClaimedDelivery {
  messageId: string;
  body: string;
  attempts: number;
  status: 'pending' | 'succeeded' | 'failed';
  /**
   * The claimed row version (its ctid): the outcome is written there, so only if nobody changed the delivery
   * since the claim (a manual retry, a replay), and without a plan that could scan the backlog.
   */
  rowId: string;
}

/** Where a job's last claim ended: the claimed deliveries' greatest (due instant as text, message id). */
export interface ClaimCursor {
  dueAt: string;
  messageId: string;
}

/**
 * Takes or renews the endpoint's lease for `holder` until `leaseUntil`, if it is enabled and its lease is free, lapsed
 * or already `holder`'s: the endpoint as leased, or undefined (off, deleted, or another job's). One row written per
 * claimed batch: its deliveries are not written until their outcome (migration 129).
 */
export async function leaseEndpoint(
  { db, tenantId }: TenantScope,
  endpointId: string,
  holder: string,
  now: Date,
  leaseUntil: Date,
): Promise<Endpoint | undefined> {
  const [row] = await db`
    update webhook_endpoints set lease_holder = ${holder}, lease_until = ${leaseUntil}
    where tenant_id = ${tenantId} and id = ${endpointId} and enabled and deleted_at is null
      and (lease_holder = ${holder} or lease_until is null or lease_until <= ${now})
    returning *`;
  return row ? fromDbEndpoint(row) : undefined;
}

/** Gives the endpoint's lease up, if `holder` still has it: the next job need not wait for it to lapse. */
export async function releaseEndpoint(
  { db, tenantId }: TenantScope,
  endpointId: string,
  holder: string,
): Promise<void> {
  await db`
    update webhook_endpoints set lease_holder = null, lease_until = null
    where tenant_id = ${tenantId} and id = ${endpointId} and lease_holder = ${holder}`;
}

/**
 * Up to `limit` due deliveries of one endpoint whose lease `holder` has (taken in the same transaction, by
 * leaseEndpoint), read without writing them: the lease keeps other jobs off them, and if this one dies they are
 * still due when it lapses. In the due index's order, after `after` (the previous claim's end) when given: the
 * deliveries read before and not yet recorded are still pending and due; with the cursor of this claim's end.
 * Each row's ctid is kept for its outcome, written there only if nobody changed the delivery since (a manual retry).
 * The bodies are read by key in a subquery per row: no join is left for the planner to order (with the subtree
 * policies of migration 080 and no statistics for a backlog just recorded, a join read the endpoint's whole backlog
 * against each batch).
 */
export async function claimDueDeliveries(
  { db, tenantId }: TenantScope,
  endpointId: string,
  holder: string,
  now: Date,
  limit: number,
  after?: ClaimCursor,
): Promise<{ claimed: ClaimedDelivery[]; cursor: ClaimCursor | undefined }> {
  const rows = await db`
    select d.ctid::text as "rowId", d.message_id as "messageId", d.attempts, d.status,
      d.next_attempt_at::text as "dueAt",
      (select m.body from webhook_messages m where m.tenant_id = d.tenant_id and m.id = d.message_id) as body
    from webhook_deliveries d
    where d.tenant_id = ${tenantId} and d.endpoint_id = ${endpointId} and d.status = 'pending' and d.next_attempt_at <= ${now}
    ${after ? db`and (d.next_attempt_at, d.message_id) > (${after.dueAt}::timestamptz, ${after.messageId})` : db``}
      and exists (select from webhook_endpoints e where e.tenant_id = ${tenantId} and e.id = ${endpointId} and e.lease_holder = ${holder})
    order by d.next_attempt_at, d.message_id
    limit ${limit}`;
  // As text, to the microsecond with its offset (a Date would drop the microseconds), read back as the same instant.
  const last = rows.at(-1);
  const cursor = last ? { dueAt: last.dueAt, messageId: last.messageId } : undefined;
  // The rows as they come, named as a ClaimedDelivery's fields: no second object per delivery.
  return { claimed: rows as unknown as ClaimedDelivery[], cursor };
}

/** Claims one delivery whatever its state (a manual retry); pending with the lease while the attempt runs. */
export async function claimDelivery(
  { db, tenantId }: TenantScope,
  endpointId: string,
  messageId: string,
  leaseUntil: Date,
): Promise<ClaimedDelivery | undefined> {
  const [r] = await db`
    with old as (
      select message_id, status from webhook_deliveries
      where tenant_id = ${tenantId} and endpoint_id = ${endpointId} and message_id = ${messageId} for update
    )
    update webhook_deliveries d set status = 'pending', next_attempt_at = ${leaseUntil}
    from old, webhook_messages m
    where d.tenant_id = ${tenantId} and d.endpoint_id = ${endpointId} and d.message_id = old.message_id
      and m.tenant_id = d.tenant_id and m.id = d.message_id
    returning d.ctid::text as "rowId", d.message_id as "messageId", d.attempts, old.status, m.body`;
  return r as ClaimedDelivery | undefined;
}

/**
 * A batch of attempts of one endpoint as columns, attempt i at index i of each: filled as the attempts end, with no
 * object per attempt, and each column sent as one array literal.
 */
export interface AttemptColumns {
  trigger: 'scheduled' | 'manual';
  /** The claimed row versions (ClaimedDelivery.rowId). */
  rowIds: string[];
  messageIds: string[];
  attempts: number[];
  /** Milliseconds since the epoch. */
  startedAt: number[];
  succeeded: boolean[];
  statusCodes: (number | null)[];
  latencyMs: number[];
  responseExcerpts: string[];
  errors: (string | null)[];
  /** The delivery after the attempt, and when it is due again (milliseconds since the epoch) if pending. */
  statuses: ('pending' | 'succeeded' | 'failed')[];
  nextAttemptAt: (number | null)[];
}

/** An empty batch of attempts made by `trigger`. */
export function attemptColumns(trigger: AttemptColumns['trigger']): AttemptColumns {
  return {
    trigger,
    rowIds: [],
    messageIds: [],
    attempts: [],
    startedAt: [],
    succeeded: [],
    statusCodes: [],
    latencyMs: [],
    responseExcerpts: [],
    errors: [],
    statuses: [],
    nextAttemptAt: [],
  };
}

/** What a batch of attempts says of its endpoint: one succeeded (its failing streak ends), or the first failure. */
export interface EndpointHealth {
  succeeded: boolean;
  firstFailureAt: Date | null;
}

/**
 * The attempts of one endpoint's batch, their deliveries' new state and the endpoint's health: one statement, its
 * rows sent as one array literal a column (unnest; instants as milliseconds since the epoch; the row versions as one
 * text split on spaces, since a ctid's text holds a comma and no space: nothing to quote). The log's rows are of
 * claimed deliveries, which are never deleted: no foreign key checks each one (migration 140).
 * The deliveries are updated by the claimed row versions (a TID fetch per row, as the claim): a delivery changed
 * since its claim keeps that change. The tenant and endpoint are pinned inside the materialized rows and the
 * deliveries tied to them, not compared with constants: a constant (tenant, endpoint) key prefix, its selectivity
 * counted again beside the tenant policy and with no statistics yet for a backlog just recorded, looked like one
 * row to the planner, which then read the endpoint's every delivery at each outcome batch (a drain's cost grew with
 * the square of its backlog; test/webhooks/outcomes.test.ts counts the reads). The tenant is also compared on `d`
 * itself, so the statement names its shard (Citus routes by it), and the TID fetch stays the plan.
 */
export async function recordAttempts(
  { db, tenantId }: TenantScope,
  endpointId: string,
  attempts: AttemptColumns,
  health: EndpointHealth,
): Promise<void> {
  if (attempts.rowIds.length === 0) return;
  const healthUpdate = health.succeeded
    ? db`update webhook_endpoints set failing_since = null where tenant_id = ${tenantId} and id = ${endpointId} and failing_since is not null`
    : health.firstFailureAt
      ? db`update webhook_endpoints set failing_since = ${health.firstFailureAt} where tenant_id = ${tenantId} and id = ${endpointId} and failing_since is null`
      : db`select`;
  await db`
    with u as materialized (
      select u.row_id, u.message_id, u.attempt, ${attempts.trigger}::text as trigger, to_timestamp(u.started_ms / 1000) as started_at,
        u.succeeded, u.status_code, u.latency_ms, u.response_excerpt, u.error, u.status,
        to_timestamp(u.next_attempt_ms / 1000) as next_attempt_at, k.tenant_id, k.endpoint_id
      from unnest(string_to_array(${attempts.rowIds.join(' ')}, ' ')::tid[], ${plainArray(attempts.messageIds)}::text[], ${plainArray(attempts.attempts)}::int[],
          ${plainArray(attempts.startedAt)}::float8[], ${plainArray(attempts.succeeded.map(String))}::boolean[],
          ${plainArray(attempts.statusCodes)}::int[], ${plainArray(attempts.latencyMs)}::int[], ${quotedArray(attempts.responseExcerpts)}::text[],
          ${quotedArray(attempts.errors)}::text[], ${plainArray(attempts.statuses)}::text[], ${plainArray(attempts.nextAttemptAt)}::float8[])
          as u(row_id, message_id, attempt, started_ms, succeeded, status_code, latency_ms, response_excerpt, error, status, next_attempt_ms),
        (select ${tenantId}::uuid as tenant_id, ${endpointId}::uuid as endpoint_id) k
      where k.tenant_id = ${tenantId}
    ), outcomes as (
      update webhook_deliveries d set status = u.status, attempts = u.attempt, next_attempt_at = u.next_attempt_at,
        last_attempt_at = u.started_at, last_status_code = u.status_code, last_error = u.error
      from u
      where d.ctid = any(array(select row_id from u)) and d.ctid = u.row_id
        and d.tenant_id = ${tenantId} and d.tenant_id = u.tenant_id and d.endpoint_id = u.endpoint_id and d.message_id = u.message_id
    ), log as (
      insert into webhook_attempts (tenant_id, endpoint_id, message_id, attempt, trigger, started_at, succeeded, status_code, latency_ms, response_excerpt, error)
      select tenant_id, endpoint_id, message_id, attempt, trigger, started_at, succeeded, status_code, latency_ms, response_excerpt, error from u
    ), health as (${healthUpdate})
    select`;
}

export interface Attempt {
  id: string;
  endpointId: string;
  messageId: string;
  attempt: number;
  trigger: 'scheduled' | 'manual';
  startedAt: Date;
  succeeded: boolean;
  statusCode: number | null;
  latencyMs: number;
  responseExcerpt: string;
  error: string | null;
}

export async function listAttempts(
  { db, tenantId }: TenantScope,
  messageId: string,
  endpointId?: string,
): Promise<Attempt[]> {
  const rows = await db`
    select * from webhook_attempts where tenant_id = ${tenantId} and message_id = ${messageId}
    ${endpointId ? db`and endpoint_id = ${endpointId}` : db``}
    order by id`;
  return rows.map((r) => ({
    id: String(r.id),
    endpointId: r.endpoint_id,
    messageId: r.message_id,
    attempt: r.attempt,
    trigger: r.trigger,
    startedAt: r.started_at,
    succeeded: r.succeeded,
    statusCode: r.status_code,
    latencyMs: r.latency_ms,
    responseExcerpt: r.response_excerpt,
    error: r.error,
  }));
}

/**
 * Queues the messages of [since, until) that the endpoint's filter takes: new deliveries for those it never
 * had, due now again for those that failed (and those that succeeded, if asked). How many were queued.
 */
export async function replayDeliveries(
  { db, tenantId }: TenantScope,
  endpoint: Endpoint,
  range: { since: Date; until: Date; includeSucceeded: boolean },
  now: Date,
): Promise<number> {
  const result = await db`
    insert into webhook_deliveries (tenant_id, endpoint_id, message_id, status, next_attempt_at, created_at)
    select ${tenantId}, ${endpoint.id}, m.id, 'pending', ${now}, ${now} from webhook_messages m
    where m.tenant_id = ${tenantId} and m.created_at >= ${range.since} and m.created_at < ${range.until}
      and (${endpoint.eventTypes.length === 0} or m.event_type = any(${endpoint.eventTypes}::text[]))
    on conflict (tenant_id, endpoint_id, message_id) do update set status = 'pending', next_attempt_at = ${now}
    where webhook_deliveries.status = 'failed'
      or (webhook_deliveries.status = 'pending' and webhook_deliveries.next_attempt_at > ${now})
      or (${range.includeSucceeded} and webhook_deliveries.status = 'succeeded')`;
  return result.count;
}

/** Every tenant's endpoints with deliveries due (the delivery jobs' cross-tenant read). */
export async function findDueEndpoints(
  db: Db,
  now: Date,
  limit: number,
): Promise<{ tenantId: string; endpointId: string }[]> {
  const rows = await db`select tenant_id, endpoint_id from webhook_due_endpoints(${now}, ${limit})`;
  return rows.map((r) => ({ tenantId: r.tenant_id, endpointId: r.endpoint_id }));
}
