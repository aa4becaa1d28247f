// An edge worker in front of an OpenAI-compatible API: prices each request locally with the Estimator, refuses one that
// would break the customer's budget or exhaust credits under `block`, forwards the rest, meters the real response and
// queues the metered event for Tariff. The customer's book, state and budget come from Tariff's pricing snapshot
// (Estimator.fromServer), or, offline, from bindings. Cloudflare-Workers module syntax; runs in workerd (README.md).
import {
  Estimator,
  type PriceBook,
  type StateMap,
  TariffClient,
  TariffError,
  type UsageEvent,
  usageFromResponse,
} from '../../src/index.ts';

export interface Env {
  /** The kernel, compiled: workerd cannot compile wasm at run time (see README.md for the import that binds it). */
  KERNEL: WebAssembly.Module;
  /**
   * Offline mode: the customers' effective price book and state snapshot (JSON bindings, or the same as JSON text).
   * Without BOOK, each customer's snapshot is read from TARIFF_URL (GET /v1/customers/{id}/pricing-snapshot).
   */
  BOOK?: PriceBook | string;
  STATE?: StateMap | string;
  /** Spend so far this period by customer (decimal strings), as the service's budget counts it. */
  SPEND?: Record<string, string> | string;
  /** The period budget every customer gets here (decimal string, the book's currency); absent: the snapshot's blocking budget, if any. */
  BUDGET?: string;
  /** How long a customer's snapshot is used before asking Tariff whether it changed (If-None-Match), default 30. */
  SNAPSHOT_MAX_AGE_SECONDS?: string;
  /** Base URL of the LLM API; the request's path and query are appended, e.g. https://api.openai.com. */
  UPSTREAM_URL: string;
  /**
   * Tariff's base URL: snapshots come from here (without BOOK), and each metered event is POSTed to
   * `${TARIFF_URL}/v1/events` after the response. TARIFF_API_KEY must be a secret key that may read usage and billing
   * and send events (snapshots carry balances: publishable keys may not read them).
   */
  TARIFF_URL?: string;
  TARIFF_API_KEY?: string;
  /** The catalogue provider the upstream speaks for (default openai) and the event type to meter as. */
  PROVIDER?: string;
  EVENT_TYPE?: string;
  /** Output tokens to assume when the request sets no max_tokens (default 4096). */
  DEFAULT_MAX_TOKENS?: string;
}

export interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
}

export const CUSTOMER_HEADER = 'x-tariff-customer';
/** The call's price net of the customer's discount, before credits pay for it: what budgets count. */
export const COST_HEADER = 'x-tariff-cost';
/** What is left to invoice after commitment and credits (RatedEvent.amount): 0 while credits cover the calls. */
export const CHARGED_HEADER = 'x-tariff-charged';
/** The customer's credits in force after the call. */
export const BALANCE_HEADER = 'x-tariff-balance';

/** Roughly four characters per token for English text under OpenAI's tokenizers: cheap, and errs on neither side much. */
const CHARACTERS_PER_TOKEN = 4;

/**
 * The metered events this isolate has queued, oldest first, whether or not TARIFF_URL is set; a real deployment
 * would hand them to an EventSender or a Queue. Bounded so an unreachable service cannot grow it without limit.
 */
export const outbox: UsageEvent[] = [];
const OUTBOX_LIMIT = 1000;

// One estimator per isolate: its snapshot moves on with every metered response until the isolate is recycled. It is
// a local view for refusing early, not the ledger: the service, fed by the outbox, stays the truth.
let estimator: Promise<Estimator> | undefined;

/** Per customer when snapshots come from Tariff: the estimator and whether a refresh is under way. */
const served = new Map<string, { estimator: Promise<Estimator>; refreshing?: Promise<unknown> }>();

/** The customer could not be priced: an answer for the caller instead of an estimator. */
class Unpriceable extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function estimatorFor(env: Env, customer: string): Promise<Estimator> {
  return env.BOOK === undefined ? servedEstimator(env, customer) : boundEstimator(env);
}

/**
 * The customer's estimator from its pricing snapshot, downloaded once per isolate and re-validated (If-None-Match,
 * a 304 keeps the local state with what this isolate rated since) once it is older than SNAPSHOT_MAX_AGE_SECONDS.
 * Between refreshes the snapshot moves on with every call served here; a 200 replaces it with the service's.
 */
