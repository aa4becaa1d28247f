// Faults a test injects into the double's API: each applies to the next `times` requests it matches.
import type { FormParams } from './form.ts';

export type FaultKind =
  /** 429 with Stripe's rate-limit error and `Retry-After`; nothing is performed. */
  | 'rate_limit'
  /** 500 api_error; nothing is performed (so nothing is stored under the idempotency key either). */
  | 'server_error'
  /** The connection is destroyed before the request is performed. */
  | 'drop_before_write'
  /** The request is performed (and its result stored under its idempotency key), then the connection is destroyed. */
  | 'drop_after_write'
  /** The request is held (`hangMs`, or until `until` settles) before it is performed and answered. */
  | 'hang';

export interface FaultRequest {
  method: string;
  path: string;
  params: FormParams;
  idempotencyKey: string | null;
  account: string;
}

export interface Fault {
  kind: FaultKind;
  /** How many matching requests it applies to (default 1). */
  times?: number;
  method?: 'GET' | 'POST' | 'DELETE';
  /** The request path, exactly (`/v1/payment_intents`) or by pattern. */
  path?: string | RegExp;
  /** Any other condition on the request (its params, its idempotency key, its account). */
  when?: (request: FaultRequest) => boolean;
  /** For 'hang': how long to hold the request (default 1000 ms unless `until` is given). */
  hangMs?: number;
  /** For 'hang': hold the request until this settles, so a test decides when it goes on (no timing involved). */
  until?: Promise<unknown>;
  /** For 'rate_limit': the Retry-After header in seconds (default 1). */
  retryAfterSeconds?: number;
  /**
   * For 'rate_limit': send `Stripe-Should-Retry: true` (default true). stripe-node retries a 429 only when the
   * server says so with that header; false shows what a caller meets when it does not.
   */
  shouldRetry?: boolean;
}

export class FaultInjector {
  private faults: Array<Fault & { remaining: number }> = [];
  /** Faults applied so far, in order (what a test can assert happened). */
  readonly applied: Array<{ kind: FaultKind; method: string; path: string; idempotencyKey: string | null }> = [];

  inject(fault: Fault): void {
    this.faults.push({ ...fault, remaining: fault.times ?? 1 });
  }

  clear(): void {
    this.faults = [];
  }

  /** How many faults still wait for a request. */
  get pending(): number {
    return this.faults.reduce((sum, fault) => sum + fault.remaining, 0);
  }

  /** The first fault that matches the request, consumed; undefined when none does. */
  take(request: FaultRequest): Fault | undefined {
    const fault = this.faults.find((candidate) => candidate.remaining > 0 && matches(candidate, request));
    if (!fault) return undefined;
    fault.remaining--;
    this.faults = this.faults.filter((candidate) => candidate.remaining > 0);
    this.applied.push({
      kind: fault.kind,
      method: request.method,
      path: request.path,
      idempotencyKey: request.idempotencyKey,
    });
    return fault;
  }
}

function matches(fault: Fault, request: FaultRequest): boolean {
  if (fault.method && fault.method !== request.method) return false;
  if (typeof fault.path === 'string' && fault.path !== request.path) return false;
  if (fault.path instanceof RegExp && !fault.path.test(request.path)) return false;
  return fault.when ? fault.when(request) : true;
}
