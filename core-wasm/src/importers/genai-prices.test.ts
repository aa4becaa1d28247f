// Hand-written catalogue fragments and the book fragments they must import to; every expected value is worked out from
// the catalogue semantics (calcPrice) in the comments, not by running the importer.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { PriceBook, RateCard } from '../book.ts';
import { compileBook } from '../compile.ts';
import { GENAI_PRICES_UNITS_PATH } from './genai-prices-snapshot.ts';
import { GENAI_PRICES_UNITS } from './genai-prices-units.ts';
import {
  GenaiPricesImportError,
  importGenaiPrices,
  importGenaiPricesWithNotes,
  type ImportGenaiPricesOptions,
} from './genai-prices.ts';

const FIRST = '1970-01-01T00:00:00.000Z';

function provider(id: string, models: unknown[], extra: Record<string, unknown> = {}) {
  return { id, name: id, api_pattern: `https://${id}`, models, ...extra };
}

function model(id: string, prices: unknown, match: unknown = { equals: id }) {
  return { id, match, prices };
}

function cardOf(book: PriceBook, id: string, version = 0): RateCard {
  const card = book.versions[version]!.rate_cards.find((candidate) => candidate.id === id);
  expect(card, `card ${id} in version ${version}`).toBeDefined();
  return card!;
}

function problemsOf(catalogue: unknown, options?: ImportGenaiPricesOptions): { path: string; message: string }[] {
  try {
    importGenaiPrices(catalogue, options);
  } catch (error) {
    expect(error).toBeInstanceOf(GenaiPricesImportError);
    return (error as GenaiPricesImportError).problems;
  }
  throw new Error('expected the import to fail');
}

const perMillion = (dimension: string, rate: string) => ({
  dimension,
  price: { model: 'per_unit', rate, per: '1000000' },
});

