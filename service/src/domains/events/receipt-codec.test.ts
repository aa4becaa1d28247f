// Receipts encoded here and decoded by PostgreSQL (receipt_json, migration 070) come back as the kernel wrote them:
// every receipt of the conformance vectors, a quote step, and steps no code fits.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReceiptStep } from '@tariff/core-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../platform/test-database.ts';
import { decodeReceipt, encodeReceipt } from './receipt-codec.ts';

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
});
