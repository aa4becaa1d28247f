import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { findUnstorableJson, isPlainText, isStorable, maxJsonDepth, storableJson, text } from './text.ts';

describe('text', () => {
  it.each([
    // given, options, then: accepted value or the reason
    ['acme', {}, 'acme'],
    ['', {}, 'must not be empty'],
    ['x'.repeat(11), {}, 'must be at most 10 characters'],
    ['a\u0000b', {}, 'must not contain NUL or an unpaired UTF-16 surrogate (not valid Unicode)'],
    ['\ud800', {}, 'must not contain NUL or an unpaired UTF-16 surrogate (not valid Unicode)'],
    ['x\udc00', { controls: 'any' }, 'must not contain NUL or an unpaired UTF-16 surrogate (not valid Unicode)'],
    ['😀 ok', {}, '😀 ok'],
    ['a\u0001', {}, 'must not contain control characters'],
    ['a\u0085', {}, 'must not contain control characters'],
    ['a\tb', {}, 'must not contain control characters'],
    ['a\nb\tc\r\n', { controls: 'whitespace' }, 'a\nb\tc\r\n'],
    ['bell\u0007', { controls: 'whitespace' }, 'must not contain control characters other than tab and line breaks'],
    ['esc\u001b', { controls: 'any' }, 'esc\u001b'],
    ['  padded  ', { trim: true }, 'padded'],
    ['   ', { trim: true }, 'must not be empty'],
    ['', { min: 0 }, ''],
  ] as const)('given %j with %j, then %j', (given, options, then) => {
    const result = text(10, options).safeParse(given);
    if (result.success) expect(result.data).toBe(then);
    else expect(result.error.issues.map((i) => i.message)).toContain(then);
  });

  it('stays a zod string: regex, optional and nullable chain on it', () => {
    const code = text(5)
      .regex(/^[a-z]+$/, 'lowercase')
      .nullable()
      .optional();
    expect(code.safeParse(null).success).toBe(true);
    expect(code.safeParse(undefined).success).toBe(true);
    expect(code.safeParse('Ab').error?.issues[0].message).toBe('lowercase');
  });

  it('agrees with isPlainText and isStorable, the plain functions the ingestion fast path uses', () => {
    for (const value of [
      'ok',
      'a\u0000',
      '\ud800x',
      'x\udfff',
      '\udbff\udfff',
      '\t',
      '\u007f',
      '\u009f',
      '\u00a0',
      'é',
      '',
    ]) {
      expect(isPlainText(value), JSON.stringify(value)).toBe(text(100, { min: 0 }).safeParse(value).success);
      expect(isStorable(value), JSON.stringify(value)).toBe(
        text(100, { min: 0, controls: 'any' }).safeParse(value).success,
      );
    }
  });
});

describe('storableJson', () => {
  it('finds the first key or string PostgreSQL cannot store, at any depth, with its path', () => {
    expect(findUnstorableJson({ a: [1, 'ok', { b: 'x\u0000' }] })).toEqual({
      path: ['a', 2, 'b'],
      reason: expect.stringMatching(/NUL/),
    });
    expect(findUnstorableJson({ a: { 'k\ud800': 1 } })).toEqual({
      path: ['a', 'k\ud800'],
      reason: expect.stringMatching(/^key /),
    });
    expect(findUnstorableJson({ a: ['😀', null, true, 1.5] })).toBeUndefined();
  });

  it('refuses nesting deeper than the limit without recursing into it', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findUnstorableJson(deep)?.reason).toBe(`must not nest deeper than ${maxJsonDepth} levels`);
  });

  it('reports the path as a zod issue of the schema it wraps', () => {
    const schema = z.strictObject({ book: storableJson(z.record(z.string(), z.unknown())) });
    const result = schema.safeParse({ book: { versions: [{ id: 'a\u0000' }] } });
    expect(result.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['book.versions.0.id', expect.stringMatching(/NUL/)],
    ]);
  });
});

describe('the input schemas of the contract and of the service', () => {
  it('build every string with text() (no bare z.string() outside schemas/text.ts)', () => {
    const repository = path.resolve(import.meta.dirname, '../../..');
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (
          file.endsWith('.ts') &&
          !file.endsWith('.test.ts') &&
          file !== path.join(repository, 'openapi/src/schemas/text.ts')
        ) {
          fs.readFileSync(file, 'utf8')
            .split('\n')
            .forEach((line, i) => {
              if (/\bz\s*\.\s*string\s*\(/.test(line)) offenders.push(`${path.relative(repository, file)}:${i + 1}`);
            });
        }
      }
    };
    walk(path.join(repository, 'openapi/src'));
    walk(path.join(repository, 'service/src'));
    expect(offenders).toEqual([]);
  });
});