describe('importGenaiPrices: cards', () => {
  it('makes one card per provider and model with per-million token prices', () => {
    // given a provider without provider_match and a model matched by its id only
    const book = importGenaiPrices([
      provider('groq', [model('llama-3.3-70b', { input_mtok: 0.59, output_mtok: 0.79 })]),
    ]);
    // then one USD version from 1970 with an exact card (plain strings: exact matches win in the kernel)
    expect(book).toEqual({
      id: 'genai-prices',
      currency: 'USD',
      versions: [
        {
          effective_from: FIRST,
          rate_cards: [
            {
              id: 'groq/llama-3.3-70b',
              match: { provider: 'groq', model: 'llama-3.3-70b' },
              charges: [perMillion('input_tokens', '0.59'), perMillion('output_tokens', '0.79')],
            },
          ],
        },
      ],
    });
  });

  it('puts the ids first as exact matches, then the lowercased catalogue rules', () => {
    const book = importGenaiPrices([
      provider(
        'OpenAI',
        [
          model(
            'GPT-4o',
            { input_mtok: 2.5 },
            {
              or: [
                { equals: 'GPT-4o' },
                { starts_with: 'GPT-4o-2024' },
                { and: [{ contains: 'Azure' }, { ends_with: '-4O' }] },
              ],
            },
          ),
        ],
        { provider_match: { or: [{ contains: 'OpenAI' }, { equals: 'oai' }] } },
      ),
    ]);
    // calcPrice lowercases the reference and every literal; `equals: GPT-4o` duplicates the id and is dropped
    expect(cardOf(book, 'OpenAI/GPT-4o').match).toEqual({
      provider: { or: ['openai', { contains: 'openai' }, { equals: 'oai' }] },
      model: { or: ['gpt-4o', { starts_with: 'gpt-4o-2024' }, { and: [{ contains: 'azure' }, { ends_with: '-4o' }] }] },
    });
  });

  it('translates a regex clause exactly when its language is finite', () => {
    const book = importGenaiPrices([
      provider('openai', [model('o-series', { input_mtok: 1 }, { regex: '^o[134](?:-mini)?$' })]),
    ]);
    expect(cardOf(book, 'openai/o-series').match.model).toEqual({
      or: ['o-series', ...['o1', 'o1-mini', 'o3', 'o3-mini', 'o4', 'o4-mini'].map((equals) => ({ equals }))],
    });
  });

  it('keeps a regex with no exact rule as a regex rule, refuses it or widens it on request', () => {
    const catalogue = [
      provider('x-ai', [
        model('grok-4.3', { input_mtok: 3 }, { or: [{ equals: 'grok-4.3' }, { regex: '^grok-4\\.3-\\d{8}$' }] }),
      ]),
    ];
    expect(cardOf(importGenaiPrices(catalogue), 'x-ai/grok-4.3').match.model).toEqual({
      or: ['grok-4.3', { regex: '^grok-4\\.3-\\d{8}$' }],
    });
    expect(problemsOf(catalogue, { regex: 'reject' })).toEqual([
      { path: '$[0].models[0].match.or[1].regex', message: expect.stringContaining('{"starts_with":"grok-4.3-"}') },
    ]);
    const { book, notes } = importGenaiPricesWithNotes(catalogue, { regex: 'widen' });
    expect(cardOf(book, 'x-ai/grok-4.3').match.model).toEqual({ or: ['grok-4.3', { starts_with: 'grok-4.3-' }] });
    expect(notes).toEqual([
      {
        path: '$[0].models[0].match.or[1].regex',
        kind: 'regex_widened',
        message: expect.stringContaining('grok-4.3-'),
      },
    ]);
  });

  it('moves a provider before another whose provider_match takes its id, so that exact ids win', () => {
    const { book, notes } = importGenaiPricesWithNotes([
      provider('cerebras', [model('llama', { input_mtok: 0.1 })], { provider_match: { contains: 'cerebras' } }),
      provider('groq', [model('llama', { input_mtok: 0.2 })]),
      provider('hf_cerebras', [model('llama', { input_mtok: 0.3 })], {
        provider_match: { and: [{ contains: 'hf' }, { contains: 'cerebras' }] },
      }),
    ]);
    // "hf_cerebras" contains "cerebras": book order alone would give it cerebras's card
    expect(book.versions[0]!.rate_cards.map((card) => card.id)).toEqual([
      'hf_cerebras/llama',
      'cerebras/llama',
      'groq/llama',
    ]);
    expect(notes.map((note) => note.kind)).toEqual(['cards_reordered']);
  });

  it("adds a fallback provider's models after the provider's own, matched by their rules only", () => {
    const book = importGenaiPrices([
      provider('openai', [
        model('gpt-4o', { input_mtok: 2.5 }, { or: [{ equals: 'gpt-4o' }, { starts_with: 'gpt-4o-' }] }),
      ]),
      provider('azure', [model('phi-4', { input_mtok: 0.125 })], { fallback_model_providers: ['openai'] }),
    ]);
    expect(book.versions[0]!.rate_cards.map((card) => card.id)).toEqual([
      'openai/gpt-4o',
      'azure/phi-4',
      'azure/gpt-4o@openai',
    ]);
    expect(cardOf(book, 'azure/gpt-4o@openai')).toEqual({
      id: 'azure/gpt-4o@openai',
      match: { provider: 'azure', model: { or: [{ equals: 'gpt-4o' }, { starts_with: 'gpt-4o-' }] } },
      charges: [perMillion('input_tokens', '2.5')],
    });
  });
});

