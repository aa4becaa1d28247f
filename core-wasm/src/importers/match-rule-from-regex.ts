// Translates a regular expression (as JavaScript's RegExp reads it, without flags) into literal MatchRules, which a
// reader of the book understands at a glance. Only regular languages built from finitely many literals translate
// exactly; anything else is widened to the tightest superset the literal rules can say (its literal prefix, suffix
// and infixes), or is unsupported (lookaround, \b, nothing useful left): the importer then carries the regex itself
// as a `{ regex }` rule, which the book matches as written (see core-wasm/README.md, case-insensitive matching).

import type { MatchRule } from '../book.ts';

export type RegexTranslation =
  /** The rule matches exactly the strings the regex matches (among lowercase inputs, see below). */
  | { kind: 'exact'; rule: MatchRule }
  /** The rule matches every string the regex matches, and more; `reason` says what was given up. */
  | { kind: 'widened'; rule: MatchRule; reason: string }
  | { kind: 'unsupported'; reason: string };

/** Alternatives with more expansions than this are treated as unbounded (`\d{4}` is 10,000 strings). */
const MAX_EXPANSIONS = 256;
/** A widened rule keeps a literal part only if it has at most this many alternatives. */
const MAX_WIDENED_ALTERNATIVES = 16;

/**
 * `regex` is tested, like genai-prices does, against an input that is already lowercased: literals holding
 * upper-case letters can never match and are dropped, which is exact, not a widening.
 */
export function translateRegexToMatchRule(regex: string): RegexTranslation {
  let alternatives: Sequence[];
  try {
    alternatives = new RegexParser(regex).parseTopLevel();
  } catch (error) {
    return { kind: 'unsupported', reason: (error as Error).message };
  }
  const rules: MatchRule[] = [];
  const widenings: string[] = [];
  for (const alternative of alternatives) {
    let translated: ReturnType<typeof translateAlternative>;
    try {
      translated = translateAlternative(alternative);
    } catch (error) {
      return { kind: 'unsupported', reason: (error as Error).message };
    }
    if (translated.kind === 'unsupported') return translated;
    if (translated.kind === 'widened') widenings.push(translated.reason!);
    if (translated.rule !== null) rules.push(translated.rule);
  }
  const rule: MatchRule = rules.length === 1 ? rules[0]! : { or: rules };
  return widenings.length ? { kind: 'widened', rule, reason: widenings.join('; ') } : { kind: 'exact', rule };
}

type CharSet = { kind: 'chars'; chars: string[] } | { kind: 'any' };
type Atom = CharSet | { kind: 'group'; alternatives: Sequence[] } | { kind: 'start' } | { kind: 'end' };
interface Item {
  atom: Atom;
  min: number;
  max: number;
}
type Sequence = Item[];

/** A run of the pattern: a finite set of strings, or `null` for a part with unboundedly many strings. */
type Segment = string[] | null;

function translateAlternative(
  sequence: Sequence,
): { kind: 'exact' | 'widened'; rule: MatchRule | null; reason?: string } | { kind: 'unsupported'; reason: string } {
  const items = [...sequence];
  const anchoredStart = items[0]?.atom.kind === 'start';
  if (anchoredStart) items.shift();
  const anchoredEnd = items.at(-1)?.atom.kind === 'end';
  if (anchoredEnd) items.pop();
  if (items.some((item) => item.atom.kind === 'start' || item.atom.kind === 'end')) {
    return { kind: 'unsupported', reason: 'anchors other than a leading ^ and a trailing $' };
  }
  const segments = joinFiniteRuns(items.flatMap(segmentsOfItem));
  const finite = segments.every((segment) => segment !== null);
  const runs = segments.map((segment) => (segment === null ? null : segment.filter(isLowercase)));
  if (runs.some((run) => run !== null && run.length === 0)) return { kind: 'exact', rule: null };

  if (finite) {
    const strings = runs[0] ?? [''];
    const rule = anyOf(
      strings.map((literal): MatchRule => {
        if (anchoredStart && anchoredEnd) return { equals: literal };
        if (anchoredStart) return { starts_with: literal };
        if (anchoredEnd) return { ends_with: literal };
        return { contains: literal };
      }),
    );
    return { kind: 'exact', rule };
  }

  const constraints: MatchRule[] = [];
  runs.forEach((run, index) => {
    // An optional part constrains nothing; a long list of alternatives is dropped (a coarser but readable superset).
    if (run === null || run.includes('') || run.length > MAX_WIDENED_ALTERNATIVES) return;
    if (index === 0 && anchoredStart) constraints.push(anyOf(run.map((literal) => ({ starts_with: literal }))));
    else if (index === runs.length - 1 && anchoredEnd)
      constraints.push(anyOf(run.map((literal) => ({ ends_with: literal }))));
    else constraints.push(anyOf(run.map((literal) => ({ contains: literal }))));
  });
  if (constraints.length === 0) {
    return { kind: 'unsupported', reason: 'no literal part to keep: the widened rule would match everything' };
  }
  const rule = constraints.length === 1 ? constraints[0]! : { and: constraints };
  return { kind: 'widened', rule, reason: 'unbounded or too large parts (e.g. \\d{4}, .*, +) replaced by "anything"' };
}