async function servedEstimator(env: Env, customer: string): Promise<Estimator> {
  if (!env.TARIFF_URL || !env.TARIFF_API_KEY)
    throw new TypeError(
      'without a BOOK binding the worker reads snapshots from Tariff: set TARIFF_URL and TARIFF_API_KEY',
    );
  let entry = served.get(customer);
  if (!entry) {
    const client = new TariffClient({
      baseUrl: env.TARIFF_URL,
      apiKey: env.TARIFF_API_KEY,
      retry: { maxRetries: 1 },
      timeoutMs: 5000,
    });
    const estimator = Estimator.fromServer(client, customer, { wasm: env.KERNEL });
    entry = { estimator };
    served.set(customer, entry);
    estimator.catch(() => served.delete(customer)); // not cached: the next request asks again
  }
  let local: Estimator;
  try {
    local = await entry.estimator;
  } catch (error) {
    throw unpriceable(error);
  }
  const maxAge = Number(env.SNAPSHOT_MAX_AGE_SECONDS ?? 30) * 1000;
  if (!entry.refreshing && Date.now() - Date.parse(local.snapshotInfo!.confirmedAt) > maxAge) {
    // A failed refresh keeps the snapshot in use: the next request tries again.
    entry.refreshing = local
      .refresh()
      .catch(() => undefined)
      .finally(() => (entry!.refreshing = undefined));
    await entry.refreshing;
  }
  return local;
}

function unpriceable(error: unknown): Unpriceable {
  if (error instanceof TariffError && error.status === 404)
    return new Unpriceable(403, 'unknown_customer', 'Tariff knows no such customer');
  if (error instanceof TariffError && error.status === 422) return new Unpriceable(403, error.code, error.message);
  // Fail closed: without the customer's snapshot the worker cannot tell what a call may cost.
  return new Unpriceable(
    503,
    'pricing_unavailable',
    `the customer's pricing snapshot could not be read: ${(error as Error).message}`.slice(0, 300),
  );
}

function boundEstimator(env: Env): Promise<Estimator> {
  estimator ??= Estimator.create({
    wasm: env.KERNEL,
    book: json(env.BOOK, 'BOOK') as PriceBook,
    states: json(env.STATE ?? {}, 'STATE') as StateMap,
    spend: json(env.SPEND ?? {}, 'SPEND') as Record<string, string>,
  }).catch((error: unknown) => {
    estimator = undefined; // a bad binding is retried on the next request rather than cached
    throw error;
  });
  return estimator;
}

/**
 * The estimate of a chat-completions request, before it is sent: input tokens are the characters of every message's
 * text (string content, or the `text` of content parts) divided by four, rounded up; output tokens are the
 * request's `max_completion_tokens` or `max_tokens` (the most the call may produce), else DEFAULT_MAX_TOKENS. The
 * check therefore prices the worst case of the output and an approximation of the input.
 */
export function estimateRequest(
  body: Record<string, unknown>,
  defaultMaxTokens: number,
): { model: string; input_tokens: number; output_tokens: number } | undefined {
  if (typeof body.model !== 'string' || body.model.trim() === '' || !Array.isArray(body.messages)) return undefined;
  let characters = 0;
  for (const message of body.messages) {
    const content = (message as { content?: unknown } | null)?.content;
    if (typeof content === 'string') characters += content.length;
    else if (Array.isArray(content)) {
      for (const part of content) if (typeof part?.text === 'string') characters += part.text.length;
    }
  }
  const limit = body.max_completion_tokens ?? body.max_tokens;
  const output = Number.isSafeInteger(limit) && (limit as number) >= 0 ? (limit as number) : defaultMaxTokens;
  return {
    model: body.model.toLowerCase().trim(),
    input_tokens: Math.ceil(characters / CHARACTERS_PER_TOKEN),
    output_tokens: output,
  };
}

