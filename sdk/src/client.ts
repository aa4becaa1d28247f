// A typed client for /v1, its shapes taken from the types generated from the OpenAPI document (never copied here).
import type { operations, paths } from '@tariff/openapi';
import { operationRoutes } from './operations.gen.ts';
import { type BackoffPolicy, type Clock, backoffDelay, parseRetryAfter, systemClock } from './retry.ts';

export { operationRoutes };

export type HttpMethod = 'get' | 'put' | 'post' | 'delete' | 'patch';

/** Methods a path of the document defines (`get?: never` in the generated types means "not defined"). */
export type MethodsOf<P extends keyof paths> = {
  [M in HttpMethod]-?: undefined extends paths[P][M] ? never : M;
}[HttpMethod];

type OperationAt<P extends keyof paths, M extends HttpMethod> = NonNullable<paths[P][M]>;

type Slot<T, K extends PropertyKey> =
  T extends Record<K, unknown> ? T[K] : T extends Partial<Record<K, infer V>> ? V | undefined : undefined;
/** `{ [key]: V }` when the document requires the part, `{ [key]?: V }` when it is optional, nothing when absent. */
type Part<K extends string, V> = [NonNullable<V>] extends [never]
  ? unknown
  : undefined extends V
    ? { [_ in K]?: NonNullable<V> }
    : { [_ in K]: V };
type ParamsOf<O> = O extends { parameters: infer P } ? P : unknown;
type BodyOf<O> =
  Slot<Slot<O, 'requestBody'>, 'content'> extends infer C ? (C extends { 'application/json': infer B } ? B : C) : never;
type BodySlot<O> = undefined extends Slot<O, 'requestBody'> ? BodyOf<O> | undefined : BodyOf<O>;

/** Per-call options every request accepts. */
export interface RequestOptions {
  /** Aborts the call, including any wait between retries. */
  signal?: AbortSignal;
  /** `false`: one attempt only (the event sender retries whole batches itself). Default true. */
  retry?: boolean;
  headers?: Record<string, string>;
}

/** What a call of operation `O` takes: its path and query parameters and its JSON body, as the document says. */
export type RequestInput<O> = Part<'path', Slot<ParamsOf<O>, 'path'>> &
  Part<'query', Slot<ParamsOf<O>, 'query'>> &
  Part<'body', BodySlot<O>> &
  RequestOptions;

type SuccessStatus = 200 | 201 | 202 | 204;
type JsonOf<R> = R extends { content: { 'application/json': infer B } } ? B : undefined;
/** The JSON body of the operation's success response(s). */
export type ResponseOf<O> = O extends { responses: infer R } ? JsonOf<R[keyof R & SuccessStatus]> : never;

type ArgsOf<O> = object extends RequestInput<O> ? [input?: RequestInput<O>] : [input: RequestInput<O>];

/** One method per operation in operations.gen.ts, named by its operationId. */
export type OperationMethods = {
  [K in keyof typeof operationRoutes & keyof operations]: (
    ...args: ArgsOf<operations[K]>
  ) => Promise<ResponseOf<operations[K]>>;
};

type RouteFor<K extends keyof operations> = {
  [P in keyof paths]: {
    [M in MethodsOf<P>]: [OperationAt<P, M>] extends [operations[K]] ? readonly [M, P] : never;
  }[MethodsOf<P>];
}[keyof paths];

/**
 * Where each operation lives, by operationId. sdk/src/operations.gen.ts is generated from openapi.json and checked
 * against this: a route whose operation is gone or moved does not compile. An operation added to the document is
 * reachable at once through request(); its named method appears when the file is regenerated (`npm run generate -w sdk`),
 * which sdk/src/generated.test.ts demands. (Not a compile error, so another team's new endpoint never breaks the build.)
 */
export type OperationRoutes = { readonly [K in keyof operations]?: RouteFor<K> };

