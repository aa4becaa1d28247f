// The four models of the @pydantic/genai-prices npm package's own catalogue that the importer used to refuse (two
// Gemini models matched with a lookahead regex, Groq's two Whisper models with calcPrice's 10-second minimum per call)
// are imported, and the kernel prices them as calcPrice does, with names written as providers write them.
import { calcPrice, findProvider } from '@pydantic/genai-prices';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Kernel, PriceBook, UsageEvent } from '@tariff/core-wasm';
import { compileBook } from '@tariff/core-wasm';
import { loadKernel } from '@tariff/core-wasm/node';
import { Decimal } from 'decimal.js';
import { importGenaiPricesWithNotes } from '../../core-wasm/src/importers/genai-prices.ts';

/** The package's own provider entries (findProvider returns them as the package ships them). */
function packageProvider(id: string): unknown {
  const provider = findProvider({ providerId: id });
  if (!provider) throw new Error(`the npm package has no provider ${id}`);
  // Only these two providers are imported here: their fallbacks name providers left out.
  const { fallback_model_providers: _, ...rest } = provider as unknown as Record<string, unknown>;
  return rest;
}

let kernel: Kernel;
let book: PriceBook;
beforeAll(async () => {
  kernel = await loadKernel();
  book = importGenaiPricesWithNotes([packageProvider('google'), packageProvider('groq')]).book;
});

const AT = '2026-06-01T12:00:00Z';

function rateOne(provider: string, model: string, usage: Record<string, number>) {
  const event: UsageEvent = {
    transaction_id: 't',
    customer_id: 'c',
    event_type: 'llm',
    timestamp: AT,
    properties: { provider, model, ...usage },
  };
  return kernel.rate(book, {}, [event]).results[0]!;
}

/** calcPrice's total rounded half-even to the nano-unit (its float sum is within 1e-15 of the exact figure). */
function calcPriceNano(provider: string, model: string, usage: Record<string, number>): string {
  const price = calcPrice(usage, model, { providerId: provider, timestamp: new Date(AT) });
  if (!price) throw new Error(`calcPrice has no price for ${provider}/${model}`);
  return new Decimal(price.total_price).toDecimalPlaces(9, Decimal.ROUND_HALF_EVEN).toFixed(9);
}

describe('the npm package catalogue models the importer used to refuse', () => {
  it('compiles the imported google and groq providers', () => {
    const compiled = compileBook(book);
    expect(compiled.ok ? [] : compiled.errors).toEqual([]);
    // the lookahead regex is carried as written
    const pro = book.versions.at(-1)!.rate_cards.find((card) => card.id === 'google/gemini-2.5-pro')!;
    expect(JSON.stringify(pro.match)).toContain('(?!.*-[tT][tT][sS](?:$|-))');
  });

  it.each([
    // the lookahead keeps -tts names off gemini-2.5-pro and gemini-2.5-flash-lite
    ['gemini-2.5-pro', 'gemini-2.5-pro'],
    ['Gemini-2.5-Pro-Preview-06-05', 'gemini-2.5-pro'],
    ['gemini-2.5-pro-preview-tts', 'gemini-2.5-pro-tts'],
    ['Gemini-2.5-Pro-TTS', 'gemini-2.5-pro-tts'],
    ['gemini-2.5-flash-lite-preview-09-2025', 'gemini-2.5-flash-lite'],
    ['GEMINI-2.5-FLASH-LITE-PREVIEW-TTS', undefined],
  ])('%s is priced by the card calcPrice picks (%s), at its price', (model, expectedModel) => {
    const usage = { input_tokens: 250_000, output_tokens: 1_000 };
    const calc = calcPrice(usage, model, { providerId: 'google', timestamp: new Date(AT) });
    const result = rateOne('Google', model, usage);
    if (expectedModel !== undefined) expect(calc?.model.id).toBe(expectedModel);
    else expect(calc?.model.id).not.toBe('gemini-2.5-flash-lite');
    expect(result.card).toBe(calc ? `google/${calc.model.id}` : undefined);
    if (calc) expect(result.amount).toBe(calcPriceNano('google', model, usage));
  });

  it.each([
    ['whisper-large-v3', { audio_seconds: 4 }],
    ['Whisper-Large-V3', { input_audio_seconds: 4 }],
    ['whisper-large-v3', { audio_seconds: 25 }],
    ['whisper-large-v3-turbo', { audio_seconds: 4, input_audio_seconds: 4 }],
    ['whisper-large-v3-turbo', { audio_seconds: 0, input_audio_seconds: 7.5 }],
    ['whisper-large-v3-turbo', { audio_seconds: 3600 }],
    ['whisper-large-v3', { audio_seconds: 0 }],
  ])('Groq %s %j pays at least 10 seconds a call, as calcPrice does', (model, usage) => {
    const result = rateOne('groq', model, usage);
    expect(result.status).toBe('rated');
    expect(result.amount).toBe(calcPriceNano('groq', model, usage));
  });

  it('shows the minimum in the receipt', () => {
    const result = rateOne('groq', 'whisper-large-v3', { audio_seconds: 4 });
    expect(result.receipt).toContainEqual({ step: 'minimum', charge: 0, minimum: '10.000000' });
  });
});

describe('the lookahead under each regex policy', () => {
  const catalogue = () => [packageProvider('google')];
  const pro = (book: PriceBook) =>
    JSON.stringify(book.versions.at(-1)!.rate_cards.find((card) => card.id === 'google/gemini-2.5-pro')!.match);

  it('is kept as written with "keep" and "widen" (no literal rule is a superset of it), refused with "reject"', () => {
    expect(pro(importGenaiPricesWithNotes(catalogue(), { regex: 'keep' }).book)).toContain(
      '(?!.*-[tT][tT][sS](?:$|-))',
    );
    expect(pro(importGenaiPricesWithNotes(catalogue(), { regex: 'widen' }).book)).toContain(
      '(?!.*-[tT][tT][sS](?:$|-))',
    );
    expect(() => importGenaiPricesWithNotes(catalogue(), { regex: 'reject' })).toThrow(/lookaround assertions/);
  });
});
