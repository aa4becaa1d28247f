import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isWellFormedEvent, usageEvent } from './schema.ts';

const text = (max: number) => fc.oneof(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ minLength: 0, maxLength: max + 2 }), fc.constantFrom('', 'a'.repeat(max), 'a'.repeat(max + 1), 'x\u0000y', 'x\u007f', 'ok'));
const value = fc.oneof(
  fc.string({ maxLength: 5 }),
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
  fc.dictionary(fc.string({ minLength: 1, maxLength: 4 }), fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.string({ maxLength: 3 }), fc.constant(null)), { maxKeys: 4 }),
  fc.dictionary(fc.oneof(fc.string({ minLength: 0, maxLength: 4 }), fc.constantFrom('k'.repeat(100), 'k'.repeat(101))), value, { maxKeys: 6 }),
  fc.constantFrom(Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`p${i}`, i])), Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`p${i}`, i]))),
  fc.constantFrom(null, [], 'x', 3),
);
const fields = {
    transaction_id: fc.oneof(text(255), fc.integer()),
    customer_id: fc.oneof(text(255), fc.constant(null)),
    event_type: text(200),
    timestamp: fc.oneof(fc.string({ maxLength: 66 }), fc.constant('2026-03-01T00:00:00Z'), fc.constant('t'.repeat(65))),
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
        if (zod && typeof raw === 'object' && raw !== null && 'properties' in raw && !('quote' in raw)) expect(fast).toBe(true);
      }),
      { numRuns: 20_000 },
    );
    expect(accepted).toBeGreaterThan(100);
  });

  it('accepts a typical event and refuses each kind of fault', () => {
    const good = { transaction_id: 't-1', customer_id: 'acme', event_type: 'llm.completion', timestamp: '2026-03-01T00:00:00Z', properties: { model: 'gpt-4o', input_tokens: 10, cached: true, region: null } };
    expect(isWellFormedEvent(good)).toBe(true);
    expect(isWellFormedEvent({ ...good, extra: 1 })).toBe(false);
    expect(isWellFormedEvent({ ...good, transaction_id: '' })).toBe(false);
    expect(isWellFormedEvent({ ...good, customer_id: 'a\nb' })).toBe(false);
    expect(isWellFormedEvent({ ...good, properties: { n: Infinity } })).toBe(false);
    expect(isWellFormedEvent({ ...good, properties: { '': 1 } })).toBe(false);
    expect(isWellFormedEvent({ ...good, properties: { list: [1] } })).toBe(false);
  });
});
