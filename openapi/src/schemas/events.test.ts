import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isWellFormedEvent, usageEvent } from './events.ts';

// Strings PostgreSQL cannot store or ids must not hold, and their near misses (a surrogate pair is fine).
const awkward = ['x\u0000y', 'x\u007f', '\u0085', '\ud800', 'a\udfff', '\udbff\udfff', '\ud83d\ude00', '\t', 'é'];
const text = (max: number) =>
  fc.oneof(
    fc.string({ minLength: 1, maxLength: 8 }),
    fc.string({ minLength: 0, maxLength: max + 2 }),
    fc.string({ unit: 'binary', maxLength: 6 }),
    fc.constantFrom('', 'a'.repeat(max), 'a'.repeat(max + 1), 'ok', ...awkward),
  );
const value = fc.oneof(
  fc.string({ maxLength: 5 }),
  fc.string({ unit: 'binary', maxLength: 5 }),
  fc.constantFrom(...awkward),
  fc.constantFrom('a'.repeat(1000), 'a'.repeat(1001)),
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }),
);
const properties = fc.oneof(
  fc.dictionary(
    fc.string({ minLength: 1, maxLength: 4 }),
    fc.oneof(
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.string({ maxLength: 3 }),
      fc.constant(null),
    ),
    { maxKeys: 4 },
  ),
  fc.dictionary(
    fc.oneof(fc.string({ minLength: 0, maxLength: 4 }), fc.constantFrom('k'.repeat(100), 'k'.repeat(101), ...awkward)),
    value,
    { maxKeys: 6 },
  ),
  fc.constantFrom(
    Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`p${i}`, i])),
    Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`p${i}`, i])),
  ),
  fc.constantFrom(null, [], 'x', 3),
);
const fields = {
  transaction_id: fc.oneof(text(255), fc.integer()),
  customer_id: fc.oneof(text(255), fc.constant(null)),
  event_type: text(200),
  timestamp: fc.oneof(
    fc.string({ maxLength: 66 }),
    fc.constant('2026-03-01T00:00:00Z'),
    fc.constant('t'.repeat(65)),
    fc.constantFrom(...awkward),
  ),
  properties,
};
// Mostly complete events (valid ones are frequent), some with fields missing or one too many.
const event = fc.oneof(fc.record(fields), fc.record({ ...fields, extra: fc.integer() }, { requiredKeys: [] }));

describe('isWellFormedEvent', () => {
  it('accepts exactly what usageEvent accepts unchanged', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(event, fc.anything()), (raw) => {
        const zod = usageEvent.safeParse(raw).success;
        const fast = isWellFormedEvent(raw);
        // Fast never accepts what zod refuses; it refuses what zod accepts only to let zod fill in defaults.
        if (fast) expect(zod).toBe(true);
        if (fast) accepted++;
        if (zod && typeof raw === 'object' && raw !== null && 'properties' in raw && !('quote' in raw))
          expect(fast).toBe(true);
      }),
      { numRuns: 20_000 },
    );
    expect(accepted).toBeGreaterThan(100);
  });

  it('accepts a typical event and refuses each kind of fault', () => {
    const good = {
      transaction_id: 't-1',
      customer_id: 'acme',
      event_type: 'llm.completion',
      timestamp: '2026-03-01T00:00:00Z',
      properties: { model: 'gpt-4o', input_tokens: 10, cached: true, region: null },
    };
    expect(isWellFormedEvent(good)).toBe(true);
    expect(isWellFormedEvent({ ...good, extra: 1 })).toBe(false);
    expect(isWellFormedEvent({ ...good, transaction_id: '' })).toBe(false);
    expect(isWellFormedEvent({ ...good, customer_id: 'a\nb' })).toBe(false);
    expect(isWellFormedEvent({ ...good, properties: { n: Infinity } })).toBe(false);
    expect(isWellFormedEvent({ ...good, properties: { '': 1 } })).toBe(false);
    expect(isWellFormedEvent({ ...good, properties: { list: [1] } })).toBe(false);
    // What PostgreSQL cannot store, wherever it is: NUL and unpaired surrogates; control characters in names.
    for (const bad of ['a\u0000', '\ud800', 'x\udc00y']) {
      expect(isWellFormedEvent({ ...good, transaction_id: bad })).toBe(false);
      expect(isWellFormedEvent({ ...good, event_type: bad })).toBe(false);
      expect(isWellFormedEvent({ ...good, timestamp: bad })).toBe(false);
      expect(isWellFormedEvent({ ...good, properties: { [bad]: 1 } })).toBe(false);
      expect(isWellFormedEvent({ ...good, properties: { model: bad } })).toBe(false);
      const parsed = usageEvent.safeParse({ ...good, properties: { model: bad } });
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues.map((i) => i.path.join('.'))).toEqual(['properties.model']);
    }
    expect(isWellFormedEvent({ ...good, event_type: 'llm\u0085completion' })).toBe(false);
    expect(isWellFormedEvent({ ...good, properties: { 'a\tb': 1 } })).toBe(false);
    // Paired surrogates (an emoji) and control characters in a property's value are data like any other.
    expect(
      isWellFormedEvent({ ...good, event_type: 'chat.😀', properties: { note: 'line 1\nline 2\u0001', face: '😀' } }),
    ).toBe(true);
  });
});
