// Signals run their reactions in the emitter's transaction, and an unwired signal is an error, never a no-op.
import { describe, expect, it } from 'vitest';
import type { TenantScope } from './db.ts';
import { emitSignal, onSignal, type SignalPayloads } from './signals.ts';

const scope = { db: undefined as never, tenantId: 't' } satisfies TenantScope;
const payload: SignalPayloads['price_book.retroactive_version'] = {
  priceBookId: 'b',
  effectiveFrom: new Date(0),
  bookVersions: 2,
  createdBy: 'user:u',
  now: new Date(1),
};

describe('signals', () => {
  it('refuses to emit a signal nobody reacts to, then runs each registered reaction once with its scope and payload', async () => {
    await expect(emitSignal(scope, 'price_book.retroactive_version', payload)).rejects.toThrow(/has no handler/);
    const seen: unknown[] = [];
    const reaction = async (s: TenantScope, p: typeof payload) => void seen.push([s.tenantId, p.priceBookId]);
    onSignal('price_book.retroactive_version', reaction);
    onSignal('price_book.retroactive_version', reaction);
    await emitSignal(scope, 'price_book.retroactive_version', payload);
    expect(seen).toEqual([['t', 'b']]);
  });

  it('lets a failing reaction fail the emitter (its transaction rolls back)', async () => {
    onSignal('price_book.retroactive_version', async () => {
      throw new Error('boom');
    });
    await expect(emitSignal(scope, 'price_book.retroactive_version', payload)).rejects.toThrow('boom');
  });
});
