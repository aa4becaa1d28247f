// Events and their delivery: each event is POSTed to the account's webhook endpoints, signed with Stripe's scheme
// (`Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`), so that
// `stripe.webhooks.constructEvent(rawBody, header, secret)` accepts it. Tests steer delivery: immediately (default),
// held until released (in order or reversed), every event twice, or one event resent.
import { createHmac } from 'node:crypto';
import {
  fromFixture,
  newId,
  saveObject,
  type AccountState,
  type StripeObject,
  type WebhookEndpointState,
} from './store.ts';

export function signStripePayload(payload: string, secret: string, timestampSeconds: number): string {
  const signature = createHmac('sha256', secret).update(`${timestampSeconds}.${payload}`, 'utf8').digest('hex');
  return `t=${timestampSeconds},v1=${signature}`;
}

function wantsEvent(endpoint: WebhookEndpointState, type: string): boolean {
  return endpoint.enabled && (endpoint.enabledEvents.includes('*') || endpoint.enabledEvents.includes(type));
}

export interface Delivery {
  event: string;
  type: string;
  endpoint: string;
  url: string;
  attempt: number;
  /** The receiver's HTTP status, or 'error' when the connection failed or timed out. */
  status: number | 'error';
  error?: string;
}

export interface EventCause {
  requestId: string | null;
  idempotencyKey: string | null;
  apiVersion: string;
  /** The Stripe-Account header the request acted through, if any (Connect). */
  connectedAccount: string | null;
}

interface PendingDelivery {
  account: AccountState;
  event: StripeObject;
  endpoint: WebhookEndpointState;
}

export interface WebhookSenderOptions {
  now: () => number;
  /** An account by id (a connected account's platform, whose Connect endpoints get its events). */
  accountById?: (id: string) => AccountState | undefined;
  /** Waits before each retry of a failed delivery (Stripe retries for days; this is the compressed version). */
  retryDelaysMs?: number[];
  attemptTimeoutMs?: number;
}

export class WebhookSender {
  /** 'immediate': each event is sent as it happens; 'hold': kept until `releaseHeld`. */
  mode: 'immediate' | 'hold' = 'immediate';
  /** Send every event twice (Stripe's at-least-once delivery, made certain). */
  duplicate = false;
  retryDelaysMs: number[];
  attemptTimeoutMs: number;
  readonly deliveries: Delivery[] = [];
  private held: PendingDelivery[] = [];
  private running = new Set<Promise<void>>();
  private timers = new Set<NodeJS.Timeout>();
  private closed = false;
  /** Aborts the attempts still running when the double closes. */
  private readonly closing = new AbortController();
  private readonly now: () => number;
  private readonly accountById: (id: string) => AccountState | undefined;

  constructor(options: WebhookSenderOptions) {
    this.now = options.now;
    this.accountById = options.accountById ?? (() => undefined);
    this.retryDelaysMs = options.retryDelaysMs ?? [200, 1_000, 5_000, 15_000, 60_000];
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 10_000;
  }

  /** Records the event in the account and hands it to every endpoint that wants its type. */
  emit(
    account: AccountState,
    type: string,
    object: StripeObject,
    cause: EventCause | null,
    previousAttributes?: Record<string, unknown>,
  ): StripeObject {
    const endpoints = this.endpointsFor(account, type);
    const connected = (account.platform ?? cause?.connectedAccount) ? account.id : null;
    const event = fromFixture('event', {
      id: newId('evt'),
      type,
      created: this.now(),
      api_version: cause?.apiVersion ?? null,
      data: {
        object: structuredClone(object),
        ...(previousAttributes ? { previous_attributes: previousAttributes } : {}),
      },
      pending_webhooks: endpoints.length,
      request: { id: cause?.requestId ?? null, idempotency_key: cause?.idempotencyKey ?? null },
      ...(connected ? { account: connected } : {}),
    });
    saveObject(account, event);
    account.events.push(event);
    for (const endpoint of endpoints) this.enqueue({ account, event, endpoint });
    return event;
  }

  /**
   * The account's own endpoints, and for a connected account its platform's Connect endpoints (as Stripe sends a
   * connected account's events to both).
   */
  private endpointsFor(account: AccountState, type: string): WebhookEndpointState[] {
    const platform = account.platform ? this.accountById(account.platform) : undefined;
    return [
      ...account.webhookEndpoints.filter((endpoint) => !endpoint.connect),
      ...(platform?.webhookEndpoints.filter((endpoint) => endpoint.connect) ?? []),
    ].filter((endpoint) => wantsEvent(endpoint, type));
  }

  private enqueue(pending: PendingDelivery): void {
    if (this.mode === 'hold') {
      this.held.push(pending);
      return;
    }
    void this.start(pending, 1);
    if (this.duplicate) void this.start(pending, 1);
  }

  /**
   * Sends the held events one after another (each waits for the previous first attempt), in the order they happened
   * or reversed: out of order on purpose, and the same order at every run.
   */
  releaseHeld(options: { order?: 'created' | 'reverse' } = {}): Promise<void> {
    const held = this.held;
    this.held = [];
    if (options.order === 'reverse') held.reverse();
    const duplicate = this.duplicate;
    const release = (async () => {
      for (const pending of held) {
        await this.start(pending, 1);
        if (duplicate) await this.start(pending, 1);
      }
    })();
    return this.track(release);
  }

  get heldEvents(): StripeObject[] {
    return this.held.map((pending) => pending.event);
  }

  /** Sends an already delivered event again to every endpoint of its account that wants it. */
  resend(account: AccountState, eventId: string): void {
    const event = account.events.find((candidate) => candidate.id === eventId);
    if (!event) throw new Error(`no event ${eventId} in ${account.id}`);
    for (const endpoint of this.endpointsFor(account, event.type)) void this.start({ account, event, endpoint }, 1);
  }

  /** Resolves once no delivery is running or waiting for a retry. */
  async settle(): Promise<void> {
    while (this.running.size > 0 || this.timers.size > 0) {
      if (this.running.size > 0) await Promise.allSettled([...this.running]);
      else await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.running]);
  }

  private start(pending: PendingDelivery, attempt: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return this.track(this.attempt(pending, attempt));
  }

  private track(work: Promise<void>): Promise<void> {
    const running = work.finally(() => this.running.delete(running));
    this.running.add(running);
    return running;
  }

  private async attempt(pending: PendingDelivery, attempt: number): Promise<void> {
    const { event, endpoint } = pending;
    // Stripe sends the event pretty-printed; the signature covers these exact bytes.
    const payload = JSON.stringify(event, null, 2);
    const delivery: Delivery = {
      event: event.id,
      type: event.type,
      endpoint: endpoint.id,
      url: endpoint.url,
      attempt,
      status: 'error',
    };
    try {
      const response = await fetch(endpoint.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
          'stripe-signature': signStripePayload(payload, endpoint.secret, this.now()),
        },
        body: payload,
        signal: AbortSignal.any([AbortSignal.timeout(this.attemptTimeoutMs), this.closing.signal]),
      });
      await response.arrayBuffer();
      delivery.status = response.status;
    } catch (error) {
      delivery.error = error instanceof Error ? error.message : String(error);
    }
    this.deliveries.push(delivery);
    const delivered = typeof delivery.status === 'number' && delivery.status >= 200 && delivery.status < 300;
    if (delivered) {
      event.pending_webhooks = Math.max(0, event.pending_webhooks - 1);
      return;
    }
    const delay = this.retryDelaysMs[attempt - 1];
    if (delay === undefined || this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.start(pending, attempt + 1);
    }, delay);
    this.timers.add(timer);
  }
}
