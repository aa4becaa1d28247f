// Receipts encoded here and decoded by PostgreSQL (receipt_json, migration 070) come back as the kernel wrote them:
// every receipt of the conformance vectors, a quote step, and steps no code fits; and an event's reseller levels
// (chain-codec.ts encodeChain, decoded by chain_levels and chain_json) come back as the objects stored before
// migration 087.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReceiptStep } from '@tariff/core-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../platform/test-database.ts';
import { encodeChain, type ChainLevelCharge } from './chain-codec.ts';
import { decodeReceipt, encodeReceipt } from '../../platform/receipt-codec.ts';

const vectorsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../test/vectors');

/** Every receipt in the conformance vectors' expected results. */
function vectorReceipts(): ReceiptStep[][] {
  const receipts: ReceiptStep[][] = [];
  const walk = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      const receipt = (value as { receipt?: unknown }).receipt;
      if (Array.isArray(receipt)) receipts.push(receipt as ReceiptStep[]);
      Object.values(value).forEach(walk);
    }
  };
  for (const file of fs.readdirSync(vectorsDir).filter((f) => f.endsWith('.json')))
    walk(JSON.parse(fs.readFileSync(path.join(vectorsDir, file), 'utf8')));
  return receipts;
}

describe('compact receipts', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database?.drop());

  const decoded = async (stored: unknown[]) => {
    const [row] = await database.owner`select receipt_json(${JSON.stringify(stored)}::text::json)::text as receipt`;
    return JSON.parse(row.receipt);
  };

  it('decodes every vector receipt to the same JSON text, in fewer bytes', async () => {
    const receipts = vectorReceipts();
    const kinds = new Set(receipts.flat().map((s) => `${s.step}${'mode' in s ? `:${s.mode}` : ''}`));
    // given: receipts with every kind of step the kernel writes
    expect([...kinds].sort()).toEqual([
      'allowance',
      'commitment:postpaid',
      'commitment:prepaid',
      'credit',
      'discount',
      'minimum',
      'modifier',
      'outcome',
      'price',
      'quantity',
      'tier',
      'variant',
    ]);
    let written = 0;
    let stored = 0;
    for (const receipt of receipts) {
      const encoded = encodeReceipt(receipt);
      // then: every step is compact, and reads back as written
      expect(encoded.every(Array.isArray)).toBe(true);
      expect(JSON.stringify(await decoded(encoded))).toBe(JSON.stringify(receipt));
      // and the service's own decoder gives the same text as the database's
      expect(JSON.stringify(decodeReceipt(JSON.parse(JSON.stringify(encoded))))).toBe(JSON.stringify(receipt));
      written += JSON.stringify(receipt).length;
      stored += JSON.stringify(encoded).length;
    }
    expect(stored).toBeLessThan(written * 0.6);
  });

  it('keeps a quote step compact and steps no code fits whole', async () => {
    const receipt = [
      {
        step: 'price',
        charge: 0,
        model: 'per_unit',
        quantity: '1000',
        rate: '2.500000000',
        per: '1000000',
        amount: '0.002500000',
      },
      {
        step: 'quote',
        quote: 'qt_1',
        quoted_amount: '0.002500000',
        book_version: '2026-01-01T00:00:00.000Z',
        expires_at: '2026-03-01T00:00:00.000Z',
      },
      // Keys in another order, an extra key, a step the kernel does not write, a key holding undefined.
      { step: 'discount', amount: '0.1', percent: '10' },
      { step: 'variant', variant: 1, note: 'x' },
      { step: 'future', value: [1, { a: null }] },
      { step: 'variant', variant: undefined },
    ] as unknown as ReceiptStep[];
    const encoded = encodeReceipt(receipt);
    expect(encoded.map(Array.isArray)).toEqual([true, true, false, false, false, false]);
    expect(JSON.stringify(await decoded(encoded))).toBe(JSON.stringify(receipt));
    expect(JSON.stringify(decodeReceipt(JSON.parse(JSON.stringify(encoded))))).toBe(
      JSON.stringify(await decoded(encoded)),
    );
  });

  it("stores a chain's levels without their keys and reads back the objects it stored before", async () => {
    // given: two reseller levels as ingestion writes them, one with a cost and a credit drawn, one with neither
    const receipt = vectorReceipts().find((r) => r.some((s) => s.step === 'credit'))!;
    const levels: ChainLevelCharge[] = [
      {
        customerId: '0b5e8e0a-4a3b-4c4e-9d1f-2f6f1b7f1a01',
        periodStart: new Date('2026-12-01T00:00:00Z'),
        priceBookId: '6a1c1f52-2d8e-4a8c-8f0e-0c9e8b7a6d02',
        bookVersion: '2026-01-01T00:00:00.000Z',
        card: 'gpt-4o',
        currency: 'USD',
        amount: '0.002000000',
        subtotal: '0.003000000',
        net: '0.003000000',
        cost: '0.001000000',
        creditsApplied: '0.001000000',
        receipt,
      },
      {
        customerId: '9d3e1a77-0c6b-4f7e-a0d2-4b1c3e5f7a03',
        periodStart: new Date('2026-11-15T00:00:00Z'),
        priceBookId: '2f7b9c1d-3e4a-4b5c-8d6e-7f8091a2b304',
        bookVersion: '2025-06-01T00:00:00.000Z',
        card: 'gpt-4o',
        currency: 'USD',
        amount: '0.001500000',
        subtotal: '0.001500000',
        net: '0.001500000',
        cost: null,
        creditsApplied: '0.000000000',
        receipt: [],
      },
    ];
    // Migration 082's objects: every key, the receipt compact.
    const before = levels.map((l) => ({
      customer_id: l.customerId,
      period_start: l.periodStart,
      price_book_id: l.priceBookId,
      book_version: l.bookVersion,
      card: l.card,
      currency: l.currency,
      amount: l.amount,
      subtotal: l.subtotal,
      net: l.net,
      cost: l.cost,
      credits_applied: l.creditsApplied,
      receipt: encodeReceipt(l.receipt),
    }));
    const stored = encodeChain(levels);
    const [row] = await database.owner`
      select chain_json(${JSON.stringify(stored)}::text::json)::text as chain,
             chain_json(${JSON.stringify(before)}::text::json)::text as old,
             chain_json(null) is null as none`;
    // then: the same JSON as the objects, from an array of values; a chain stored as objects passes through
    expect(stored.every(Array.isArray)).toBe(true);
    // the period start as the text JSON.stringify gives its Date (a Date would slow the whole insert document)
    expect(stored.map((l) => l[1])).toEqual(levels.map((l) => l.periodStart.toISOString()));
    // (re-serialized: json_build_object spaces its output; keys and values, in their order, are what count)
    expect(JSON.stringify(JSON.parse(row.chain))).toBe(JSON.stringify(before));
    expect(JSON.stringify(JSON.parse(row.old))).toBe(JSON.stringify(before));
    expect(row.none).toBe(true);
    expect(JSON.stringify(stored).length).toBeLessThan(JSON.stringify(before).length * 0.8);
  });

  it("stores a level's receipt equal to one below it as that level's number, and reads back the whole chain", async () => {
    // given: an event's own receipt and three reseller levels: the first rated alike (the event's receipt), the
    // second differently, the third as the second
    const [own, other] = vectorReceipts().filter((r) => r.length > 1);
    const level = (customer: string, receipt: ReceiptStep[]): ChainLevelCharge => ({
      customerId: customer,
      periodStart: new Date('2026-12-01T00:00:00Z'),
      priceBookId: '6a1c1f52-2d8e-4a8c-8f0e-0c9e8b7a6d02',
      bookVersion: '2026-01-01T00:00:00.000Z',
      card: 'gpt-4o',
      currency: 'USD',
      amount: '0.002000000',
      subtotal: '0.002000000',
      net: '0.002000000',
      cost: null,
      creditsApplied: '0.000000000',
      receipt: JSON.parse(JSON.stringify(receipt)),
    });
    const levels = [
      level('0b5e8e0a-4a3b-4c4e-9d1f-2f6f1b7f1a01', own),
      level('9d3e1a77-0c6b-4f7e-a0d2-4b1c3e5f7a03', other),
      level('4c2d8f1e-7a6b-4e5d-9c3b-2a1f0e9d8c04', other),
    ];
    // when: stored with the event's receipt at hand, and as before migration 139 (every receipt in place)
    const stored = encodeChain(levels, { ownReceipt: own });
    const whole = encodeChain(levels);
    const read = (chain: unknown) => database.owner`
      select chain_json(chain_levels(${chain === null ? null : JSON.stringify(chain)}::text::json, ${JSON.stringify(encodeReceipt(own))}::text::json))::text as chain`;
    const [[references], [before], [none]] = await Promise.all([read(stored), read(whole), read(null)]);
    // then: the first level refers to the event's receipt, the third to the second level's; read back, the same JSON
    expect(stored.map((l) => l[11])).toEqual([0, encodeReceipt(other), 2]);
    expect(JSON.stringify(JSON.parse(references.chain))).toBe(JSON.stringify(JSON.parse(before.chain)));
    expect(JSON.parse(before.chain).map((l: { receipt: unknown }) => l.receipt)).toEqual(
      [own, other, other].map((r) => encodeReceipt(r)),
    );
    expect(none.chain).toBeNull();
    // and a chain stored as migration 082's objects passes through as it did
    const [[objects]] = await Promise.all([read(JSON.parse(before.chain))]);
    expect(JSON.stringify(JSON.parse(objects.chain))).toBe(JSON.stringify(JSON.parse(before.chain)));
  });
});