describe('importGenaiPrices: charges', () => {
  it('prices each priced unit on its exclusive quantity (inclusion-exclusion over the priced units)', () => {
    const book = importGenaiPrices([
      provider('openai', [
        model('gpt-audio', {
          input_mtok: 2.5,
          cache_read_mtok: 1.25,
          input_audio_mtok: 40,
          cache_audio_read_mtok: 2.5,
          output_mtok: 10,
          output_reasoning_mtok: 12,
        }),
      ]),
    ]);
    const card = cardOf(book, 'openai/gpt-audio');
    // cache_audio_read is in both cache_read and input_audio: subtracting both adds it back once
    expect(card.dimensions).toEqual({
      input_tokens_remainder: {
        formula: { input_tokens: 1, cache_read_tokens: -1, input_audio_tokens: -1, cache_audio_read_tokens: 1 },
      },
      cache_read_tokens_remainder: { formula: { cache_read_tokens: 1, cache_audio_read_tokens: -1 } },
      input_audio_tokens_remainder: { formula: { input_audio_tokens: 1, cache_audio_read_tokens: -1 } },
      output_tokens_remainder: { formula: { output_tokens: 1, output_reasoning_tokens: -1 } },
    });
    // in the registry's order
    expect(card.charges).toEqual([
      perMillion('input_tokens_remainder', '2.5'),
      perMillion('output_tokens_remainder', '10'),
      perMillion('cache_read_tokens_remainder', '1.25'),
      perMillion('input_audio_tokens_remainder', '40'),
      perMillion('cache_audio_read_tokens', '2.5'),
      perMillion('output_reasoning_tokens', '12'),
    ]);
  });

  it('leaves unpriced descendants in their priced ancestor', () => {
    // cache_read_mtok absent: cache reads are billed as input tokens, so input_tokens is used whole
    const book = importGenaiPrices([provider('mistral', [model('small', { input_mtok: 0.1, output_mtok: 0.3 })])]);
    expect(cardOf(book, 'mistral/small')).not.toHaveProperty('dimensions');
    expect(cardOf(book, 'mistral/small').charges).toEqual([
      perMillion('input_tokens', '0.1'),
      perMillion('output_tokens', '0.3'),
    ]);
  });

  it('maps TieredPrices to request_tiers on the total input tokens, tiers sorted, above = start', () => {
    // calcPrice: the last tier (by start) with input_tokens > start, i.e. strictly above the start
    const book = importGenaiPrices([
      provider('google', [
        model('gemini-pro', {
          input_mtok: {
            base: 1.25,
            tiers: [
              { start: 500000, price: 3 },
              { start: 200000, price: 2.5 },
            ],
          },
          output_mtok: 10,
        }),
      ]),
    ]);
    expect(cardOf(book, 'google/gemini-pro').charges[0]).toEqual({
      dimension: 'input_tokens',
      price: {
        model: 'request_tiers',
        basis: 'input_tokens',
        rate: '1.25',
        tiers: [
          { above: '200000', rate: '2.5' },
          { above: '500000', rate: '3' },
        ],
        per: '1000000',
      },
    });
  });

  it('prices _kcount units per thousand and a request as a flat amount per call', () => {
    // calcPrice counts exactly one request per call: 12 USD per thousand requests is 0.012 per event
    const book = importGenaiPrices([
      provider('perplexity', [model('sonar', { input_mtok: 1, requests_kcount: 12, web_searches_kcount: 5 })]),
    ]);
    expect(cardOf(book, 'perplexity/sonar').charges).toEqual([
      perMillion('input_tokens', '1'),
      { dimension: 'web_searches', price: { model: 'per_unit', rate: '5', per: '1000' } },
      { price: { model: 'flat', amount: '0.012' } },
    ]);
  });

  it('keeps prices exact: float artefacts recovered, sub-nano rates scaled with per, free models at 0', () => {
    const { book, notes } = importGenaiPricesWithNotes([
      provider('together', [
        model('qwen', { input_mtok: 0.18000000000000002, output_mtok: 0.0000000004 }),
        model('free', {}),
      ]),
    ]);
    // 4e-10 per million has 10 decimals: 4e-9 per ten million
    expect(cardOf(book, 'together/qwen').charges).toEqual([
      perMillion('input_tokens', '0.18'),
      { dimension: 'output_tokens', price: { model: 'per_unit', rate: '0.000000004', per: '10000000' } },
    ]);
    expect(notes).toEqual([
      {
        path: '$[0].models[0].prices.input_mtok',
        kind: 'number_recovered',
        message: '0.18000000000000002 read as 0.18',
      },
    ]);
    expect(cardOf(book, 'together/free').charges).toEqual([{ price: { model: 'flat', amount: '0' } }]);
  });
});

