// PostgreSQL access: connection targets (real PostgreSQL or embedded PGlite), the tenant transaction, error helpers.
import { AsyncLocalStorage } from 'node:async_hooks';
import fs from 'node:fs/promises';
import path from 'node:path';
import postgres from 'postgres';
import type { Config } from './config.ts';
import type { Logger } from './log.ts';

type Types = { bigint: postgres.PostgresType<bigint> };
export type Db = postgres.Sql<{ bigint: bigint }>;
export type Tx = postgres.TransactionSql<{ bigint: bigint }>;
/** What repos take: a transaction and the tenant it is scoped to. */
export interface TenantScope {
  db: Tx;
  tenantId: string;
}

/** The role the service runs as: no ownership, no BYPASSRLS (created by migration 001). */
export const SERVICE_ROLE = 'tariff_app';

export interface DatabaseTarget {
  embedded: boolean;
  /** Owner connection: migrations only. */
  ownerOptions: postgres.Options<Types> & { url?: string };
  /** Service connection. */
  appOptions: postgres.Options<Types> & { url?: string };
  stop(): Promise<void>;
}

export const baseOptions: postgres.Options<Types> = {
  types: { bigint: postgres.BigInt },
  onnotice: (notice) => sessionObserver?.notice(notice),
  connection: { application_name: 'tariff' },
};

/**
 * Told of every notice the server sends and of the end of every withTenant transaction, with its connection's
 * backend pid: a notice raised by a statement arrives on its connection before the transaction's COMMIT does, so
 * an observer knows what a transaction wrote by the time it ends (budgets/check-cache.ts keeps the entitlement
 * check's state by them).
 */
export interface SessionObserver {
  notice(notice: postgres.Notice): void;
  ended(pid: number, committed: boolean): void;
}
let sessionObserver: SessionObserver | undefined;
export function observeSessions(observer: SessionObserver): void {
  sessionObserver = observer;
}

const embeddedPools = new WeakSet<Db>();
/** Whether the pool is on embedded PGlite (one backend: no connection of its own for LISTEN). */
export function isEmbedded(db: Db): boolean {
  return embeddedPools.has(db);
}

export function connect(options: postgres.Options<Types> & { url?: string }): Db {
  const { url, ...rest } = options;
  return (url ? postgres(url, rest) : postgres(rest)) as unknown as Db;
}

/**
 * With DATABASE_URL: the owner connects with it and the service as `tariff_app` on the same server.
 * Without: PGlite in `<dataDir>/pglite` behind pglite-socket on a loopback port.
 */
export async function resolveDatabase(config: Config, logger: Logger): Promise<DatabaseTarget> {
  if (config.databaseUrl) {
    const appUrl = config.appDatabaseUrl ?? deriveServiceUrl(config.databaseUrl, config.appDatabasePassword);
    return {
      embedded: false,
      ownerOptions: { ...baseOptions, url: config.databaseUrl, max: 1 },
      appOptions: { ...baseOptions, url: appUrl, max: config.poolSize },
      stop: async () => {},
    };
  }
  return startEmbeddedDatabase(path.join(config.dataDir, 'pglite'), logger);
}

export function deriveServiceUrl(ownerUrl: string, password?: string): string {
  const url = new URL(ownerUrl);
  url.username = SERVICE_ROLE;
  url.password = password ? encodeURIComponent(password) : '';
  return url.toString();
}

/**
 * PGlite is one single-user backend: the socket server multiplexes client connections onto it message by
 * message, so two postgres.js connections would interleave their Parse/Bind/Execute messages outside a
 * transaction (observed: "bind message supplies 2 parameters" errors). One connection per pool, owner and
 * service never open at the same time (migrations finish before the service pool opens).
 */
async function startEmbeddedDatabase(dataDir: string, logger: Logger): Promise<DatabaseTarget> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  await fs.mkdir(dataDir, { recursive: true });
  const pglite = await PGlite.create(dataDir);
  const server = new PGLiteSocketServer({ db: pglite, host: '127.0.0.1', port: 0, maxConnections: 2 });
  await server.start();
  const [host, port] = server.getServerConn().split(':');
  logger.info('embedded database started', { data_dir: dataDir, socket: `${host}:${port}` });
  const options = { ...baseOptions, host, port: Number(port), database: 'postgres', username: 'postgres', max: 1 };
  return {
    embedded: true,
    ownerOptions: options,
    appOptions: options,
    stop: async () => {
      await server.stop();
      await pglite.close();
    },
  };
}

/**
 * The service pool. On PGlite the one backend's session user is a superuser, so the session also switches
 * to the service role once: a query that skips withTenant is then filtered by RLS as on PostgreSQL. (The
 * switch is session state of the single backend; unlike a PostgreSQL login it can be undone by RESET ROLE.)
 */
