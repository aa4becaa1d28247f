// The DeepSeek V4 example book (core-wasm/examples/deepseek-v4-book.json): full price on weekday peak hours in
// Beijing, half price on weekends, on Chinese public holidays and outside peak hours; kernel and reference agree.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { PriceBook, UsageEvent } from '@tariff/core-wasm';
import { compileBook } from '@tariff/core-wasm';
import { rate } from '@tariff/core-wasm/node';
import { rateReference } from '../reference/rate.ts';

const book = JSON.parse(
  readFileSync(new URL('../../core-wasm/examples/deepseek-v4-book.json', import.meta.url), 'utf8'),
) as PriceBook;

// 1M input tokens of which 200k cache hits, and 100k output tokens:
// peak 0.8 x 0.6 + 0.2 x 0.06 + 0.1 x 2.4 = 0.732; off-peak half of it, 0.366.
const PEAK = '0.732000000';
const OFF_PEAK = '0.366000000';
const cases: [string, string, string][] = [
  ['Tuesday 2026-09-29 10:00 Beijing', '2026-09-29T02:00:00Z', PEAK],
  ['Tuesday 08:59:59 Beijing, before the peak', '2026-09-29T00:59:59Z', OFF_PEAK],
  ['Tuesday 18:00 Beijing, the peak has ended', '2026-09-29T10:00:00Z', OFF_PEAK],
  ['Saturday 2026-10-10 10:00 Beijing', '2026-10-10T02:00:00Z', OFF_PEAK],
  ['National Day, Thursday 2026-10-01 10:00 Beijing', '2026-10-01T02:00:00Z', OFF_PEAK],
  ['Wednesday 2026-10-07 17:59:59 Beijing, the last holiday', '2026-10-07T09:59:59Z', OFF_PEAK],
  ['Thursday 2026-10-08 09:00 Beijing, the first working day after it', '2026-10-08T01:00:00Z', PEAK],
  ['Spring Festival, Monday 2026-02-23 12:00 Beijing', '2026-02-23T04:00:00Z', OFF_PEAK],
  ['Tuesday 2026-02-24 12:00 Beijing', '2026-02-24T04:00:00Z', PEAK],
];

describe('the DeepSeek V4 example book', () => {
  it('compiles', () => {
    const compiled = compileBook(book);
    expect(compiled.ok ? [] : compiled.errors).toEqual([]);
  });

  it.each(cases)('%s (%s) costs %s, in the kernel and the reference', async (_, timestamp, amount) => {
    const event: UsageEvent = {
      transaction_id: 't',
      customer_id: 'c',
      event_type: 'llm',
      timestamp,
      properties: {
        provider: 'DeepSeek',
        model: 'DeepSeek-V4',
        input_tokens: 1_000_000,
        cache_read_tokens: 200_000,
        output_tokens: 100_000,
      },
    };
    const kernel = await rate(book, {}, [event]);
    expect(kernel.results[0]!.amount).toBe(amount);
    expect(rateReference(book, {}, [event]).results[0]!.amount).toBe(amount);
  });
});
