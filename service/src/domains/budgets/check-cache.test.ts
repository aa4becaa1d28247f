import { describe, expect, it } from 'vitest';
import { applyRow, type ChangedRow, type CheckState } from './check-cache.ts';

const march = { from: Date.parse('2026-03-01T00:00:00Z'), until: Date.parse('2026-04-01T00:00:00Z') };

function state(overrides: Partial<CheckState> = {}): CheckState {
  return {
    tenantId: 't',
    customerId: 'c',
    currency: 'USD',
    onDepletion: 'block',
    blocked: false,
    isReseller: false,
    parentExternalId: null,
    budget: null,
    scopedBudgets: [],
    ...march,
    period: { start: march.from, spend: 5_000_000_000n },
    grants: new Map([
      ['g1', { balance: 10_000_000_000n, effectiveAt: null, expiresAt: null, scopeCards: null, scopeEventTypes: null }],
    ]),
    scopedSpend: new Map([['project:alpha', 1_000_000_000n]]),
    holds: new Map([['h1', { remaining: 2_000_000_000n, expiresAt: Date.parse('2026-03-01T12:05:00Z') }]]),
    versions: new Map([
      ['h:h1', 10],
      [`p:${march.from}`, 10],
      ['g:g1', 10],
      ['s:project:alpha', 10],
    ]),
    ...overrides,
  };
}

describe('applying a committed row to a held check state', () => {
  // given a state and a row, when applied: whether the state absorbs it, and what it then holds
  const cases: {
    name: string;
    given?: Partial<CheckState>;
    row: ChangedRow;
    absorbed: boolean;
    then?: (s: CheckState) => unknown;
    expected?: unknown;
  }[] = [
    {
      name: "the period's new spend",
      row: { t: 't', c: 'c', period: ['2026-03-01T00:00:00+00:00', '2026-04-01T00:00:00+00:00', '7.250000000', 11] },
      absorbed: true,
      then: (s) => [s.period?.spend, s.versions.get(`p:${march.from}`)],
      expected: [7_250_000_000n, 11],
    },
    {
      name: "an older image of the period's row than the one held (notices come out of order): ignored",
      row: { t: 't', c: 'c', period: ['2026-03-01T00:00:00+00:00', '2026-04-01T00:00:00+00:00', '4', 9] },
      absorbed: true,
      then: (s) => [s.period?.spend, s.versions.get(`p:${march.from}`)],
      expected: [5_000_000_000n, 10],
    },
    {
      name: 'another period outside the instants it answers for',
      row: { t: 't', c: 'c', period: ['2026-02-01T00:00:00+00:00', '2026-03-01T00:00:00+00:00', '99', 12] },
      absorbed: true,
      then: (s) => s.period?.spend,
      expected: 5_000_000_000n,
    },
    {
      name: 'a period cut short (an amendment): read again',
      row: { t: 't', c: 'c', period: ['2026-03-01T00:00:00+00:00', '2026-03-15T00:00:00+00:00', '5', 12] },
      absorbed: false,
    },
    {
      name: "the first usage of a period in the gap it answers for: that period's instants",
      given: {
        period: null,
        scopedSpend: new Map(),
        versions: new Map(),
        from: march.from,
        until: Number.POSITIVE_INFINITY,
      },
      row: { t: 't', c: 'c', period: ['2026-03-01T00:00:00+00:00', '2026-04-01T00:00:00+00:00', '0.5', 3] },
      absorbed: true,
      then: (s) => [s.period, s.from, s.until],
      expected: [{ start: march.from, spend: 500_000_000n }, march.from, march.until],
    },
    {
      name: 'a grant drawn down',
      row: { t: 't', c: 'c', grant: ['g1', 'active', '3.000000000', null, null, null, null, 11] },
      absorbed: true,
      then: (s) => s.grants.get('g1')?.balance,
      expected: 3_000_000_000n,
    },
    {
      name: 'an older image of a grant than the one held: ignored',
      row: { t: 't', c: 'c', grant: ['g1', 'active', '12', null, null, null, null, 10] },
      absorbed: true,
      then: (s) => s.grants.get('g1')?.balance,
      expected: 10_000_000_000n,
    },
    {
      name: 'a new scoped grant',
      row: {
        t: 't',
        c: 'c',
        grant: ['g2', 'active', '2', '2026-03-02T00:00:00+00:00', null, null, ['llm.completion'], 1],
      },
      absorbed: true,
      then: (s) => [s.grants.size, s.grants.get('g2')?.effectiveAt?.toISOString(), s.grants.get('g2')?.scopeEventTypes],
      expected: [2, '2026-03-02T00:00:00.000Z', ['llm.completion']],
    },
    {
      name: 'a grant voided or expired',
      row: { t: 't', c: 'c', grant: ['g1', 'expired', '0', null, null, null, null, 11] },
      absorbed: true,
      then: (s) => s.grants.size,
      expected: 0,
    },
    {
      name: "the period's scoped spend",
      row: { t: 't', c: 'c', scoped: ['2026-03-01T00:00:00+00:00', 'api_key', 'k1', '4', 2] },
      absorbed: true,
      then: (s) => [...s.scopedSpend],
      expected: [
        ['project:alpha', 1_000_000_000n],
        ['api_key:k1', 4_000_000_000n],
      ],
    },
    {
      name: "another period's scoped spend",
      row: { t: 't', c: 'c', scoped: ['2026-02-01T00:00:00+00:00', 'project', 'alpha', '9', 20] },
      absorbed: true,
      then: (s) => s.scopedSpend.get('project:alpha'),
      expected: 1_000_000_000n,
    },
    {
      name: 'an older image of scoped spend than the one held: ignored',
      row: { t: 't', c: 'c', scoped: ['2026-03-01T00:00:00+00:00', 'project', 'alpha', '0.5', 7] },
      absorbed: true,
      then: (s) => s.scopedSpend.get('project:alpha'),
      expected: 1_000_000_000n,
    },
    {
      name: 'a hold placed',
      row: { t: 't', c: 'c', hold: ['h2', 'open', '1.500000000', '2026-03-01T12:10:00+00:00', 11] },
      absorbed: true,
      then: (s) => [...s.holds].map(([id, h]) => [id, h.remaining]),
      expected: [
        ['h1', 2_000_000_000n],
        ['h2', 1_500_000_000n],
      ],
    },
    {
      name: 'a hold partly captured',
      row: { t: 't', c: 'c', hold: ['h1', 'open', '0.25', '2026-03-01T12:05:00+00:00', 11] },
      absorbed: true,
      then: (s) => s.holds.get('h1')?.remaining,
      expected: 250_000_000n,
    },
    {
      name: 'a hold captured, released or expired',
      row: { t: 't', c: 'c', hold: ['h1', 'released', '2', '2026-03-01T12:05:00+00:00', 12] },
      absorbed: true,
      then: (s) => s.holds.size,
      expected: 0,
    },
    {
      name: 'an older image of a hold than the one held: ignored',
      row: { t: 't', c: 'c', hold: ['h1', 'open', '9', '2026-03-01T12:05:00+00:00', 9] },
      absorbed: true,
      then: (s) => s.holds.get('h1')?.remaining,
      expected: 2_000_000_000n,
    },
    { name: 'the customer, its wallet, budgets or a deletion: read again', row: { t: 't', c: 'c' }, absorbed: false },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const given = state(c.given);
      expect(applyRow(given, c.row)).toBe(c.absorbed);
      if (c.then) expect(c.then(given)).toEqual(c.expected);
    });
  }
});