describe('importGenaiPrices: conditional prices', () => {
  const always = { input_mtok: 1 };
  const later = { input_mtok: 2 };
  const night = { input_mtok: 0.5 };

  it('turns start dates into versions at midnight UTC, repeating unchanged cards', () => {
    const book = importGenaiPrices([
      provider('openai', [
        model('o3', [{ prices: always }, { constraint: { start_date: '2025-06-10' }, prices: later }]),
        model('gpt-4o', { input_mtok: 2.5 }),
      ]),
    ]);
    expect(book.versions.map((version) => version.effective_from)).toEqual([FIRST, '2025-06-10T00:00:00.000Z']);
    expect(cardOf(book, 'openai/o3', 0).charges).toEqual([perMillion('input_tokens', '1')]);
    expect(cardOf(book, 'openai/o3', 1).charges).toEqual([perMillion('input_tokens', '2')]);
    expect(cardOf(book, 'openai/gpt-4o', 1)).toEqual(cardOf(book, 'openai/gpt-4o', 0));
  });

  it('turns a time-of-day entry into a UTC window and a variant, folding offsets and keeping wraps', () => {
    const book = importGenaiPrices([
      provider('deepseek', [
        model('chat', [
          { prices: always },
          { constraint: { start_time: '00:30:00+02:00', end_time: '06:00:00Z' }, prices: night },
        ]),
      ]),
    ]);
    // 00:30 at +02:00 is 22:30 UTC the day before: a window that wraps midnight
    expect(book.versions).toEqual([
      {
        effective_from: FIRST,
        windows: { utc_223000_060000: { time_zone: 'UTC', start: '22:30:00', end: '06:00:00' } },
        rate_cards: [
          {
            id: 'deepseek/chat',
            match: { provider: 'deepseek', model: 'chat' },
            charges: [perMillion('input_tokens', '1')],
            variants: [{ when: { window: 'utc_223000_060000' }, charges: [perMillion('input_tokens', '0.5')] }],
          },
        ],
      },
    ]);
  });

  it('follows "last holding entry wins, else the first" when start dates and windows mix', () => {
    // [window W1: A, from D: B, window W2: C]. Before D nothing always holds: calcPrice falls back to entry 0 (A),
    // and C in W2. From D, B always holds and only C (after it) can override it.
    const A = { input_mtok: 1 };
    const B = { input_mtok: 2 };
    const C = { input_mtok: 3 };
    const book = importGenaiPrices([
      provider('p', [
        model('m', [
          { constraint: { start_time: '08:00:00Z', end_time: '12:00:00Z' }, prices: A },
          { constraint: { start_date: '2026-01-01' }, prices: B },
          { constraint: { start_time: '18:00:00Z', end_time: '20:00:00Z' }, prices: C },
        ]),
        model('n', [
          { prices: A },
          { constraint: { start_time: '18:00:00Z', end_time: '20:00:00Z' }, prices: B },
          { constraint: { start_date: '2026-01-01' }, prices: C },
        ]),
      ]),
    ]);
    const variantC = { when: { window: 'utc_180000_200000' }, charges: [perMillion('input_tokens', '3')] };
    expect(cardOf(book, 'p/m', 0)).toMatchObject({ charges: [perMillion('input_tokens', '1')], variants: [variantC] });
    expect(cardOf(book, 'p/m', 1)).toMatchObject({ charges: [perMillion('input_tokens', '2')], variants: [variantC] });
    // n: from D the last entry always holds and hides the window before it
    expect(cardOf(book, 'p/n', 0)).toMatchObject({
      charges: [perMillion('input_tokens', '1')],
      variants: [{ when: { window: 'utc_180000_200000' }, charges: [perMillion('input_tokens', '2')] }],
    });
    expect(cardOf(book, 'p/n', 1)).toEqual({
      id: 'p/n',
      match: { provider: 'p', model: 'n' },
      charges: [perMillion('input_tokens', '3')],
    });
    expect(book.versions[1]!.effective_from).toBe('2026-01-01T00:00:00.000Z');
  });

  it('makes no variant for a window whose start equals its end (calcPrice never applies it)', () => {
    const { book, notes } = importGenaiPricesWithNotes([
      provider('p', [
        model('m', [
          { prices: always },
          { constraint: { start_time: '10:00:00Z', end_time: '10:00:00Z' }, prices: night },
        ]),
      ]),
    ]);
    expect(cardOf(book, 'p/m')).not.toHaveProperty('variants');
    expect(book.versions[0]).not.toHaveProperty('windows');
    expect(notes.map((note) => note.kind)).toEqual(['empty_window']);
  });
});