function anyOf(rules: MatchRule[]): MatchRule {
  return rules.length === 1 ? rules[0]! : { or: rules };
}

function isLowercase(literal: string): boolean {
  return literal === literal.toLowerCase();
}

/** The item as segments: `x+` is `x` then an unbounded part; `x{2}` is the two-fold product when small enough. */
function segmentsOfItem(item: Item): Segment[] {
  const strings = languageOfAtom(item.atom);
  if (strings === null) return item.min === 0 && item.max === 0 ? [['']] : [null];
  if (item.max === Infinity) return [power(strings, item.min), null];
  let union: string[] = [];
  for (let count = item.min; count <= item.max; count++) {
    const expanded = power(strings, count);
    if (expanded === null) return [power(strings, item.min), null];
    union = [...new Set([...union, ...expanded])];
    if (union.length > MAX_EXPANSIONS) return [power(strings, item.min), null];
  }
  return [union];
}

function languageOfAtom(atom: Atom): string[] | null {
  switch (atom.kind) {
    case 'chars':
      return atom.chars;
    case 'any':
      return null;
    case 'group': {
      const union = new Set<string>();
      for (const alternative of atom.alternatives) {
        const segments = joinFiniteRuns(alternative.flatMap(segmentsOfItem));
        if (segments.length !== 1 || segments[0] === null) return null;
        for (const literal of segments[0]!) union.add(literal);
        if (union.size > MAX_EXPANSIONS) return null;
      }
      return [...union];
    }
    case 'start':
    case 'end':
      throw new Error('anchors inside a group');
  }
}

function power(strings: string[], count: number): string[] | null {
  let result: string[] | null = [''];
  for (let index = 0; index < count && result !== null; index++) result = product(result, strings);
  return result;
}

function product(left: string[] | null, right: string[] | null): string[] | null {
  if (left === null || right === null || left.length * right.length > MAX_EXPANSIONS) return null;
  return [...new Set(left.flatMap((prefix) => right.map((suffix) => prefix + suffix)))];
}

/** Multiplies adjacent finite segments together; an unbounded segment (or an overflowing product) separates runs. */
function joinFiniteRuns(segments: Segment[]): Segment[] {
  const runs: Segment[] = [];
  for (const segment of segments) {
    const previous = runs.at(-1);
    if (segment === null) {
      if (previous !== null || runs.length === 0) runs.push(null);
      continue;
    }
    if (previous !== undefined && previous !== null) {
      const joined = product(previous, segment);
      if (joined !== null) {
        runs[runs.length - 1] = joined;
        continue;
      }
      runs.push(null);
      runs.push(segment);
      continue;
    }
    runs.push(segment);
  }
  return runs.length === 0 ? [['']] : runs;
}

const DIGITS = [...'0123456789'];
const WORD = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_'];

class RegexParser {
  private position = 0;

  constructor(private readonly source: string) {}

  parseTopLevel(): Sequence[] {
    const alternatives = this.parseAlternatives();
    if (this.position < this.source.length) throw new Error(`unbalanced ")" at ${this.position}`);
    return alternatives;
  }

  private parseAlternatives(): Sequence[] {
    const alternatives: Sequence[] = [this.parseSequence()];
    while (this.peek() === '|') {
      this.position++;
      alternatives.push(this.parseSequence());
    }
    return alternatives;
  }

  private parseSequence(): Sequence {
    const items: Sequence = [];
    while (this.position < this.source.length && this.peek() !== '|' && this.peek() !== ')') {
      const atom = this.parseAtom();
      const [min, max] = this.parseQuantifier();
      if ((atom.kind === 'start' || atom.kind === 'end') && !(min === 1 && max === 1)) {
        throw new Error('quantified anchor');
      }
      items.push({ atom, min, max });
    }
    return items;
  }