export async function connectService(target: DatabaseTarget): Promise<Db> {
  const db = connect(target.appOptions);
  if (target.embedded) {
    embeddedPools.add(db);
    await db.unsafe(`set role ${SERVICE_ROLE}`);
  }
  return db;
}

/**
 * Runs `fn` in a transaction as the service role with `app.tenant_id` set, which every RLS policy reads.
 * Both settings are transaction-local, so a pooled connection never carries a tenant into the next use.
 * Setting the role matters on PGlite, whose only user is a superuser; on PostgreSQL the login role already is it.
 */
export function withTenant<T>(db: Db, tenantId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  let pid = 0;
  const transaction = db.begin(async (tx) => {
    // Sent now and pipelined with fn's first query (one round trip); queries on a transaction run in order.
    const settings = enterTenant(tx, tenantId, (backend) => (pid = backend));
    const [, result] = await Promise.all([settings, fn(tx)]);
    return result;
  }) as Promise<T>;
  return transaction.then(
    (result) => {
      sessionObserver?.ended(pid, true);
      return result;
    },
    (error) => {
      sessionObserver?.ended(pid, false);
      throw error;
    },
  );
}

/**
 * The subtree a request is confined to: set by authentication around the whole request (a reseller-scoped key),
 * read by every withTenant of that tenant inside it, which then sets `app.subtree_root` next to `app.tenant_id`
 * and migration 080's policies confine the transaction to the customer's subtree. Carried in async context
 * rather than passed down so that no transaction opened while serving such a request can forget it.
 */
interface SubtreeScope {
  tenantId: string;
  rootCustomerId: string;
}
const subtreeScope = new AsyncLocalStorage<SubtreeScope>();

/**
 * Runs `fn` (and everything it starts) confined to the subtree of `subtreeRootId` when one is given, else
 * tenant-wide whatever the caller's context was (work shared between callers, e.g. ingestion's coalesced
 * transactions, says so explicitly).
 */
export function withinSubtree<T>(scope: { tenantId: string; subtreeRootId?: string }, fn: () => T): T {
  if (!scope.subtreeRootId) return subtreeScope.exit(fn);
  return subtreeScope.run({ tenantId: scope.tenantId, rootCustomerId: scope.subtreeRootId }, fn);
}

/**
 * The transaction's role and tenant (sent at once, answered in order), with `genericPlans` its plan cache mode too
 * (withTenantPipelined), and its connection's backend pid to `onPid`. One statement: a setting more costs no more.
 */
function enterTenant(
  tx: Tx,
  tenantId: string,
  onPid: (pid: number) => void,
  genericPlans = false,
  asyncCommit = false,
) {
  const scope = subtreeScope.getStore();
  if (scope && scope.tenantId !== tenantId) throw new Error('a subtree-scoped request opened another tenant');
  const plans = tx`${genericPlans ? tx`, set_config('plan_cache_mode', 'force_generic_plan', true)` : tx``}${
    asyncCommit ? tx`, set_config('synchronous_commit', 'off', true)` : tx``
  }`;
  const settings = scope
    ? tx`select set_config('role', ${SERVICE_ROLE}, true), set_config('app.tenant_id', ${tenantId}, true), set_config('app.subtree_root', ${scope.rootCustomerId}, true)${plans}`.execute()
    : tx`select set_config('role', ${SERVICE_ROLE}, true), set_config('app.tenant_id', ${tenantId}, true)${plans}`.execute();
  void settings.then(
    (r) => onPid(r.state.pid),
    () => {},
  );
  return settings;
}

/** How many text parameters a `jsonRows` document is sent in: a constant, so its statement's text is one. */
const jsonChunks = 12;
/**
 * Characters per chunk aimed at: a string over 128 KiB is a large object to V8, and stringifying, flattening (the
 * client reads a parameter's first character) and collecting one cost several times what chunks of it do
 * (BENCHMARKS.md). Half of that in characters, as a string with a character beyond Latin-1 takes two bytes each.
 */
const jsonChunkChars = 56_000;

/**
 * Rows as one json value for `json_to_recordset`, stringified in chunks of at most about `jsonChunkChars` (each
 * chunk's rows sized from the one before; the last takes what is left) and joined by PostgreSQL. Rows carry
 * instants as ISO text, not Dates: JSON.stringify calls a Date's toJSON, which takes it off its fast path.
 */
