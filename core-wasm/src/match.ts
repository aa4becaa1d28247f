// Resolves an event to a rate card by the cards' `match` rules: exact matches first, then rules in book order.
import type { MatchRule, UsageEvent } from './book.ts';

export interface MatchableCard {
  id: string;
  match: Record<string, MatchRule>;
}

/** Problems in a match rule, each with its path below `path`. */
export function checkMatchRule(rule: unknown, path: string, problems: { path: string; message: string }[]): void {
  if (typeof rule === 'string') return;
  if (!rule || typeof rule !== 'object' || Array.isArray(rule)) {
    problems.push({ path, message: 'must be a string or a rule object' });
    return;
  }
  const entries = Object.entries(rule);
  if (entries.length !== 1) {
    problems.push({
      path,
      message: 'a rule has exactly one of equals, starts_with, ends_with, contains, regex, or, and',
    });
    return;
  }
  const [kind, value] = entries[0];
  if (kind === 'or' || kind === 'and') {
    if (!Array.isArray(value) || value.length === 0)
      problems.push({ path: `${path}.${kind}`, message: 'must be a non-empty list of rules' });
    else value.forEach((inner, i) => checkMatchRule(inner, `${path}.${kind}[${i}]`, problems));
  } else if (kind === 'regex') {
    if (typeof value !== 'string') problems.push({ path: `${path}.regex`, message: 'must be a string' });
    else {
      try {
        new RegExp(value);
      } catch (error) {
        problems.push({
          path: `${path}.regex`,
          message: `is not a valid regular expression: ${(error as Error).message}`,
        });
      }
    }
  } else if (['equals', 'starts_with', 'ends_with', 'contains'].includes(kind)) {
    if (typeof value !== 'string') problems.push({ path: `${path}.${kind}`, message: 'must be a string' });
  } else {
    problems.push({ path: `${path}.${kind}`, message: `unknown match rule "${kind}"` });
  }
}

/**
 * Matching is case-insensitive: the event's value and every literal of the rule are compared lowercased
 * (String.prototype.toLowerCase), and a regex is tested on the lowercased value with the `i` flag. So an event
 * may carry a name as its provider writes it ("MiniMax-M2.7") and still match a card written "minimax-m2.7".
 */
export function ruleMatches(rule: MatchRule, value: string | undefined): boolean {
  if (value === undefined) return false;
  return lowercaseRuleMatches(lowercaseRule(rule), value.toLowerCase());
}

/** A rule with its literals lowercased, as the resolver keeps it. */
type LowercaseRule = MatchRule;

export function lowercaseRule(rule: MatchRule): LowercaseRule {
  if (typeof rule === 'string') return rule.toLowerCase();
  if ('equals' in rule) return { equals: rule.equals.toLowerCase() };
  if ('starts_with' in rule) return { starts_with: rule.starts_with.toLowerCase() };
  if ('ends_with' in rule) return { ends_with: rule.ends_with.toLowerCase() };
  if ('contains' in rule) return { contains: rule.contains.toLowerCase() };
  if ('regex' in rule) return { regex: rule.regex };
  if ('or' in rule) return { or: rule.or.map(lowercaseRule) };
  return { and: rule.and.map(lowercaseRule) };
}

/** A lowercased rule against a lowercased value. */
function lowercaseRuleMatches(rule: LowercaseRule, value: string): boolean {
  if (typeof rule === 'string') return rule === value;
  if ('equals' in rule) return rule.equals === value;
  if ('starts_with' in rule) return value.startsWith(rule.starts_with);
  if ('ends_with' in rule) return value.endsWith(rule.ends_with);
  if ('contains' in rule) return value.includes(rule.contains);
  if ('regex' in rule) return compiledRegex(rule.regex).test(value);
  if ('or' in rule) return rule.or.some((inner) => lowercaseRuleMatches(inner, value));
  return rule.and.every((inner) => lowercaseRuleMatches(inner, value));
}

const regexCache = new Map<string, RegExp>();
function compiledRegex(source: string): RegExp {
  let regex = regexCache.get(source);
  if (!regex) regexCache.set(source, (regex = new RegExp(source, 'i')));
  return regex;
}

const isExact = (rule: MatchRule): rule is string => typeof rule === 'string';

/** The string an event has for a match key, lowercased: `event_type` or a string property (anything else fails). */
export function matchValue(event: UsageEvent, key: string): string | undefined {
  const value = key === 'event_type' ? event.event_type : event.properties?.[key];
  return typeof value === 'string' ? value.toLowerCase() : undefined;
}

export class CardResolver {
  // Exact cards grouped by their sorted key list; each group maps the joined values to the first card.
  private readonly exactGroups: { keys: string[]; cards: Map<string, number> }[] = [];
  private readonly ruleCards: number[] = [];
  private readonly ruleKeys: string[];
  private readonly ruleCache = new Map<string, number>();

  private readonly cards: MatchableCard[];

  constructor(cards: MatchableCard[]) {
    this.cards = cards.map((card) => ({
      id: card.id,
      match: Object.fromEntries(Object.entries(card.match).map(([key, rule]) => [key, lowercaseRule(rule)])),
    }));
    const groups = new Map<string, { keys: string[]; cards: Map<string, number> }>();
    const ruleKeys = new Set<string>();
    this.cards.forEach((card, index) => {
      const keys = Object.keys(card.match).sort();
      if (keys.every((key) => isExact(card.match[key]))) {
        const signature = keys.join('\u0000');
        let group = groups.get(signature);
        if (!group) groups.set(signature, (group = { keys, cards: new Map() }));
        const joined = keys.map((key) => card.match[key]).join('\u0000');
        if (!group.cards.has(joined)) group.cards.set(joined, index);
      } else {
        this.ruleCards.push(index);
        keys.forEach((key) => ruleKeys.add(key));
      }
    });
    this.exactGroups = [...groups.values()];
    this.ruleKeys = [...ruleKeys].sort();
  }

  /** Index of the card for this event, or -1. */
  resolve(event: UsageEvent): number {
    let best = -1;
    for (const group of this.exactGroups) {
      const values: string[] = [];
      for (const key of group.keys) {
        const value = matchValue(event, key);
        if (value === undefined) break;
        values.push(value);
      }
      if (values.length !== group.keys.length) continue;
      const found = group.cards.get(values.join('\u0000'));
      if (found !== undefined && (best < 0 || found < best)) best = found;
    }
    if (best >= 0 || this.ruleCards.length === 0) return best;
    const cacheKey = this.ruleKeys.map((key) => matchValue(event, key) ?? '\u0001').join('\u0000');
    const cached = this.ruleCache.get(cacheKey);
    if (cached !== undefined) return cached;
    let found = -1;
    for (const index of this.ruleCards) {
      const card = this.cards[index];
      if (
        Object.entries(card.match).every(([key, rule]) => {
          const value = matchValue(event, key);
          return value !== undefined && lowercaseRuleMatches(rule, value);
        })
      ) {
        found = index;
        break;
      }
    }
    if (this.ruleCache.size > 100_000) this.ruleCache.clear();
    this.ruleCache.set(cacheKey, found);
    return found;
  }
}