  private parseAtom(): Atom {
    const char = this.source[this.position++]!;
    switch (char) {
      case '^':
        return { kind: 'start' };
      case '$':
        return { kind: 'end' };
      case '.':
        return { kind: 'any' };
      case '[':
        return this.parseClass();
      case '(':
        return this.parseGroup();
      case '\\':
        return this.parseEscape(false);
      case '*':
      case '+':
      case '?':
        throw new Error(`nothing to repeat at ${this.position - 1}`);
      case '{':
        if (/^\d+(,\d*)?\}/.test(this.source.slice(this.position)))
          throw new Error(`nothing to repeat at ${this.position - 1}`);
        return { kind: 'chars', chars: [char] };
      default:
        return { kind: 'chars', chars: [char] };
    }
  }

  private parseGroup(): Atom {
    if (this.source.startsWith('?:', this.position)) this.position += 2;
    else if (this.source.startsWith('?<', this.position) && !/^\?<[=!]/.test(this.source.slice(this.position))) {
      const close = this.source.indexOf('>', this.position);
      if (close < 0) throw new Error('unterminated group name');
      this.position = close + 1;
    } else if (this.peek() === '?') throw new Error('lookaround assertions');
    const alternatives = this.parseAlternatives();
    if (this.source[this.position++] !== ')') throw new Error('unterminated group');
    return { kind: 'group', alternatives };
  }

  private parseClass(): CharSet {
    const negated = this.peek() === '^';
    if (negated) this.position++;
    const chars = new Set<string>();
    let first = true;
    while (this.position < this.source.length && (this.peek() !== ']' || first)) {
      first = false;
      const low = this.classMember();
      if (this.peek() === '-' && this.source[this.position + 1] !== ']' && this.position + 1 < this.source.length) {
        this.position++;
        const high = this.classMember();
        if (low.length !== 1 || high.length !== 1) throw new Error('range with a character class bound');
        const [from, to] = [low[0]!.charCodeAt(0), high[0]!.charCodeAt(0)];
        if (from > to) throw new Error('range out of order');
        if (to - from >= MAX_EXPANSIONS) return { kind: 'any' };
        for (let code = from; code <= to; code++) chars.add(String.fromCharCode(code));
      } else {
        for (const member of low) chars.add(member);
      }
    }
    if (this.source[this.position++] !== ']') throw new Error('unterminated character class');
    return negated ? { kind: 'any' } : { kind: 'chars', chars: [...chars] };
  }

  private classMember(): string[] {
    const char = this.source[this.position++]!;
    if (char !== '\\') return [char];
    const escaped = this.parseEscape(true);
    if (escaped.kind === 'any') throw new Error('negated shorthand inside a class');
    return escaped.chars;
  }

  private parseEscape(inClass: boolean): CharSet {
    const char = this.source[this.position++];
    if (char === undefined) throw new Error('trailing backslash');
    switch (char) {
      case 'd':
        return { kind: 'chars', chars: DIGITS };
      case 'w':
        return { kind: 'chars', chars: WORD };
      case 'D':
      case 'W':
      case 'S':
        return { kind: 'any' };
      case 's':
        throw new Error('\\s (Unicode white space) is not supported');
      case 'n':
        return { kind: 'chars', chars: ['\n'] };
      case 't':
        return { kind: 'chars', chars: ['\t'] };
      case 'r':
        return { kind: 'chars', chars: ['\r'] };
      case 'x':
      case 'u': {
        const digits = char === 'x' ? 2 : 4;
        const hex = this.source.slice(this.position, this.position + digits);
        if (!new RegExp(`^[0-9a-fA-F]{${digits}}$`).test(hex)) throw new Error(`bad \\${char} escape`);
        this.position += digits;
        return { kind: 'chars', chars: [String.fromCharCode(parseInt(hex, 16))] };
      }
      default:
        if (/[A-Za-z0-9]/.test(char) && !(inClass && char === 'b'))
          throw new Error(`escape \\${char} is not supported`);
        return { kind: 'chars', chars: [char === 'b' ? '\b' : char] };
    }
  }

  private parseQuantifier(): [number, number] {
    const char = this.peek();
    let bounds: [number, number] | null = null;
    if (char === '?') bounds = [0, 1];
    else if (char === '*') bounds = [0, Infinity];
    else if (char === '+') bounds = [1, Infinity];
    if (bounds) this.position++;
    else if (char === '{') {
      const match = /^\{(\d+)(,(\d*))?\}/.exec(this.source.slice(this.position));
      if (!match) return [1, 1]; // JavaScript reads a "{" that starts no quantifier as a literal
      this.position += match[0].length;
      const min = Number(match[1]);
      const max = match[2] === undefined ? min : match[3] === '' ? Infinity : Number(match[3]);
      if (max < min) throw new Error('quantifier range out of order');
      bounds = [min, max];
    } else return [1, 1];
    if (this.peek() === '?') this.position++; // lazy: same language
    return bounds;
  }

  private peek(): string | undefined {
    return this.source[this.position];
  }
}
