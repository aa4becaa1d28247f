// Concurrent ingest requests of one tenant share transactions: while the tenant's batches are being written,
// requests that arrive wait and go together into the next one, so a thousand one-event requests cost a few
// transactions rather than a thousand. Each request is answered from its own events' outcomes after the shared
// transaction commits. If a shared run fails, no request is failed for another's fault: the requests are run
// again apart, by halves, until each failing run holds one request, the one that caused it.

import { lingerFor, newLingerState, noteAnswered, noteArrival, type LingerState } from './linger.ts';

export interface Slice<T> {
  items: T[];
  /** When it arrived (the coalescer's clock). */
  since: number;
  resolve(outcomes: Map<T, unknown>): void;
  reject(error: unknown): void;
}

interface TenantQueue<T> {
  waiting: Slice<T>[];
  /** The groups running: when each started (the linger's measure), and how many items. */
  groups: { started: number; items: number }[];
  /** A pump due when the group waiting for more (linger) has waited enough. */
  timer?: ReturnType<typeof setTimeout>;
}

export interface CoalescerOptions {
  /** Transactions one tenant may have writing at once (more would only queue on its period locks). */
  maxRunning: number;
  /** Events per shared transaction; a request is never split. */
  maxItems: number;
  /**
   * Events that must be waiting before a transaction starts beside a running one. Fewer wait for it to end
   * and go together into the next: a transaction's fixed cost (a dozen statements, the commit) and its cost
   * per customer (the period's lock and update, its usage and invoice aggregates) are then shared by more
   * events, while a backlog still overlaps (one group rated in Node while another is written).
   */
  minItemsToOverlap: number;
  /**
   * Whether a request of the failed run may have caused `error` (a statement the database refused for its
   * data), so that running the requests apart lets the others through. An error nobody caused (the connection
   * lost) fails every request of the run at once. All errors are isolable when omitted.
   */
  isIsolable?: (error: unknown) => boolean;
  /** Told each time a failed run of several requests is split to run them apart. */
  onSplit?: (tenantId: string, requests: number, error: unknown) => void;
  /**
   * Let a group wait, at most one group's measured duration, for the requests measured to be on their way
   * (linger.ts) rather than start with fewer. Off when omitted.
   */
  linger?: boolean;
  /** The clock of the linger's measurements, in ms (performance.now when omitted). */
  now?: () => number;
}

/**
 * A run that failed after deciding some of its items for good (one of its transactions committed): those
 * outcomes stand, and only the other items are run again.
 */
export class PartialFailure<T, R> extends Error {
  constructor(
    readonly failure: unknown,
    readonly decided: Map<T, R>,
  ) {
    super(failure instanceof Error ? failure.message : String(failure));
    this.name = 'PartialFailure';
  }
}

/** Ingestion's settings, linger included (service/README.md, "Ingestion"). */
export const defaultCoalescerOptions: CoalescerOptions = {
  maxRunning: 2,
  maxItems: 5000,
  minItemsToOverlap: 1500,
  linger: true,
};

export class Coalescer<T, R> {
  private readonly tenants = new Map<string, TenantQueue<T>>();
  /** The linger's measurements per tenant, kept while the tenant's queue comes and goes. */
  private readonly measured = new Map<string, LingerState>();
  private readonly now: () => number;

  constructor(
    private readonly run: (tenantId: string, items: T[]) => Promise<Map<T, R>>,
    private readonly options: CoalescerOptions = defaultCoalescerOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
  }

  private lingerState(tenantId: string): LingerState {
    let state = this.measured.get(tenantId);
    if (!state) {
      state = newLingerState();
      this.measured.set(tenantId, state);
    }
    return state;
  }

  /** Runs `items` in a transaction shared with other waiting requests of the tenant; resolves after commit. */
  submit(tenantId: string, items: T[]): Promise<Map<T, R>> {
    return new Promise((resolve, reject) => {
      const queue = this.tenants.get(tenantId) ?? { waiting: [], groups: [] };
      this.tenants.set(tenantId, queue);
      const now = this.now();
      if (this.options.linger) noteArrival(this.lingerState(tenantId), now, items.length);
      queue.waiting.push({ items, since: now, resolve: resolve as Slice<T>['resolve'], reject });
      this.pump(tenantId, queue);
    });
  }