/** A failed call: the service's error (status, code, message and the field to blame), or a network failure (status 0). */
export class TariffError extends Error {
  override readonly name = 'TariffError';
  /** HTTP status; 0 when no response arrived (network error, timeout). */
  readonly status: number;
  /** The service's snake_case code (e.g. `invalid_request`), or `network_error`, `timeout`, `http_<status>`. */
  readonly code: string;
  /** JSON path of the first field to blame, e.g. `events.0.timestamp`, when the service named one. */
  readonly field: string | undefined;
  /** The service's error kind (validation, not_found, conflict, ...). */
  readonly kind: string | undefined;
  /** Every field problem the service reported. */
  readonly details: { field: string; reason: string }[];
  readonly requestId: string | undefined;
  /** The Retry-After the service asked for, in milliseconds. */
  readonly retryAfterMs: number | undefined;
  /** How many attempts were made before giving up. */
  readonly attempts: number;

  constructor(init: {
    status: number;
    code: string;
    message: string;
    kind?: string;
    details?: { field: string; reason: string }[];
    requestId?: string;
    retryAfterMs?: number;
    attempts?: number;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.kind = init.kind;
    this.details = init.details ?? [];
    this.field = this.details[0]?.field;
    this.requestId = init.requestId;
    this.retryAfterMs = init.retryAfterMs;
    this.attempts = init.attempts ?? 1;
  }

  /** 429, 5xx and network failures may succeed later; every other 4xx will not. */
  get retryable(): boolean {
    return isRetryableStatus(this.status);
  }
}

export function isRetryableStatus(status: number): boolean {
  return status === 0 || status === 429 || status >= 500;
}

export interface RetryPolicy extends BackoffPolicy {
  /** Retries after the first attempt. Default 3. */
  maxRetries?: number;
  /** A Retry-After longer than this is not waited for: the error is thrown with `retryAfterMs`. Default 60 s. */
  maxRetryAfterMs?: number;
}

export interface ClientOptions {
  /** e.g. "https://api.tariff.example" (paths start with /v1). */
  baseUrl: string;
  /** A secret (sk_...) or publishable (pk_...) key, sent as a bearer token. */
  apiKey?: string;
  /** Injectable for tests, proxies and runtimes with their own fetch. Default: the global fetch. */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  clock?: Clock;
  /** Source of jitter in [0, 1). Default Math.random. */
  random?: () => number;
  retry?: RetryPolicy;
  /** Per-attempt timeout; a timed-out attempt counts as a network failure. Default 30 s. */
  timeoutMs?: number;
}

export interface TariffClient extends OperationMethods {}

export class TariffClient {
  readonly baseUrl: string;
  private readonly apiKey: string | undefined;
  private readonly fetchImpl: (input: string, init: RequestInit) => Promise<Response>;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly policy: Required<RetryPolicy>;
  private readonly timeoutMs: number;

  constructor(options: ClientOptions) {
    if (typeof options?.baseUrl !== 'string' || !/^https?:\/\//.test(options.baseUrl)) {
      throw new TypeError('baseUrl must be an http(s) URL, e.g. "https://api.tariff.example"');
    }
    if (options.apiKey !== undefined && (typeof options.apiKey !== 'string' || options.apiKey === ''))
      throw new TypeError('apiKey must be a non-empty string');
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.apiKey = options.apiKey;
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.policy = {
      maxRetries: options.retry?.maxRetries ?? 3,
      baseDelayMs: options.retry?.baseDelayMs ?? 250,
      maxDelayMs: options.retry?.maxDelayMs ?? 20_000,
      maxRetryAfterMs: options.retry?.maxRetryAfterMs ?? 60_000,
    };
    this.timeoutMs = options.timeoutMs ?? 30_000;
    for (const [name, [method, path]] of Object.entries(operationRoutes)) {
      (this as unknown as Record<string, unknown>)[name] = (input?: Record<string, unknown>) =>
        this.send(method, path, input);
    }
  }

  /** Any operation by method and path, typed by the document. */
  request<P extends keyof paths, M extends MethodsOf<P>>(
    method: M,
    path: P,
    ...args: ArgsOf<OperationAt<P, M>>
  ): Promise<ResponseOf<OperationAt<P, M>>> {
    return this.send(method, path, args[0] as Record<string, unknown> | undefined) as Promise<
      ResponseOf<OperationAt<P, M>>
    >;
  }

