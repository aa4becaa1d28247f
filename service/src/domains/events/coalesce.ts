// Concurrent ingest requests of one tenant share transactions: while the tenant's batches are being written,
// requests that arrive wait and go together into the next one, so a thousand one-event requests cost a few
// transactions rather than a thousand. Each request is answered from its own events' outcomes after the shared
// transaction commits; if it fails, every request in it fails.

export interface Slice<T> {
  items: T[];
  resolve(outcomes: Map<T, unknown>): void;
  reject(error: unknown): void;
}

interface TenantQueue<T> {
  waiting: Slice<T>[];
  running: number;
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
}

export class Coalescer<T, R> {
  private readonly tenants = new Map<string, TenantQueue<T>>();

  constructor(
    private readonly run: (tenantId: string, items: T[]) => Promise<Map<T, R>>,
    private readonly options: CoalescerOptions = { maxRunning: 2, maxItems: 5000, minItemsToOverlap: 1500 },
  ) {}

  /** Runs `items` in a transaction shared with other waiting requests of the tenant; resolves after commit. */
  submit(tenantId: string, items: T[]): Promise<Map<T, R>> {
    return new Promise((resolve, reject) => {
      const queue = this.tenants.get(tenantId) ?? { waiting: [], running: 0 };
      this.tenants.set(tenantId, queue);
      queue.waiting.push({ items, resolve: resolve as Slice<T>['resolve'], reject });
      this.pump(tenantId, queue);
    });
  }

  private pump(tenantId: string, queue: TenantQueue<T>): void {
    while (queue.running < this.options.maxRunning && queue.waiting.length > 0) {
      if (queue.running > 0 && queue.waiting.reduce((n, slice) => n + slice.items.length, 0) < this.options.minItemsToOverlap) return;
      const group: Slice<T>[] = [queue.waiting.shift()!];
      let size = group[0].items.length;
      while (queue.waiting.length > 0 && size + queue.waiting[0].items.length <= this.options.maxItems) {
        const next = queue.waiting.shift()!;
        size += next.items.length;
        group.push(next);
      }
      queue.running += 1;
      // The next group starts before this one's requests are answered: no idle gap between transactions.
      const settle = (answer: () => void) => {
        queue.running -= 1;
        if (queue.running === 0 && queue.waiting.length === 0) this.tenants.delete(tenantId);
        else this.pump(tenantId, queue);
        answer();
      };
      this.run(tenantId, group.flatMap((slice) => slice.items)).then(
        (outcomes) => settle(() => group.forEach((slice) => slice.resolve(outcomes))),
        (error) => settle(() => group.forEach((slice) => slice.reject(error))),
      );
    }
  }
}
