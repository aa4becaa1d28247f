// The compiler reports every problem of a bad book with its JSON path, and accepts what the schema accepts.
import { readFileSync, readdirSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import type { PriceBook } from './book.ts';
import { compileBook, parseInstant, withZoneTransitions } from './compile.ts';

const schema = JSON.parse(readFileSync(new URL('../schema/price-book.schema.json', import.meta.url), 'utf8'));
const validateSchema = new Ajv2020({ allErrors: true, strict: false }).compile(schema);
const example = JSON.parse(readFileSync(new URL('../examples/llm-book.json', import.meta.url), 'utf8')) as PriceBook;

function problems(book: unknown): string[] {
  const result = compileBook(book);
  return result.ok ? [] : result.errors.map((e) => `${e.path}: ${e.message}`);
}

const card = (overrides: Record<string, unknown> = {}) => ({
  id: 'm', match: { model: 'm' }, charges: [{ dimension: 'tokens', price: { model: 'per_unit', rate: '1' } }], ...overrides,
});
const bookWith = (cards: unknown[], version: Record<string, unknown> = {}) => ({
  id: 'b', currency: 'USD', versions: [{ effective_from: '2026-01-01T00:00:00Z', rate_cards: cards, ...version }],
});

describe('compileBook', () => {
  it('refuses defaults that name no numeric property of the card or are not decimals', () => {
    const gpu = { id: 'g', match: { gpu_type: 'h100' }, dimensions: { s: { gpu_time: {} } }, charges: [{ dimension: 's', price: { model: 'per_unit', rate: '1' } }] };
    expect(problems(bookWith([{ ...gpu, defaults: { gpu_count: '1' } }]))).toEqual([]);
    expect(validateSchema(bookWith([{ ...gpu, defaults: { gpu_count: '1' } }]))).toBe(true);
    expect(problems(bookWith([{ ...gpu, defaults: { tokens: '1', gpu_count: '-1' } }]))).toEqual([
      'versions[0].rate_cards[0].defaults.tokens: must name a numeric property the card reads',
      'versions[0].rate_cards[0].defaults.gpu_count: must not be negative',
    ]);
  });

  it('compiles the example book and every vector book, which the JSON schema also accepts', () => {
    const vectorsDir = new URL('../../test/vectors/', import.meta.url);
    const books = [example, ...readdirSync(vectorsDir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(new URL(f, vectorsDir), 'utf8')).book)];
    for (const book of books) {
      expect(problems(book)).toEqual([]);
      expect(validateSchema(book), JSON.stringify(validateSchema.errors)).toBe(true);
    }
  });

  it.each([
    ['a missing currency', { id: 'b', versions: [] }, ['currency: must be an ISO 4217 code such as "USD"', 'versions: must be a non-empty list of versions']],
    ['a rate with ten decimals', bookWith([card({ charges: [{ dimension: 'tokens', price: { model: 'per_unit', rate: '0.0000000001' } }] })]),
      ['versions[0].rate_cards[0].charges[0].price.rate: has more than 9 decimal places']],
    ['an unknown price model', bookWith([card({ charges: [{ dimension: 'tokens', price: { model: 'magic' } }] })]),
      ['versions[0].rate_cards[0].charges[0].price.model: must be one of per_unit, package, graduated, volume, request_tiers, flat, dynamic']],
    ['tiers out of order and an open middle tier', bookWith([card({ charges: [{ dimension: 'tokens', price: { model: 'graduated', tiers: [{ up_to: '10', rate: '1' }, { up_to: '5', rate: '1' }, { rate: '1' }] } }] })]),
      ['versions[0].rate_cards[0].charges[0].price.tiers[1].up_to: tiers must be in strictly ascending up_to order']],
    ['a window in an unknown zone and a variant naming a missing window',
      bookWith([card({ variants: [{ when: { window: 'nope' }, charges: [{ dimension: 'tokens', price: { model: 'flat', amount: '1' } }] }] })], { windows: { night: { time_zone: 'Mars/Olympus', start: '22:00', end: '06:00' } } }),
      ['versions[0].windows.night.time_zone: must be an IANA time zone such as "America/New_York"', 'versions[0].rate_cards[0].variants[0].when.window: no window "nope" in this version']],
    ['a string property used as a quantity', bookWith([card({ charges: [{ dimension: 'model', price: { model: 'per_unit', rate: '1' } }] })]),
      ['versions[0].rate_cards[0].charges[0].dimension: "model" is a string property and cannot be measured']],
    ['versions out of order', { id: 'b', currency: 'USD', versions: [bookWith([card()]).versions[0], { ...bookWith([card()]).versions[0], effective_from: '2025-01-01T00:00:00Z' }] },
      ['versions[1].effective_from: versions must be in strictly ascending effective_from order']],
    ['a card whose match changes between versions', { id: 'b', currency: 'USD', versions: [bookWith([card()]).versions[0], { effective_from: '2026-02-01T00:00:00Z', rate_cards: [card({ match: { model: 'other' } })] }] },
      ['versions[1].rate_cards[0].match: card "m" matches differently than in an earlier version; give it a new id']],
    ['an allowance in a cost schedule', { ...bookWith([card()]), cost: { versions: [{ effective_from: '2026-01-01T00:00:00Z', rate_cards: [card({ charges: [{ dimension: 'tokens', allowance: 'free', price: { model: 'per_unit', rate: '1' } }] })] }] } },
      ['cost.versions[0].rate_cards[0].charges[0].allowance: a cost schedule has no allowances']],
    ['a bad regex', bookWith([card({ match: { model: { regex: '(' } } })]), ['versions[0].rate_cards[0].match.model.regex: is not a valid regular expression: Invalid regular expression: /(/: Unterminated group']],
  ])('rejects %s, naming each field', (_, book, expected) => {
    expect(problems(book)).toEqual(expected);
  });

  it('shares one compiled card between versions where it did not change', () => {
    const one = compileBook(bookWith([card()]));
    const two = compileBook({ ...bookWith([card()]), versions: [bookWith([card()]).versions[0], { effective_from: '2026-02-01T00:00:00Z', rate_cards: [card()] }] });
    expect(one.ok && two.ok).toBe(true);
    if (one.ok && two.ok) expect(two.book.bytes.length - one.book.bytes.length).toBeLessThanOrEqual(16);
  });

  it('pins zone transitions into the book, and the pinned table wins over the runtime', () => {
    const pinned = withZoneTransitions(example);
    const newYork = pinned.zone_transitions!['America/New_York'];
    expect(newYork[0].from).toBeNull();
    expect(newYork).toContainEqual({ from: '2026-03-08T07:00:00.000Z', offset_seconds: -14400 });
    expect(newYork).toContainEqual({ from: '2026-11-01T06:00:00.000Z', offset_seconds: -18000 });
    expect(validateSchema(pinned)).toBe(true);
    const fake = { ...example, zone_transitions: { 'America/New_York': [{ from: null, offset_seconds: 3600 }] } };
    const compiled = compileBook(fake);
    expect(compiled.ok).toBe(true);
    expect(problems({ ...example, zone_transitions: { 'America/New_York': [{ from: '2026-01-01T00:00:00Z', offset_seconds: 0 }] } }))
      .toEqual(['zone_transitions.America/New_York[0].from: the first transition has from: null']);
  });
});

describe('parseInstant', () => {
  it.each([
    ['2026-03-08T07:00:00Z', 1772953200000n],
    ['2026-03-08T02:00:00-05:00', 1772953200000n],
    ['2026-03-08T07:00:00.123456Z', 1772953200123n],
    ['2026-03-08t07:00:00z', 1772953200000n],
    ['2026-03-08T07:00Z', undefined],
    ['2026-02-30T00:00:00Z', undefined],
    ['2028-02-29T00:00:00Z', 1835395200000n],
    ['2100-02-29T00:00:00Z', undefined],
    ['0050-01-01T00:00:00Z', -60589296000000n],
    ['2026-03-08 07:00:00Z', undefined],
    ['2026-03-08T07:00:00', undefined],
    ['1772953200000', undefined],
  ])('%s -> %s', (text, expected) => {
    expect(parseInstant(text)).toBe(expected);
  });
});