export function jsonRows(db: Tx, rows: readonly object[]): postgres.PendingQuery<postgres.Row[]> {
  const chunks: (string | null)[] = [];
  let at = 0;
  let size = Math.min(rows.length, 16);
  do {
    const end = chunks.length === jsonChunks - 1 ? rows.length : Math.min(rows.length, at + size);
    const text = JSON.stringify(at === 0 && end === rows.length ? rows : rows.slice(at, end));
    // The array's elements without its brackets: PostgreSQL joins the chunks into one array.
    chunks.push(text.slice(1, -1));
    size = Math.max(1, Math.floor((jsonChunkChars * (end - at)) / text.length));
    at = end;
  } while (at < rows.length);
  while (chunks.length < jsonChunks) chunks.push(null);
  const [c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11] = chunks;
  // concat_ws skips the chunks not used (null).
  return db`concat('[', concat_ws(',', ${c0}::text, ${c1}::text, ${c2}::text, ${c3}::text, ${c4}::text, ${c5}::text,
                                  ${c6}::text, ${c7}::text, ${c8}::text, ${c9}::text, ${c10}::text, ${c11}::text), ']')::json`;
}

/** A character that would make a plain element of an array literal mean something else, or end it. */
const unsafeInPlainArray = /[{}"\\\s]/;

/**
 * Values as a PostgreSQL array literal (`{a,b,NULL}`) for one column of `unnest(${text}::uuid[], ...)`: values that
 * need no quoting (uuids, ISO instants and days, decimals and integers as text), null as NULL. PostgreSQL reads such
 * columns in less time than `json_to_recordset` reads the same rows as objects, and the literal is one join here.
 * Throws on an element that would need quoting (a comma, brace, quote, backslash or space) or is empty.
 */
export function plainArray(values: readonly (string | number | null)[]): string {
  const text = `{${(values.includes(null) ? values.map((v) => (v === null ? 'NULL' : v)) : values).join(',')}}`;
  let commas = 0;
  for (let at = text.indexOf(','); at >= 0; at = text.indexOf(',', at + 1)) commas++;
  if (unsafeInPlainArray.test(text.slice(1, -1)) || commas !== Math.max(0, values.length - 1) || values.includes(''))
    throw new Error(`plainArray: an element needs quoting: ${text.slice(0, 200)}`);
  return text;
}

/** Text values (e.g. json) as a PostgreSQL array literal, each element quoted, `"` and `\\` escaped; null as NULL. */
export function quotedArray(values: readonly (string | null)[]): string {
  // A column repeats a few values (a meter's groups): each escaped once.
  const quoted = new Map<string, string>();
  const quote = (v: string | null) => {
    if (v === null) return 'NULL';
    let text = quoted.get(v);
    if (text === undefined) quoted.set(v, (text = `"${v.replace(/["\\]/g, '\\$&')}"`));
    return text;
  };
  return `{${values.map(quote).join(',')}}`;
}

/**
 * Values as json for one column of `unnest(${text}::json[])` or `::jsonb[]` (undefined and null as SQL NULL). Each is
 * stringified, and the column of texts stringified again: a JSON text holds no raw control character, so that outer
 * JSON.stringify only escapes `"` and `\\`, which is how an array literal quotes an element, in one native call
 * instead of a replace per element. Its `null`s read as NULL.
 */
export function jsonArray(values: readonly unknown[]): string {
  const texts = values.map((v) => (v === undefined || v === null ? null : JSON.stringify(v)));
  return `{${JSON.stringify(texts).slice(1, -1)}}`;
}

/** A statement built and not yet sent: awaiting it sends it alone; `oneStatement` sends several as one. */
export type Statement = postgres.PendingQuery<postgres.Row[]>;

/**
 * Writes to different tables sent as one statement, each a data-modifying WITH query (PostgreSQL runs every one of
 * them to completion): one parse, plan and execution instead of one per table. They share one snapshot, so none may
 * read what another writes, and no two may write the same table (only one of two updates of a row would count).
 * Foreign keys are checked at the end of the statement, when every part has run. Sent at once.
 */
export function oneStatement(tx: Tx, statements: (Statement | undefined)[]): Promise<unknown> {
  const parts = statements.filter((s): s is Statement => s !== undefined);
  if (parts.length <= 1) return parts[0]?.execute() ?? Promise.resolve();
  let ctes = tx`with w0 as (${parts[0]})`;
  for (let i = 1; i < parts.length; i++) ctes = tx`${ctes}, ${tx.unsafe(`w${i}`)} as (${parts[i]})`;
  return tx`${ctes} select`.execute();
}

/**
 * What a pipelined transaction's body gives back: its result, and the writes whose answers COMMIT follows.
 * Every write must be sent by the time the body returns (a statement is sent when its promise is made), or it
 * would go out after the COMMIT.
 */
export interface PipelinedBody<T> {
  result: T;
  writes: Promise<unknown>[];
  /**
   * Release the transaction's locks as soon as its COMMIT is written, and wait for it to reach the disk after
   * (withTenantPipelined's `releaseBeforeFlush`). False: the COMMIT waits for the disk as usual.
   */
  releaseBeforeFlush?: boolean;
  /**
   * Commit without waiting for the disk at all (synchronous_commit off for this transaction): a crash of the
   * server may forget it, though others saw its effects. Only for writes whose loss leads to work done again,
   * never to work skipped (a webhook claim or outcome: the delivery is sent again under its webhook-id).
   */
  unflushed?: boolean;
}

/** The transactions running under generic plans (withTenantPipelined's `genericPlans`), until they end. */
const genericTransactions = new WeakSet<object>();

/** Whether `db` is a transaction whose every statement is already planned once per connection. */
export function plansGenerically(db: Db | Tx): boolean {
  return genericTransactions.has(db);
}

/**
 * withTenant in two fewer round trips, for the hot path of ingestion: BEGIN and the settings go out with fn's
 * first statements, and COMMIT right behind the writes fn hands back, without waiting for their answers. On a
 * reserved connection the server runs them in order; a failed write aborts the transaction, so the COMMIT
 * behind it ends it as a rollback, and the write's own error is what is thrown. If fn throws, the transaction
 * is rolled back.
 */
export async function withTenantPipelined<T>(
  db: Db,
  tenantId: string,
  fn: (tx: Tx) => Promise<PipelinedBody<T>>,
  options: {
    /**
     * Plan each statement once per connection (plan_cache_mode): for a body of short lookups by key, where the
     * server would otherwise plan every statement again each time, and planning costs more than running it.
     */
    genericPlans?: boolean;
    /**
     * The body usually commits without waiting for the disk (releaseBeforeFlush or unflushed): synchronous_commit
     * is turned off with the first statements rather than by one more before the COMMIT, and turned on again
     * (one statement) only for a body that asks for neither.
     */
    asyncCommit?: boolean;
  } = {},
): Promise<T> {
  const connection = await db.reserve();
  const tx = connection as unknown as Tx;
  let pid = 0;
  let committed = false;
  if (options.genericPlans) genericTransactions.add(tx);
  try {
    const begin = tx`begin`.execute();
    const asyncCommit = options.asyncCommit === true;
    const settings = enterTenant(tx, tenantId, (backend) => (pid = backend), options.genericPlans, asyncCommit);
    let body: PipelinedBody<T>;
    try {
      [, , body] = await Promise.all([begin, settings, fn(tx)]);
    } catch (error) {
      await tx`rollback`.catch(() => {});
      throw error;
    }
    // Early lock release: the COMMIT is written without waiting for the disk, so the locks go at once, and the
    // statement behind it (a transaction of its own, committed synchronously) returns only once the WAL up to and
    // past our COMMIT is flushed. The WAL is flushed in order, so whatever a later transaction decided on top of
    // this one is durable only with it; nothing is answered before the flush.
    const early = body.releaseBeforeFlush === true;
    const unsynced =
      (early || body.unflushed === true) === asyncCommit
        ? []
        : [tx`select set_config('synchronous_commit', ${asyncCommit ? 'on' : 'off'}, true)`.execute()];
    const commit = tx`commit`.execute();
    const flushed = early ? [tx`select txid_current()`.execute()] : [];
    const settled = await Promise.allSettled([...body.writes, ...unsynced, commit, ...flushed]);
    // Answers come in the order the statements were sent: the first failure is the one that aborted the rest.
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    const ended = (settled[body.writes.length + unsynced.length] as PromiseFulfilledResult<{ command: string }>).value
      .command;
    if (ended !== 'COMMIT') throw new Error(`transaction ended with ${ended} instead of COMMIT`);
    committed = true;
    return body.result;
  } finally {
    genericTransactions.delete(tx);
    sessionObserver?.ended(pid, committed);
    connection.release();
  }
}

export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  return pgError(error, '23505', constraint);
}

export function isForeignKeyViolation(error: unknown, constraint?: string): boolean {
  return pgError(error, '23503', constraint);
}

/**
 * An error no statement's data caused: the connection failed or was closed (postgres.js's own codes, the
 * system's), or the server refused or ended the session (SQLSTATE classes 08, 53 and 57P).
 */
export function isConnectionFailure(error: unknown): boolean {
  if (error instanceof postgres.PostgresError) return /^(08|53|57P)/.test(error.code);
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(CONNECT|CONNECTION_|E[A-Z]+$)/.test(code);
}

function pgError(error: unknown, code: string, constraint?: string): boolean {
  if (!(error instanceof postgres.PostgresError) || error.code !== code) return false;
  return constraint === undefined || error.constraint_name === constraint;
}

export async function checkDatabase(db: Db): Promise<void> {
  await db`select 1`;
}
