// Strings and JSON as PostgreSQL can store them: every input schema (the contract's here, and the service's own)
// builds its strings with `text` and checks the JSON it stores with `storableJson`, so a value the database would
// refuse is a 400 naming the field, never a failed statement (a 500, and for ingestion a failed shared transaction).
import { z } from 'zod';

/**
 * What PostgreSQL cannot store: NUL (text and jsonb refuse it) and a UTF-16 surrogate without its pair, which is
 * not Unicode (jsonb refuses its escape; as text it would be silently replaced by U+FFFD).
 */
const unstorable = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** NUL or any surrogate: most strings have neither, and skip the exact test. */
const nulOrSurrogate = /[\u0000\ud800-\udfff]/;
/** A control character or any surrogate. */
const controlOrSurrogate = /[\u0000-\u001f\u007f-\u009f\ud800-\udfff]/;
/** C0 and C1 control characters and DEL. */
const anyControl = /[\u0000-\u001f\u007f-\u009f]/;
/** The same without tab, line feed and carriage return. */
const controlButWhitespace = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

export const unstorableReason = 'must not contain NUL or an unpaired UTF-16 surrogate (not valid Unicode)';

/** True when PostgreSQL can store `value` as text (no NUL, no unpaired surrogate). */
export function isStorable(value: string): boolean {
  return !nulOrSurrogate.test(value) || !unstorable.test(value);
}

/** True when `value` is storable and has no control character: what `text` accepts by default, as a plain function (ingestion's fast check). */
export function isPlainText(value: string): boolean {
  return !controlOrSurrogate.test(value) || (!anyControl.test(value) && !unstorable.test(value));
}

/** True when `value` has a control character (C0, DEL or C1), tab and line breaks included. */
export function hasControlCharacter(value: string): boolean {
  return anyControl.test(value);
}

export interface TextOptions {
  /** Fewest characters (after trimming); 1 unless given. */
  min?: number;
  /** Trim surrounding whitespace first (labels and free text, never ids). */
  trim?: boolean;
  /**
   * Control characters allowed: none (ids, codes, names: the default), tab and line breaks (free text such as a
   * reason), or any (opaque data, e.g. an event property's value). NUL and unpaired surrogates never are.
   */
  controls?: 'none' | 'whitespace' | 'any';
  /** The message when the value is not a string at all (zod's own otherwise). */
  typeError?: string;
}

/**
 * The one string schema of the service's inputs: at most `max` characters (UTF-16 code units, so never more
 * than the database's own character limits), storable by PostgreSQL, and without control characters unless
 * allowed. Chain `.regex`, `.optional()` and the like on it as on any zod string.
 */
export function text(max: number, options: TextOptions = {}) {
  const { min = 1, trim = false, controls = 'none', typeError } = options;
  let schema = typeError
    ? z.string({ error: (issue) => (issue.input === undefined ? 'is required' : typeError) })
    : z.string();
  if (trim) schema = schema.trim();
  if (min > 0) schema = schema.min(min, min === 1 ? 'must not be empty' : `must be at least ${min} characters`);
  schema = schema.max(max, `must be at most ${max} characters`);
  schema = schema.refine(isStorable, { message: unstorableReason, abort: true });
  if (controls === 'none')
    schema = schema.refine((value) => !anyControl.test(value), 'must not contain control characters');
  if (controls === 'whitespace')
    schema = schema.refine(
      (value) => !controlButWhitespace.test(value),
      'must not contain control characters other than tab and line breaks',
    );
  return schema;
}

/** How deep JSON the service stores may nest (PostgreSQL's parser has a stack limit; no real document comes near). */
export const maxJsonDepth = 64;

/** The first key or string in `value` that PostgreSQL cannot store, or nesting deeper than maxJsonDepth, with its path. */
export function findUnstorableJson(
  value: unknown,
  path: (string | number)[] = [],
  depth = 0,
): { path: (string | number)[]; reason: string } | undefined {
  if (typeof value === 'string') return isStorable(value) ? undefined : { path, reason: unstorableReason };
  if (typeof value !== 'object' || value === null) return undefined;
  if (depth >= maxJsonDepth) return { path, reason: `must not nest deeper than ${maxJsonDepth} levels` };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnstorableJson(value[i], [...path, i], depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  for (const [key, item] of Object.entries(value)) {
    if (!isStorable(key)) return { path: [...path, key], reason: `key ${unstorableReason}` };
    const found = findUnstorableJson(item, [...path, key], depth + 1);
    if (found) return found;
  }
  return undefined;
}

/**
 * `schema` (a JSON object, array or anything a document holds), refused when any key or string inside it, at any
 * depth, could not be stored, with the path of the first one.
 */
export function storableJson<S extends z.ZodType>(schema: S) {
  return schema.superRefine((value, ctx) => {
    const found = findUnstorableJson(value);
    if (found) ctx.addIssue({ code: 'custom', path: found.path, message: found.reason });
  });
}

/** A JSON object whose keys and strings, at any depth, PostgreSQL can store. */
export const jsonObject = storableJson(z.record(z.string(), z.unknown()));
