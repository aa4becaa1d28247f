// Rate-card selection for the reference: `match` rules against an event's string properties and `event_type`.
import type { MatchRule, RateCard, UsageEvent } from '../../core-wasm/src/book.ts';
import { InvalidInputError } from './numbers.ts';

/** The value a match entry reads: `event_type` is a pseudo-property; only string values take part. */
function matchValue(event: UsageEvent, name: string): string | undefined {
  if (name === 'event_type') return event.event_type;
  const value = event.properties?.[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Case-insensitive: the value and the rule's literals are compared lowercased; a regex runs with the `i` flag on
 * the lowercased value.
 */
export function ruleHolds(rule: MatchRule, value: string): boolean {
  const text = value.toLowerCase();
  const lower = (literal: string): string => literal.toLowerCase();
  if (typeof rule === 'string') return text === lower(rule);
  if ('equals' in rule) return text === lower(rule.equals);
  if ('starts_with' in rule) return text.startsWith(lower(rule.starts_with));
  if ('ends_with' in rule) return text.endsWith(lower(rule.ends_with));
  if ('contains' in rule) return text.includes(lower(rule.contains));
  if ('regex' in rule) return new RegExp(rule.regex, 'i').test(text);
  if ('or' in rule) return rule.or.some((inner) => ruleHolds(inner, value));
  if ('and' in rule) return rule.and.every((inner) => ruleHolds(inner, value));
  throw new InvalidInputError(`unknown match rule ${JSON.stringify(rule)}`);
}

export function assertMatchRule(rule: unknown, path: string): void {
  if (typeof rule === 'string') return;
  if (typeof rule !== 'object' || rule === null || Object.keys(rule).length !== 1) {
    throw new InvalidInputError(`${path}: a match rule is a string or an object with one key`);
  }
  const [key, inner] = Object.entries(rule)[0]!;
  if (['equals', 'starts_with', 'ends_with', 'contains', 'regex'].includes(key)) {
    if (typeof inner !== 'string') throw new InvalidInputError(`${path}.${key}: expected a string`);
  } else if (key === 'or' || key === 'and') {
    if (!Array.isArray(inner)) throw new InvalidInputError(`${path}.${key}: expected a list of rules`);
    inner.forEach((item, index) => assertMatchRule(item, `${path}.${key}[${index}]`));
  } else {
    throw new InvalidInputError(`${path}: unknown match rule ${key}`);
  }
}

/** An absent or non-string property fails its entry, whatever the rule. */
export function cardMatches(card: RateCard, event: UsageEvent): boolean {
  return Object.entries(card.match).every(([name, rule]) => {
    const value = matchValue(event, name);
    return value !== undefined && ruleHolds(rule, value);
  });
}

/**
 * An exact card lists at least one entry and only plain strings. An empty match is a catch-all and ranks with the
 * rule cards, so that it never shadows a more specific card.
 */
export function isExactCard(card: RateCard): boolean {
  const rules = Object.values(card.match);
  return rules.length > 0 && rules.every((rule) => typeof rule === 'string');
}

/** Exact cards win over rule cards, then the first card in book order. */
export function chooseCard(cards: readonly RateCard[], event: UsageEvent): RateCard | undefined {
  const matching = cards.filter((card) => cardMatches(card, event));
  return matching.find(isExactCard) ?? matching[0];
}