  private pump(tenantId: string, queue: TenantQueue<T>): void {
    while (queue.groups.length < this.options.maxRunning && queue.waiting.length > 0) {
      if (
        queue.groups.length > 0 &&
        queue.waiting.reduce((n, slice) => n + slice.items.length, 0) < this.options.minItemsToOverlap
      )
        return;
      if (this.options.linger && this.lingers(tenantId, queue)) return;
      const group: Slice<T>[] = [queue.waiting.shift()!];
      let size = group[0].items.length;
      while (queue.waiting.length > 0 && size + queue.waiting[0].items.length <= this.options.maxItems) {
        const next = queue.waiting.shift()!;
        size += next.items.length;
        group.push(next);
      }
      const answers: (() => void)[] = [];
      const running = { started: this.now(), items: size };
      queue.groups.push(running);
      void this.runApart(tenantId, group, new Map(), answers).then(() => {
        queue.groups.splice(queue.groups.indexOf(running), 1);
        if (this.options.linger) noteAnswered(this.lingerState(tenantId), running.started, this.now(), size);
        // The next group starts before this one's requests are answered: no idle gap between transactions.
        if (queue.groups.length === 0 && queue.waiting.length === 0) this.tenants.delete(tenantId);
        else this.pump(tenantId, queue);
        for (const answer of answers) answer();
      });
    }
  }

  /** Whether the group about to start waits for more (linger.ts); if so, a pump is due when the wait ends. */
  private lingers(tenantId: string, queue: TenantQueue<T>): boolean {
    if (queue.timer !== undefined) {
      clearTimeout(queue.timer);
      queue.timer = undefined;
    }
    let waiting = 0;
    for (const slice of queue.waiting) waiting += slice.items.length;
    const wait = lingerFor(
      this.lingerState(tenantId),
      waiting,
      queue.waiting[0].since,
      this.now(),
      this.options.maxItems,
      queue.groups,
    );
    if (wait <= 0) return false;
    queue.timer = setTimeout(() => {
      queue.timer = undefined;
      this.pump(tenantId, queue);
    }, Math.ceil(wait));
    return true;
  }

  /**
   * Runs the slices' undecided items together; if that fails, runs each half of the slices apart (in order,
   * so a transaction id repeated across requests still takes its first occurrence's fate), down to single
   * requests. Outcomes decided by a run that failed only in part stand. Never rejects: each slice's answer goes
   * to `answers`, called once the whole group is settled.
   */
  private async runApart(
    tenantId: string,
    slices: Slice<T>[],
    decided: Map<T, R>,
    answers: (() => void)[],
  ): Promise<void> {
    const items = slices.flatMap((slice) => slice.items).filter((item) => !decided.has(item));
    let failure: unknown;
    try {
      if (items.length > 0) for (const [item, outcome] of await this.run(tenantId, items)) decided.set(item, outcome);
      for (const slice of slices) answers.push(() => slice.resolve(decided));
      return;
    } catch (error) {
      failure = error;
      if (error instanceof PartialFailure) {
        for (const [item, outcome] of (error as PartialFailure<T, R>).decided) decided.set(item, outcome);
        failure = error.failure;
      }
    }
    if (slices.length === 1 || !(this.options.isIsolable?.(failure) ?? true)) {
      for (const slice of slices) answers.push(() => slice.reject(failure));
      return;
    }
    try {
      this.options.onSplit?.(tenantId, slices.length, failure);
    } catch {
      // An observer's fault must not leave the requests unanswered.
    }
    const half = Math.ceil(slices.length / 2);
    await this.runApart(tenantId, slices.slice(0, half), decided, answers);
    await this.runApart(tenantId, slices.slice(half), decided, answers);
  }
}