describe('importGenaiPrices: validation', () => {
  it('rejects a non-array catalogue', () => {
    expect(problemsOf({ providers: [] })).toEqual([{ path: '$', message: 'expected an array of providers' }]);
  });

  it("states Groq Whisper's 10-second minimum per call, which lives in calcPrice's code", () => {
    // calcPrice reads audio_seconds (input_audio_seconds when absent or 0), raises it to 10 and sets both: one charge
    // on the larger of the two at the input audio rate (0.111 per hour), with a per-call minimum of 10 seconds
    const book = importGenaiPrices([
      provider('groq', [model('whisper-large-v3', { audio_hours: 0.111, input_audio_hours: 0.2 })]),
    ]);
    expect(cardOf(book, 'groq/whisper-large-v3')).toEqual({
      id: 'groq/whisper-large-v3',
      match: { provider: 'groq', model: 'whisper-large-v3' },
      dimensions: { billed_audio_seconds: { max: ['audio_seconds', 'input_audio_seconds'] } },
      charges: [
        { dimension: 'billed_audio_seconds', minimum: '10', price: { model: 'per_unit', rate: '0.2', per: '3600' } },
      ],
    });
    expect(
      problemsOf([
        provider('groq', [
          model('whisper-large-v3', { audio_hours: { base: 0.1, tiers: [{ start: 10, price: 0.2 }] } }),
        ]),
      ]),
    ).toEqual([
      {
        path: '$[0].models[0].prices',
        message: "calcPrice's 10-second minimum per call for Groq Whisper cannot be stated on tiered audio prices",
      },
    ]);
  });

  it('lists every problem with its JSON path at once', () => {
    const problems = problemsOf([
      provider(
        'p',
        [
          model('a', { input_mtok: -1, pages_mtok: 2 }),
          model('b', { cache_read_mtok: 0.1 }),
          model('c', { input_mtok: 1, cache_read_mtok: 0.1, input_audio_mtok: 5 }),
          model('d', [{ constraint: { start_date: '2025-13-01' }, prices: { input_mtok: 1 } }]),
          model('e', [{ constraint: { start_time: '10:00:00.5Z', end_time: '11:00:00Z' }, prices: { input_mtok: 1 } }]),
          model('f', [{ constraint: { weekday: 'mon' }, prices: { input_mtok: 1 } }]),
          model('g', { input_mtok: { base: 1, tiers: [{ start: 1.5, price: 2 }] } }),
          model('a', { input_mtok: 1 }),
          model('h', { input_mtok: 1 }, { regex: '(x' }),
          model('i', { requests_kcount: { base: 1, tiers: [] } }),
          { id: 'no match', prices: {} },
        ],
        { fallback_model_providers: ['nobody'] },
      ),
    ]);
    expect(problems.map((problem) => problem.path)).toEqual([
      '$[0].models[0].prices.input_mtok',
      '$[0].models[0].prices.pages_mtok',
      '$[0].models[1].prices.cache_read_mtok',
      '$[0].models[2].prices',
      '$[0].models[3].prices[0].constraint.start_date',
      '$[0].models[4].prices[0].constraint.start_time',
      '$[0].models[5].prices[0].constraint',
      '$[0].models[6].prices.input_mtok.tiers[0].start',
      '$[0].models[7].id',
      '$[0].models[8].match.regex',
      '$[0].models[9].prices.requests_kcount',
      '$[0].models[10].id',
      '$[0].models[10].match',
      '$[0].fallback_model_providers[0]',
    ]);
    // calcPrice would throw on every call for b and c: a priced unit without its ancestor, an overlap without its join
    expect(problems[2]!.message).toBe('prices cache_read_tokens without its ancestor input_mtok');
    expect(problems[3]!.message).toBe(
      'cache_read_mtok and input_audio_mtok overlap in cache_audio_read_mtok, which is not priced',
    );
  });
});

describe('the imported book', () => {
  it('compiles with the kernel compiler', () => {
    const book = importGenaiPrices([
      provider('deepseek', [
        model('chat', [
          { prices: { input_mtok: 0.27, cache_read_mtok: 0.07, output_mtok: 1.1 } },
          {
            constraint: { start_time: '16:30:00Z', end_time: '00:30:00Z' },
            prices: { input_mtok: 0.135, cache_read_mtok: 0.035, output_mtok: 0.55 },
          },
        ]),
      ]),
      provider(
        'google',
        [model('gemini', { input_mtok: { base: 1.25, tiers: [{ start: 200000, price: 2.5 }] }, requests_kcount: 35 })],
        { provider_match: { contains: 'vertex' } },
      ),
    ]);
    const compiled = compileBook(book);
    expect(compiled.ok ? [] : compiled.errors).toEqual([]);
  });
});

describe('GENAI_PRICES_UNITS', () => {
  it('is units.yml, key by key', () => {
    const text = readFileSync(GENAI_PRICES_UNITS_PATH, 'utf8');
    const parsed: Record<string, { per: number; priceKey: string; dimensions: Record<string, string> }> = {};
    let current = '';
    for (const line of text.split('\n')) {
      if (/^\s*(#|$)/.test(line)) continue;
      const key = /^(\w+):\s*$/.exec(line);
      if (key) {
        current = key[1]!;
        parsed[current] = { per: 0, priceKey: current, dimensions: {} };
        continue;
      }
      const [, field, value] = /^\s+(\w+):\s*(.*)$/.exec(line)!;
      if (field === 'per') parsed[current]!.per = Number(value!.replaceAll('_', ''));
      if (field === 'price_key') parsed[current]!.priceKey = value!;
      if (field === 'dimensions') {
        parsed[current]!.dimensions = Object.fromEntries(
          value!
            .replace(/^\{|\}$/g, '')
            .split(',')
            .map((pair) => pair.split(':').map((part) => part.trim())),
        );
      }
    }
    expect(GENAI_PRICES_UNITS).toEqual(parsed);
    expect(Object.keys(GENAI_PRICES_UNITS)).toEqual(Object.keys(parsed));
  });
});
