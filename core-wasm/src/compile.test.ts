// The compiler reports every problem of a bad book with its JSON path, and accepts what the schema accepts.
import { readFileSync, readdirSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import type { PriceBook } from './book.ts';
import { calendarRanges, compileBook, parseInstant, withZoneTransitions } from './compile.ts';
import { zoneTransitions } from './zones.ts';

const schema = JSON.parse(readFileSync(new URL('../schema/price-book.schema.json', import.meta.url), 'utf8'));
const validateSchema = new Ajv2020({ allErrors: true, strict: false }).compile(schema);
const example = JSON.parse(readFileSync(new URL('../examples/llm-book.json', import.meta.url), 'utf8')) as PriceBook;

function problems(book: unknown): string[] {
  const result = compileBook(book);
  return result.ok ? [] : result.errors.map((e) => `${e.path}: ${e.message}`);
}

const card = (overrides: Record<string, unknown> = {}) => ({
  id: 'm',
  match: { model: 'm' },
  charges: [{ dimension: 'tokens', price: { model: 'per_unit', rate: '1' } }],
  ...overrides,
});
const bookWith = (cards: unknown[], version: Record<string, unknown> = {}) => ({
  id: 'b',
  currency: 'USD',
  versions: [{ effective_from: '2026-01-01T00:00:00Z', rate_cards: cards, ...version }],
});

describe('compileBook', () => {
  it('refuses defaults that name no numeric property of the card or are not decimals', () => {
    const gpu = {
      id: 'g',
      match: { gpu_type: 'h100' },
      dimensions: { s: { gpu_time: {} } },
      charges: [{ dimension: 's', price: { model: 'per_unit', rate: '1' } }],
    };
    expect(problems(bookWith([{ ...gpu, defaults: { gpu_count: '1' } }]))).toEqual([]);
    expect(validateSchema(bookWith([{ ...gpu, defaults: { gpu_count: '1' } }]))).toBe(true);
    expect(problems(bookWith([{ ...gpu, defaults: { tokens: '1', gpu_count: '-1' } }]))).toEqual([
      'versions[0].rate_cards[0].defaults.tokens: must name a numeric property the card reads',
      'versions[0].rate_cards[0].defaults.gpu_count: must not be negative',
    ]);
  });

  it('compiles the example book and every vector book, which the JSON schema also accepts', () => {
    const vectorsDir = new URL('../../test/vectors/', import.meta.url);
    const deepseek = JSON.parse(readFileSync(new URL('../examples/deepseek-v4-book.json', import.meta.url), 'utf8'));
    const books = [
      example,
      deepseek,
      ...readdirSync(vectorsDir)
        .filter((f) => f.endsWith('.json'))
        .map((f) => JSON.parse(readFileSync(new URL(f, vectorsDir), 'utf8')).book),
    ];
    for (const book of books) {
      expect(problems(book)).toEqual([]);
      expect(validateSchema(book), JSON.stringify(validateSchema.errors)).toBe(true);
    }
  });

  it.each([
    [
      'a missing currency',
      { id: 'b', versions: [] },
      ['currency: must be an ISO 4217 code such as "USD"', 'versions: must be a non-empty list of versions'],
    ],
    [
      'a rate with ten decimals',
      bookWith([card({ charges: [{ dimension: 'tokens', price: { model: 'per_unit', rate: '0.0000000001' } }] })]),
      ['versions[0].rate_cards[0].charges[0].price.rate: has more than 9 decimal places'],
    ],
    [
      'an unknown price model',
      bookWith([card({ charges: [{ dimension: 'tokens', price: { model: 'magic' } }] })]),
      [
        'versions[0].rate_cards[0].charges[0].price.model: must be one of per_unit, package, graduated, volume, request_tiers, flat, dynamic',
      ],
    ],
    [
      'tiers out of order and an open middle tier',
      bookWith([
        card({
          charges: [
            {
              dimension: 'tokens',
              price: {
                model: 'graduated',
                tiers: [{ up_to: '10', rate: '1' }, { up_to: '5', rate: '1' }, { rate: '1' }],
              },
            },
          ],
        }),
      ]),
      ['versions[0].rate_cards[0].charges[0].price.tiers[1].up_to: tiers must be in strictly ascending up_to order'],
    ],
    [
      'a window in an unknown zone and a variant naming a missing window',
      bookWith(
        [
          card({
            variants: [
              { when: { window: 'nope' }, charges: [{ dimension: 'tokens', price: { model: 'flat', amount: '1' } }] },
            ],
          }),
        ],
        { windows: { night: { time_zone: 'Mars/Olympus', start: '22:00', end: '06:00' } } },
      ),
      [
        'versions[0].windows.night.time_zone: must be an IANA time zone such as "America/New_York"',
        'versions[0].rate_cards[0].variants[0].when.window: no window "nope" in this version',
      ],
    ],
    [
      'a string property used as a quantity',
      bookWith([card({ charges: [{ dimension: 'model', price: { model: 'per_unit', rate: '1' } }] })]),
      ['versions[0].rate_cards[0].charges[0].dimension: "model" is a string property and cannot be measured'],
    ],
    [
      'versions out of order',
      {
        id: 'b',
        currency: 'USD',
        versions: [
          bookWith([card()]).versions[0],
          { ...bookWith([card()]).versions[0], effective_from: '2025-01-01T00:00:00Z' },
        ],
      },
      ['versions[1].effective_from: versions must be in strictly ascending effective_from order'],
    ],
    [
      'a card whose match changes between versions',
      {
        id: 'b',
        currency: 'USD',
        versions: [
          bookWith([card()]).versions[0],
          { effective_from: '2026-02-01T00:00:00Z', rate_cards: [card({ match: { model: 'other' } })] },
        ],
      },
      ['versions[1].rate_cards[0].match: card "m" matches differently than in an earlier version; give it a new id'],
    ],
    [
      'an allowance in a cost schedule',
      {
        ...bookWith([card()]),
        cost: {
          versions: [
            {
              effective_from: '2026-01-01T00:00:00Z',
              rate_cards: [
                card({
                  charges: [{ dimension: 'tokens', allowance: 'free', price: { model: 'per_unit', rate: '1' } }],
                }),
              ],
            },
          ],
        },
      },
      ['cost.versions[0].rate_cards[0].charges[0].allowance: a cost schedule has no allowances'],
    ],
    [
      'a bad regex',
      bookWith([card({ match: { model: { regex: '(' } } })]),
      [
        'versions[0].rate_cards[0].match.model.regex: is not a valid regular expression: Invalid regular expression: /(/: Unterminated group',
      ],
    ],
  ])('rejects %s, naming each field', (_, book, expected) => {
    expect(problems(book)).toEqual(expected);
  });

  it('shares one compiled card between versions where it did not change', () => {
    const one = compileBook(bookWith([card()]));
    const two = compileBook({
      ...bookWith([card()]),
      versions: [bookWith([card()]).versions[0], { effective_from: '2026-02-01T00:00:00Z', rate_cards: [card()] }],
    });
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
    expect(
      problems({
        ...example,
        zone_transitions: { 'America/New_York': [{ from: '2026-01-01T00:00:00Z', offset_seconds: 0 }] },
      }),
    ).toEqual(['zone_transitions.America/New_York[0].from: the first transition has from: null']);
  });
});

describe('calendars, minimums and max dimensions', () => {
  const windowed = (window: Record<string, unknown>, calendars: unknown) =>
    bookWith(
      [
        card({
          variants: [
            { when: { window: 'w' }, charges: [{ dimension: 'tokens', price: { model: 'per_unit', rate: '2' } }] },
          ],
        }),
      ],
      { calendars, windows: { w: { time_zone: 'UTC', start: '09:00', end: '18:00', ...window } } },
    );

  it.each([
    [
      'a calendar in an unknown zone and a bad date',
      windowed(
        {},
        {
          h: { time_zone: 'Mars/Olympus', dates: [] },
          k: { time_zone: 'UTC', dates: ['2026-02-30', '1969-12-31', 20260101] },
        },
      ),
      [
        'versions[0].calendars.h.time_zone: must be an IANA time zone such as "Asia/Shanghai"',
        'versions[0].calendars.k.dates[0]: must be a date "YYYY-MM-DD" between 1970-01-01 and 2099-12-31',
        'versions[0].calendars.k.dates[1]: must be a date "YYYY-MM-DD" between 1970-01-01 and 2099-12-31',
        'versions[0].calendars.k.dates[2]: must be a date "YYYY-MM-DD" between 1970-01-01 and 2099-12-31',
      ],
    ],
    [
      'a window naming a calendar the book lacks',
      windowed({ except: 'holidays', only: 'workdays' }, { workdays: { time_zone: 'UTC', dates: ['2026-01-03'] } }),
      ['versions[0].windows.w.except: no calendar "holidays" in this version\'s calendars'],
    ],
    [
      'a minimum on a flat charge and a zero minimum',
      bookWith([
        card({
          charges: [
            { minimum: '1', price: { model: 'flat', amount: '1' } },
            { dimension: 'tokens', minimum: '0', price: { model: 'per_unit', rate: '1' } },
          ],
        }),
      ]),
      [
        'versions[0].rate_cards[0].charges[0].minimum: a flat charge has no quantity to raise to a minimum',
        'versions[0].rate_cards[0].charges[1].minimum: must be greater than zero',
      ],
    ],
    [
      'a max dimension without properties',
      bookWith([card({ dimensions: { tokens: { max: [] } } })]),
      ['versions[0].rate_cards[0].dimensions.tokens.max: must be a non-empty list of event property names'],
    ],
  ])('rejects %s, naming each field', (_, book, expected) => {
    expect(problems(book)).toEqual(expected);
  });

  it('pins the zones of calendars too, so every runtime compiles the same instants', () => {
    const book = windowed(
      { except: 'cn' },
      { cn: { time_zone: 'Asia/Shanghai', dates: ['2026-10-01'] } },
    ) as unknown as PriceBook;
    expect(Object.keys(withZoneTransitions(book).zone_transitions!)).toEqual(['Asia/Shanghai', 'UTC']);
    expect(validateSchema(book)).toBe(true);
  });
});

describe('calendarRanges', () => {
  const newYork = zoneTransitions('America/New_York');
  const at = (iso: string) => BigInt(Date.parse(iso));
  const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`) / 86_400_000;

  it('turns local dates into the instants whose local date they are, 23 and 25 hours long on DST days', () => {
    expect(calendarRanges([day('2026-03-08'), day('2026-11-01')], newYork)).toEqual([
      { start: at('2026-03-08T05:00:00Z'), end: at('2026-03-09T04:00:00Z') },
      { start: at('2026-11-01T04:00:00Z'), end: at('2026-11-02T05:00:00Z') },
    ]);
  });

  it('merges consecutive and repeated dates into one range', () => {
    expect(
      calendarRanges([day('2026-10-02'), day('2026-10-01'), day('2026-10-01')], zoneTransitions('Asia/Shanghai')),
    ).toEqual([{ start: at('2026-09-30T16:00:00Z'), end: at('2026-10-02T16:00:00Z') }]);
  });

  it('cuts a day that clocks fall back into twice into two ranges', () => {
    // made-up zones. Falling back from +01:00 to 00:00 at local midnight (2026-06-01T23:00Z): the clock reads 23:00
    // of 06-01 again, so 06-01 lasts 25 hours, in one range
    const fallBack = [
      { from: -(1n << 63n), offsetSeconds: 3600 },
      { from: at('2026-06-01T23:00:00Z'), offsetSeconds: 0 },
    ];
    expect(calendarRanges([day('2026-06-01')], fallBack)).toEqual([
      { start: at('2026-05-31T23:00:00Z'), end: at('2026-06-02T00:00:00Z') },
    ]);
    // falling back from 00:00 to -01:00 at 00:30 local: 06-02 00:00-00:30 happens, then 06-01 23:30 again
    const acrossMidnight = [
      { from: -(1n << 63n), offsetSeconds: 0 },
      { from: at('2026-06-02T00:30:00Z'), offsetSeconds: -3600 },
    ];
    expect(calendarRanges([day('2026-06-01')], acrossMidnight)).toEqual([
      { start: at('2026-06-01T00:00:00Z'), end: at('2026-06-02T00:00:00Z') },
      { start: at('2026-06-02T00:30:00Z'), end: at('2026-06-02T01:00:00Z') },
    ]);
  });
});

describe('case-insensitive matching', () => {
  it('resolves names whatever their case, exact cards first, the first of two cards equal but for case winning', () => {
    const compiled = compileBook(
      bookWith([
        card({ id: 'rule', match: { model: { starts_with: 'Mini' } } }),
        card({ id: 'upper', match: { model: 'MiniMax-M2.7' } }),
        card({ id: 'lower', match: { model: 'minimax-m2.7' } }),
        card({ id: 'regex', match: { model: { regex: '^gpt-[0-9]o$' } } }),
      ]),
    );
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
    const resolve = (model: string) =>
      compiled.book.price.productIds[
        compiled.book.price.resolver.resolve({
          transaction_id: 't',
          customer_id: 'c',
          event_type: 'e',
          timestamp: '2026-01-01T00:00:00Z',
          properties: { model },
        })
      ];
    expect(resolve('minimax-m2.7')).toBe('upper');
    expect(resolve('MINIMAX-M2.7')).toBe('upper');
    expect(resolve('minimax-m3')).toBe('rule');
    expect(resolve('GPT-4O')).toBe('regex');
    expect(resolve('gpt-4x')).toBeUndefined();
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
