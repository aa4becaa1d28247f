import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchesRule } from './genai-prices.ts';
import { translateRegexToMatchRule } from './match-rule-from-regex.ts';

describe('translateRegexToMatchRule', () => {
  const cases: { given: string; then: ReturnType<typeof translateRegexToMatchRule>['kind']; rule?: unknown }[] = [
    { given: '^gpt-4o$', then: 'exact', rule: { equals: 'gpt-4o' } },
    {
      given: '^o[134]',
      then: 'exact',
      rule: { or: [{ starts_with: 'o1' }, { starts_with: 'o3' }, { starts_with: 'o4' }] },
    },
    { given: '-latest$', then: 'exact', rule: { ends_with: '-latest' } },
    {
      given: '(?:mi|code)stral',
      then: 'exact',
      rule: { or: [{ contains: 'mistral' }, { contains: 'codestral' }] },
    },
    {
      given: '^a\\.b(-c)?$|^d',
      then: 'exact',
      rule: { or: [{ or: [{ equals: 'a.b' }, { equals: 'a.b-c' }] }, { starts_with: 'd' }] },
    },
    // The input is lowercased before the regex runs: an upper-case literal can never match
    { given: '^GPT', then: 'exact', rule: { or: [] } },
    { given: '^grok-4\\.3-\\d{8}$', then: 'widened', rule: { starts_with: 'grok-4.3-' } },
    { given: '^claude-.*-v1$', then: 'widened', rule: { and: [{ starts_with: 'claude-' }, { ends_with: '-v1' }] } },
    { given: 'x+y', then: 'widened', rule: { and: [{ contains: 'x' }, { contains: 'y' }] } },
    { given: '.*', then: 'unsupported' },
    { given: '^(?=gpt)', then: 'unsupported' },
    { given: '\\bgpt', then: 'unsupported' },
    { given: '(a', then: 'unsupported' },
  ];
  it.each(cases)('$given -> $then', ({ given, then, rule }) => {
    const translation = translateRegexToMatchRule(given);
    expect(translation.kind).toBe(then);
    if (rule !== undefined) expect('rule' in translation ? translation.rule : undefined).toEqual(rule);
  });

  const patterns = [
    '^o[134]',
    '(?:mi|code|dev)stral',
    '^gemini-3\\.5-flash-\\d',
    '^gpt-5\\.6-luna-\\d{4}-\\d{2}-\\d{2}$',
    '^ab?c{1,2}$|d$',
    '^x-ai/grok-4\\.3-\\d{8}$',
  ];
  const alphabet = fc.constantFrom(
    ...'abcdgilmnorstxy0123456789-./'.split(''),
    'o1',
    'o3',
    'mistral',
    'codestral',
    'gemini-3.5-flash-',
    'gpt-5.6-luna-',
    'x-ai/grok-4.3-',
    '2025',
  );
  it.each(patterns)('agrees with RegExp on random lowercase strings: %s', (pattern) => {
    const translation = translateRegexToMatchRule(pattern);
    if (translation.kind === 'unsupported') throw new Error(translation.reason);
    const regex = new RegExp(pattern);
    fc.assert(
      fc.property(
        fc.array(alphabet, { maxLength: 8 }).map((parts) => parts.join('')),
        (value) => {
          // exact: the same answer; widened: never refuses what the regex accepts
          if (translation.kind === 'exact') expect(matchesRule(translation.rule, value)).toBe(regex.test(value));
          else if (regex.test(value)) expect(matchesRule(translation.rule, value)).toBe(true);
        },
      ),
      { seed: 42, numRuns: 2000 },
    );
  });
});