export default {
  async fetch(request: Request, env: Env, ctx?: ExecutionContext): Promise<Response> {
    const customer = request.headers.get(CUSTOMER_HEADER)?.trim();
    if (!customer) return failure(400, 'missing_customer', `the ${CUSTOMER_HEADER} header names the customer to bill`);
    if (request.method !== 'POST')
      return failure(405, 'method_not_allowed', 'only POST requests are priced and forwarded');
    const text = await request.text();
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text);
    } catch {
      return failure(400, 'invalid_body', 'the request body must be JSON');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      return failure(400, 'invalid_body', 'the request body must be a JSON object');
    // A streamed response carries its usage only in the last chunk, which this worker does not parse (yet).
    if (body.stream === true)
      return failure(400, 'streaming_not_supported', 'streamed completions are not metered by this worker');
    const defaultMaxTokens = Number(env.DEFAULT_MAX_TOKENS ?? 4096);
    const estimate = estimateRequest(body, Number.isSafeInteger(defaultMaxTokens) ? defaultMaxTokens : 4096);
    if (!estimate) return failure(400, 'invalid_body', 'a chat-completions body needs a model and a messages array');

    let local: Estimator;
    try {
      local = await estimatorFor(env, customer);
    } catch (error) {
      if (error instanceof Unpriceable) return failure(error.status, error.code, error.message);
      throw error;
    }
    const provider = env.PROVIDER ?? 'openai';
    const eventType = env.EVENT_TYPE ?? 'llm.completion';
    const timestamp = new Date().toISOString();
    const check = local.check(
      {
        transaction_id: `estimate-${crypto.randomUUID()}`,
        customer_id: customer,
        event_type: eventType,
        timestamp,
        properties: { provider, ...estimate },
      },
      env.BUDGET === undefined ? {} : { budget: env.BUDGET },
    );
    if (!check.allowed) {
      const refused = check.reason === 'budget_exceeded' || check.reason === 'credits_exhausted';
      const message =
        check.reason === 'budget_exceeded'
          ? `this request, estimated at ${check.spend} ${check.currency}, would take the customer ${check.budgetRemaining!.replace(/^-/, '')} over the period budget of ${env.BUDGET ?? local.snapshotInfo?.budget?.amount}`
          : (check.error?.message ?? `the request cannot be priced (${check.reason})`);
      return failure(refused ? 402 : 400, check.reason ?? 'refused', message);
    }

    const upstream = await fetch(upstreamUrl(request.url, env.UPSTREAM_URL), {
      method: 'POST',
      headers: forwardedHeaders(request.headers),
      body: text,
    });
    // Failed calls are passed through unmetered: providers do not bill them.
    if (!upstream.ok) return upstream;
    const responseText = await upstream.text();
    const headers = new Headers(upstream.headers);
    headers.delete('content-length');
    headers.delete('content-encoding'); // fetch has decoded the body already

    let properties: Record<string, string | number>;
    let transactionId: string;
    try {
      const completion = JSON.parse(responseText);
      properties = usageFromResponse(provider, completion, { model: estimate.model }).properties;
      transactionId = typeof completion.id === 'string' && completion.id !== '' ? completion.id : crypto.randomUUID();
    } catch (error) {
      headers.set('x-tariff-error', `usage_unreadable: ${(error as Error).message}`.slice(0, 200));
      return new Response(responseText, { status: upstream.status, headers });
    }
    const event: UsageEvent = {
      transaction_id: transactionId,
      customer_id: customer,
      event_type: eventType,
      timestamp,
      properties,
    };
    // check() first for the balance after this event, then estimate() to move the snapshot on: the same kernel on the
    // same state, so the two agree on the amount.
    const after = local.check(event);
    const [rated] = local.estimateMany([event], { updateState: true });
    if (rated.status === 'rated') {
      headers.set(COST_HEADER, after.spend!);
      headers.set(CHARGED_HEADER, rated.amount!);
      if (after.creditsRemaining !== undefined) headers.set(BALANCE_HEADER, after.creditsRemaining);
    } else {
      // The call happened and the provider bills it; the service decides what to do with an event it cannot rate.
      headers.set('x-tariff-error', rated.error?.code ?? 'not_rated');
    }
    queue(event, env, ctx);
    return new Response(responseText, { status: upstream.status, statusText: upstream.statusText, headers });
  },
};

function queue(event: UsageEvent, env: Env, ctx: ExecutionContext | undefined): void {
  outbox.push(event);
  if (outbox.length > OUTBOX_LIMIT) outbox.shift();
  if (!env.TARIFF_URL) return;
  // The event's transaction id makes a resend harmless; one attempt after the response, the outbox keeps it for a retry.
  const delivery = fetch(new URL('/v1/events', env.TARIFF_URL), {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(env.TARIFF_API_KEY ? { authorization: `Bearer ${env.TARIFF_API_KEY}` } : {}),
    },
    body: JSON.stringify({ events: [event] }),
  }).then(
    async (response) => {
      await response.body?.cancel();
      const index = outbox.indexOf(event);
      if (response.ok && index !== -1) outbox.splice(index, 1);
    },
    () => undefined,
  );
  if (ctx) ctx.waitUntil(delivery);
}

function upstreamUrl(requestUrl: string, base: string): string {
  const incoming = new URL(requestUrl);
  const target = new URL(base);
  target.pathname = `${target.pathname.replace(/\/$/, '')}${incoming.pathname}`;
  target.search = incoming.search;
  return target.toString();
}

function forwardedHeaders(incoming: Headers): Headers {
  const headers = new Headers(incoming);
  for (const name of [CUSTOMER_HEADER, 'host', 'content-length', 'cf-connecting-ip']) headers.delete(name);
  return headers;
}

function json(value: unknown, binding: string): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    throw new TypeError(`${binding} must be JSON`);
  }
}

function failure(status: number, code: string, message: string): Response {
  return Response.json({ error: { code, message } }, { status });
}