  private async send(method: HttpMethod, template: string, input: Record<string, unknown> = {}): Promise<unknown> {
    const { path, query, body, signal, retry, headers } = input as {
      path?: Record<string, string | number>;
      query?: Record<string, unknown>;
      body?: unknown;
    } & RequestOptions;
    const url = this.baseUrl + fillPath(template, path) + queryString(query);
    const requestHeaders: Record<string, string> = { accept: 'application/json', ...headers };
    if (this.apiKey) requestHeaders.authorization = `Bearer ${this.apiKey}`;
    let payload: string | undefined;
    if (body !== undefined) {
      payload = JSON.stringify(body);
      requestHeaders['content-type'] = 'application/json';
    }
    const maxRetries = retry === false ? 0 : this.policy.maxRetries;

    for (let attempt = 1; ; attempt++) {
      let failure: TariffError;
      try {
        const response = await this.attempt(
          url,
          { method: method.toUpperCase(), headers: requestHeaders, body: payload },
          signal,
        );
        const text = await response.text();
        if (response.ok) return parseSuccess(text, response.status);
        failure = errorFromResponse(response, text, attempt, this.clock.now());
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (error instanceof TariffError) throw error;
        failure = networkError(error, attempt);
      }
      if (!failure.retryable || attempt > maxRetries) throw failure;
      if (failure.retryAfterMs !== undefined && failure.retryAfterMs > this.policy.maxRetryAfterMs) throw failure;
      await this.clock.sleep(failure.retryAfterMs ?? backoffDelay(attempt - 1, this.policy, this.random), signal);
    }
  }

  /** One fetch with its own timeout, chained to the caller's signal. */
  private async attempt(url: string, init: RequestInit, signal: AbortSignal | undefined): Promise<Response> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    const forward = () => controller.abort(signal!.reason);
    if (signal?.aborted) forward();
    signal?.addEventListener('abort', forward, { once: true });
    try {
      return await this.fetchImpl(url, { ...init, signal: controller.signal });
    } catch (error) {
      if (timedOut) throw new TimeoutError(this.timeoutMs, error);
      throw error;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', forward);
    }
  }
}

class TimeoutError extends Error {
  constructor(
    readonly ms: number,
    cause: unknown,
  ) {
    super(`no response within ${ms} ms`, { cause });
  }
}

function fillPath(template: string, params: Record<string, string | number> | undefined): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = params?.[name];
    if (value === undefined || value === null || value === '')
      throw new TypeError(`path.${name} is required by ${template}`);
    return encodeURIComponent(String(value));
  });
}

function queryString(query: Record<string, unknown> | undefined): string {
  if (!query) return '';
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    search.append(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

function parseSuccess(text: string, status: number): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new TariffError({
      status,
      code: 'invalid_response',
      message: `the service answered ${status} with a body that is not JSON`,
      cause,
    });
  }
}

interface ErrorBody {
  error?: {
    kind?: string;
    code?: string;
    message?: string;
    details?: { field: string; reason: string }[];
    request_id?: string;
  };
}

function errorFromResponse(response: Response, text: string, attempts: number, now: number): TariffError {
  let body: ErrorBody | undefined;
  try {
    body = text ? (JSON.parse(text) as ErrorBody) : undefined;
  } catch {
    body = undefined;
  }
  const error = body && typeof body.error === 'object' && body.error !== null ? body.error : undefined;
  const details = Array.isArray(error?.details) ? error.details.filter((d) => typeof d?.field === 'string') : [];
  return new TariffError({
    status: response.status,
    code: typeof error?.code === 'string' ? error.code : `http_${response.status}`,
    message:
      typeof error?.message === 'string'
        ? error.message
        : `HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`,
    kind: error?.kind,
    details,
    requestId: error?.request_id ?? response.headers.get('x-request-id') ?? undefined,
    retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), now),
    attempts,
  });
}

function networkError(error: unknown, attempts: number): TariffError {
  const timeout = error instanceof TimeoutError;
  const reason = timeout
    ? error.message
    : error instanceof Error
      ? error.cause instanceof Error
        ? `${error.message}: ${error.cause.message}`
        : error.message
      : String(error);
  return new TariffError({
    status: 0,
    code: timeout ? 'timeout' : 'network_error',
    message: reason,
    attempts,
    cause: error,
  });
}
