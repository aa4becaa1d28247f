// fast-check generators of valid price books and of states and events aimed at them (tier and version
// boundaries, DST days, window edges), for comparing the WebAssembly kernel with the reference event by event:
//
//   fc.assert(fc.property(randomScenario(), ({ book, states, events }) => {
//     expect(withoutMessages(kernel.rate(book, states, events))).toEqual(withoutMessages(rateReference(book, states, events)));
//   }), { numRuns: 15_000 });   // about 100,000 events; repeat with randomScenario({ scale: 'overflow' })
//
// Error messages are free text, hence `withoutMessages`.
import fc from 'fast-check';
import type {
  BookVersion,
  Charge,
  Commitment,
  Condition,
  CostSchedule,
  CustomerState,
  Dimension,
  Grant,
  MatchRule,
  Modifier,
  PriceBook,
  RateCard,
  RatedEvent,
  ServiceTier,
  StateMap,
  Tier,
  TimeWindow,
  UsageEvent,
  Weekday,
  Calendar,
} from '../../core-wasm/src/book.ts';
import { bookFigures } from './ledger.ts';
import { ruleHolds } from './match.ts';

/** "realistic": token prices up to 100 per million, up to 2,000,000 tokens. "overflow": values near 2^63 units. */
export type Scale = 'realistic' | 'overflow';
export interface ArbitraryOptions {
  scale?: Scale;
}

export const CUSTOMERS = ['cus_a', 'cus_b', 'cus_c'] as const;
export const EVENT_TYPES = ['llm.request', 'gpu.job', 'agent.resolution', 'image.generation'] as const;
export const ZONES = ['UTC', 'America/New_York', 'Europe/Berlin', 'Asia/Shanghai'] as const;
const PROVIDERS = ['openai', 'anthropic', 'google', 'coreweave'];
const MODELS = ['gpt-4o', 'gpt-4o-mini', 'o3', 'claude-sonnet-4', 'claude-haiku-mini', 'gemini-2.5-pro'];
const GPU_TYPES = ['h100', 'h200', 'a100', 'l40s'];
const REGIONS = ['us-east', 'eu-west', 'ap-east'];
const AVAILABILITY = ['on_demand', 'spot', 'reserved'];
const SERVICE_TIERS: ServiceTier[] = ['standard', 'batch', 'flex', 'priority'];
const WEEKDAYS: Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const TOKEN_PROPERTIES = ['input_tokens', 'output_tokens', 'cache_read_tokens', 'reasoning_tokens'];
const POOLS = ['free_tokens', 'free_gpu_seconds', 'free_images', 'undeclared_pool'];
const SHARED_COUNTERS = ['tokens_total', 'gpu_total'];

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);
/** DST changes in the window zones during 2026 (US: Mar 8 / Nov 1; EU: Mar 29 / Oct 25), as UTC instants. */
const DST_INSTANTS = [
  Date.UTC(2026, 2, 8, 7),
  Date.UTC(2026, 10, 1, 6),
  Date.UTC(2026, 2, 29, 1),
  Date.UTC(2026, 9, 25, 1),
];

const I64_MAX = 9_223_372_036_854_775_807n;

/** A count of 10^-places units written as a minimal decimal string ("1.5", "0.000000001"). */
export function scaled(units: bigint, places: number): string {
  const negative = units < 0n;
  const magnitude = negative ? -units : units;
  const base = 10n ** BigInt(places);
  const fraction = (magnitude % base).toString().padStart(places, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${magnitude / base}${fraction === '' ? '' : `.${fraction}`}`;
}

const money = (max: bigint): fc.Arbitrary<string> => fc.bigInt({ min: 0n, max }).map((units) => scaled(units, 9));
const quantity = (min: bigint, max: bigint): fc.Arbitrary<string> =>
  fc.bigInt({ min, max }).map((units) => scaled(units, 6));

/** Drops keys whose value is undefined, so the JSON a kernel sees has no explicit undefineds. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as T;
}

/** `arbitrary` in `percent` % of the cases, else undefined (an absent key). */
const optional = <T>(arbitrary: fc.Arbitrary<T>, percent: number): fc.Arbitrary<T | undefined> =>
  fc.oneof({ arbitrary, weight: percent }, { arbitrary: fc.constant(undefined), weight: 100 - percent });

/** The magnitudes a scale draws from. */
interface Magnitudes {
  tokenRate: fc.Arbitrary<string>;
  gpuHourRate: fc.Arbitrary<string>;
  amount: fc.Arbitrary<string>;
  per: fc.Arbitrary<string | undefined>;
  tokenBound: fc.Arbitrary<bigint>;
  secondsBound: fc.Arbitrary<bigint>;
  multiplier: fc.Arbitrary<string>;
  balance: fc.Arbitrary<string>;
  included: fc.Arbitrary<string>;
  tokens: fc.Arbitrary<string | number>;
}

const REALISTIC: Magnitudes = {
  tokenRate: fc.oneof(
    {
      arbitrary: fc.constantFrom('0.075', '0.15', '0.6', '1.25', '2.5', '3', '10', '15', '60', '75', '100', '0'),
      weight: 2,
    },
    { arbitrary: money(100_000_000_000n), weight: 3 },
    { arbitrary: money(1_000n), weight: 1 },
  ),
  gpuHourRate: fc.oneof(fc.constantFrom('2.49', '1.2', '0.45', '3.99', '12'), money(50_000_000_000n)),
  amount: fc.oneof(fc.constantFrom('0.99', '0.01', '1', '0.000000001', '2.5'), money(5_000_000_000n)),
  per: fc.constantFrom(undefined, undefined, '1000000', '1000', '1', '3600', '0.5'),
  tokenBound: fc.oneof(
    fc.constantFrom(
      1_000_000_000n,
      10_000_000_000n,
      128_000_000_000n,
      200_000_000_000n,
      1_000_000_000_000n,
      10_000_000_000_000n,
    ),
    fc.bigInt({ min: 1n, max: 2_000_000_000_000n }),
  ),
  secondsBound: fc.oneof(
    fc.constantFrom(60_000_000n, 3_600_000_000n, 36_000_000_000n, 360_000_000_000n),
    fc.bigInt({ min: 1n, max: 1_000_000_000_000n }),
  ),
  multiplier: fc.oneof(
    fc.constantFrom('0.5', '0.25', '1.5', '2', '0.333333333', '1.1', '0.75', '1'),
    fc.bigInt({ min: 1n, max: 3_000_000_000n }).map((units) => scaled(units, 9)),
  ),
  balance: fc.oneof(fc.constantFrom('0', '0.5', '1', '10', '100', '0.000000001'), money(50_000_000_000n)),
  included: fc.oneof(fc.constantFrom('0', '1000', '500000', '3600', '1000000'), quantity(0n, 2_000_000_000_000n)),
  tokens: fc.oneof(
    { arbitrary: fc.integer({ min: 0, max: 2_000_000 }), weight: 3 },
    { arbitrary: fc.integer({ min: 0, max: 2_000_000 }).map(String), weight: 2 },
    { arbitrary: quantity(0n, 2_000_000_000_000n), weight: 2 },
    { arbitrary: fc.constantFrom(0, 1, '0.000001', 999, 1000, 1001), weight: 1 },
  ),
};

const NEAR_MAX_MONEY = [
  '9223372036.854775807',
  '9223372036.854775806',
  '4611686018.427387904',
  '9000000000',
  '3037000499.97605',
];
const NEAR_MAX_QUANTITY = [
  '9223372036854.775807',
  '9223372036854.775806',
  '4611686018427.387904',
  '3037000499.976049',
  '1000000000000',
];

const OVERFLOW: Magnitudes = {
  tokenRate: fc.oneof(fc.constantFrom(...NEAR_MAX_MONEY), REALISTIC.tokenRate),
  gpuHourRate: fc.oneof(fc.constantFrom(...NEAR_MAX_MONEY), REALISTIC.gpuHourRate),
  amount: fc.oneof(fc.constantFrom(...NEAR_MAX_MONEY), REALISTIC.amount),
  per: fc.constantFrom(undefined, '1', '0.000001', '1000000'),
  tokenBound: fc.oneof(
    fc.constantFrom(4_611_686_018_427_387_904n, I64_MAX - 1n, 1_000_000_000_000_000_000n),
    REALISTIC.tokenBound,
  ),
  secondsBound: fc.oneof(fc.constantFrom(4_611_686_018_427_387_904n, I64_MAX - 1n), REALISTIC.secondsBound),
  multiplier: fc.oneof(
    fc.constantFrom('9223372036.854775807', '1000000000', '2', '3037000499.97605'),
    REALISTIC.multiplier,
  ),
  balance: fc.oneof(fc.constantFrom(...NEAR_MAX_MONEY), REALISTIC.balance),
  included: fc.oneof(fc.constantFrom(...NEAR_MAX_QUANTITY), REALISTIC.included),
  tokens: fc.oneof(fc.constantFrom(...NEAR_MAX_QUANTITY), REALISTIC.tokens),
};

const magnitudes = (options: ArbitraryOptions = {}): Magnitudes =>
  options.scale === 'overflow' ? OVERFLOW : REALISTIC;

// ---------------------------------------------------------------- books

type CardKind = 'llm' | 'gpu' | 'outcome' | 'catch_all';

/** What stays the same for a card id across versions: its kind, match and dimensions. */
interface CardSkeleton {
  id: string;
  kind: CardKind;
  match: Record<string, MatchRule>;
  dimensions?: Record<string, Dimension>;
}

function matchFor(kind: CardKind): fc.Arbitrary<Record<string, MatchRule>> {
  switch (kind) {
    case 'llm':
      return fc.oneof(
        fc.constantFrom(...MODELS).map((model): Record<string, MatchRule> => ({ model })),
        fc
          .tuple(fc.constantFrom(...PROVIDERS), fc.constantFrom(...MODELS))
          .map(([provider, model]): Record<string, MatchRule> => ({ provider, model })),
        fc.constant<Record<string, MatchRule>>({ model: { starts_with: 'gpt-4' } }),
        fc.constant<Record<string, MatchRule>>({ model: { or: [{ equals: 'o3' }, { ends_with: '-mini' }] } }),
        fc.constant<Record<string, MatchRule>>({ event_type: 'llm.request', model: { contains: 'claude' } }),
        fc.constant<Record<string, MatchRule>>({ provider: { and: [{ starts_with: 'an' }, { ends_with: 'ic' }] } }),
      );
    case 'gpu':
      return fc.oneof(
        fc.constantFrom(...GPU_TYPES).map((gpu_type): Record<string, MatchRule> => ({ gpu_type })),
        fc
          .tuple(fc.constantFrom(...GPU_TYPES), fc.constantFrom(...AVAILABILITY))
          .map(([gpu_type, availability_class]): Record<string, MatchRule> => ({ gpu_type, availability_class })),
        fc.constant<Record<string, MatchRule>>({ event_type: 'gpu.job', gpu_type: { starts_with: 'h' } }),
        fc
          .tuple(fc.constantFrom(...REGIONS), fc.constantFrom(...GPU_TYPES))
          .map(([region, gpu_type]): Record<string, MatchRule> => ({ region: { equals: region }, gpu_type })),
      );
    case 'outcome':
      return fc.constantFrom<Record<string, MatchRule>>(
        { event_type: 'agent.resolution' },
        { event_type: { or: ['agent.resolution', 'image.generation'] } },
        { event_type: 'image.generation', provider: 'openai' },
      );
    case 'catch_all':
      // A match must name a property: every event type contains a dot.
      return fc.constant<Record<string, MatchRule>>({ event_type: { contains: '.' } });
  }
}

function dimensionsFor(kind: CardKind): fc.Arbitrary<Record<string, Dimension> | undefined> {
  if (kind === 'llm') {
    return fc.constantFrom<Record<string, Dimension> | undefined>(
      undefined,
      { uncached_input: { formula: { input_tokens: 1, cache_read_tokens: -1 } } },
      {
        larger_side: { max: ['input_tokens', 'output_tokens'] },
        uncached_input: { formula: { input_tokens: 1, cache_read_tokens: -1 } },
      },
      {
        uncached_input: { formula: { input_tokens: 1, cache_read_tokens: -1 } },
        billed_output: { formula: { output_tokens: 1, reasoning_tokens: 1 } },
        weighted_tokens: { formula: { output_tokens: 4, input_tokens: 1 } },
      },
    );
  }
  if (kind === 'gpu') {
    const gpuTime = fc.record({
      minimum: fc.constantFrom(undefined, '0', '60', '300', '59.5'),
      increment: fc.constantFrom(undefined, '1', '30', '60', '0.5', '0.001'),
      named: fc.boolean(),
    });
    return gpuTime.map(({ minimum, increment, named }) => ({
      gpu_seconds: {
        gpu_time: compact({
          count: named ? 'gpu_count' : undefined,
          duration: named ? 'duration_seconds' : undefined,
          minimum_seconds: minimum,
          increment_seconds: increment,
        }),
      },
    }));
  }
  return fc.constant(undefined);
}

function skeletonsArbitrary(): fc.Arbitrary<CardSkeleton[]> {
  const kinds = fc.array(fc.constantFrom<CardKind>('llm', 'llm', 'gpu', 'gpu', 'outcome', 'catch_all'), {
    minLength: 2,
    maxLength: 6,
  });
  return kinds.chain((list) =>
    fc
      .tuple(...list.map((kind) => fc.tuple(matchFor(kind), dimensionsFor(kind))))
      .map((parts) =>
        parts.map(([match, dimensions], index) =>
          compact({ id: `${list[index]}-${index}`, kind: list[index]!, match, dimensions }),
        ),
      ),
  );
}

/** Strictly increasing tier bounds with rates; the last tier is unbounded. */
function tiersArbitrary(bound: fc.Arbitrary<bigint>, rate: fc.Arbitrary<string>): fc.Arbitrary<Tier[]> {
  return fc
    .tuple(fc.uniqueArray(bound, { maxLength: 3 }), fc.array(rate, { minLength: 4, maxLength: 4 }))
    .map(([bounds, rates]) => {
      const sorted = [...bounds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      return [...sorted.map((upTo, index) => ({ up_to: scaled(upTo, 6), rate: rates[index]! })), { rate: rates[3]! }];
    });
}

interface ChargeInputs {
  skeleton: CardSkeleton;
  scale: Magnitudes;
  /** Pools charges may draw from (the cost schedule passes none). */
  pools: string[];
}

function chargeArbitrary({ skeleton, scale, pools }: ChargeInputs): fc.Arbitrary<Charge> {
  const allowance = pools.length === 0 ? fc.constant(undefined) : optional(fc.constantFrom(...pools), 30);
  const counter = optional(fc.constantFrom(...SHARED_COUNTERS), 25);
  const measured = (
    dimensions: string[],
    rate: fc.Arbitrary<string>,
    bound: fc.Arbitrary<bigint>,
    per: fc.Arbitrary<string | undefined>,
  ): fc.Arbitrary<Charge> =>
    fc
      .tuple(
        fc.constantFrom(...dimensions),
        allowance,
        per,
        counter,
        fc.nat(4),
        optional(fc.constantFrom('1', '0.5', '1000', '60'), 25),
      )
      .chain(([dimension, pool, perValue, counterName, model, minimum]) => {
        const withCommon = (price: Charge['price']): Charge => compact({ dimension, allowance: pool, minimum, price });
        switch (model) {
          case 0:
            return rate.map((value) => withCommon(compact({ model: 'per_unit' as const, rate: value, per: perValue })));
          case 1:
            return tiersArbitrary(bound, rate).map((tiers) =>
              withCommon(compact({ model: 'graduated' as const, tiers, per: perValue, counter: counterName })),
            );
          case 2:
            return tiersArbitrary(bound, rate).map((tiers) =>
              withCommon(compact({ model: 'volume' as const, tiers, per: perValue, counter: counterName })),
            );
          case 3:
            return fc
              .tuple(
                rate,
                fc.uniqueArray(bound, { minLength: 1, maxLength: 2 }),
                fc.array(rate, { minLength: 2, maxLength: 2 }),
                fc.constantFrom(...dimensions),
              )
              .map(([base, aboves, rates, basis]) => {
                const ascending = [...aboves].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
                const tiers = ascending.map((above, index) => ({ above: scaled(above, 6), rate: rates[index]! }));
                return withCommon(
                  compact({ model: 'request_tiers' as const, basis, rate: base, per: perValue, tiers }),
                );
              });
          default:
            return fc
              .tuple(fc.constantFrom('1000', '1', '0.5', '1000000', '3600'), scale.amount)
              .map(([size, amount]) => withCommon({ model: 'package', size, amount }));
        }
      });
  const flat = scale.amount.map((amount): Charge => ({ price: { model: 'flat', amount } }));
  const dynamic = optional(fc.constantFrom('0', '12.5', '20', '33.3333333', '0.0000001', '100'), 70).map(
    (markup): Charge => ({
      price: compact({ model: 'dynamic' as const, amount_property: 'cost_usd', markup_percent: markup }),
    }),
  );
  switch (skeleton.kind) {
    case 'llm': {
      const dimensions = [...TOKEN_PROPERTIES, ...Object.keys(skeleton.dimensions ?? {})];
      return fc.oneof(
        { arbitrary: measured(dimensions, scale.tokenRate, scale.tokenBound, scale.per), weight: 6 },
        { arbitrary: flat, weight: 1 },
      );
    }
    case 'gpu':
      return fc.oneof(
        {
          arbitrary: measured(
            ['gpu_seconds'],
            scale.gpuHourRate,
            scale.secondsBound,
            fc.constantFrom('3600', '3600', '1', undefined),
          ),
          weight: 5,
        },
        {
          arbitrary: measured(['duration_seconds'], scale.gpuHourRate, scale.secondsBound, fc.constant('3600')),
          weight: 1,
        },
        { arbitrary: flat, weight: 1 },
      );
    case 'outcome':
      return fc.oneof(
        flat,
        dynamic,
        measured(['images'], scale.amount, scale.tokenBound, fc.constantFrom('1', '1000')),
      );
    case 'catch_all':
      return fc.oneof(flat, dynamic);
  }
}

/** A condition names at least one field. */
function conditionArbitrary(windowNames: string[]): fc.Arbitrary<Condition> {
  const tier = fc.constantFrom(...SERVICE_TIERS);
  if (windowNames.length === 0) return tier.map((service_tier) => ({ service_tier }));
  const window = fc.constantFrom(...windowNames);
  return fc.oneof(
    window.map((name): Condition => ({ window: name })),
    tier.map((service_tier): Condition => ({ service_tier })),
    fc.tuple(window, tier).map(([name, service_tier]): Condition => ({ window: name, service_tier })),
  );
}

const CLOCKS = ['00:00', '06:00', '08:30:15', '09:00', '12:00', '13:00', '18:00', '22:00', '23:59:59'];

/** Every random price version carries these calendars; windows sometimes name them in `except` or `only`. */
const CALENDARS = ['holidays', 'workdays'] as const;
/** Dates on and around the 2026 DST days of the zones, and a few ordinary ones. */
const CALENDAR_DATES = [
  '2026-01-01',
  '2026-01-02',
  '2026-01-05',
  '2026-02-17',
  '2026-03-07',
  '2026-03-08',
  '2026-03-09',
  '2026-03-29',
  '2026-03-30',
  '2026-10-01',
  '2026-10-25',
  '2026-11-01',
  '2026-11-02',
];

const calendarsArbitrary: fc.Arbitrary<Record<string, Calendar>> = fc
  .tuple(...CALENDARS.map(() => fc.tuple(fc.constantFrom(...ZONES), fc.subarray(CALENDAR_DATES))))
  .map((list) =>
    Object.fromEntries(CALENDARS.map((name, index) => [name, { time_zone: list[index]![0], dates: list[index]![1] }])),
  );

const windowArbitrary: fc.Arbitrary<TimeWindow> = fc
  .tuple(
    fc.constantFrom(...ZONES),
    optional(fc.subarray(WEEKDAYS, { minLength: 1 }), 50),
    fc.constantFrom(...CLOCKS),
    fc.constantFrom(...CLOCKS, '24:00'),
    optional(fc.constantFrom(...CALENDARS), 30),
    optional(fc.constantFrom(...CALENDARS), 20),
  )
  .map(([zone, days, start, end, except, only]) => compact({ time_zone: zone, days, start, end, except, only }));

function versionBody(
  skeletons: CardSkeleton[],
  scale: Magnitudes,
  allCards: boolean,
): fc.Arbitrary<Omit<BookVersion, 'effective_from'>> {
  const windows = fc
    .uniqueArray(fc.constantFrom('peak', 'offpeak', 'weekend', 'night'), { maxLength: 3 })
    .chain((names) =>
      fc
        .tuple(...names.map(() => windowArbitrary))
        .map((list) => Object.fromEntries(names.map((name, index) => [name, list[index]!]))),
    );
  return windows.chain((windowMap) => {
    const windowNames = Object.keys(windowMap);
    const allowances = fc
      .subarray(POOLS.slice(0, 3))
      .chain((pools) =>
        fc
          .tuple(...pools.map(() => scale.included))
          .map((included) => Object.fromEntries(pools.map((pool, index) => [pool, { included: included[index]! }]))),
      );
    const chosen = allCards ? fc.constant(skeletons) : fc.subarray(skeletons);
    return fc.tuple(allowances, chosen).chain(([allowanceMap, cardSkeletons]) => {
      // A modifier's `cards` must name cards of its own version.
      const ids = cardSkeletons.map((skeleton) => skeleton.id);
      const modifier: fc.Arbitrary<Modifier> = fc
        .tuple(
          conditionArbitrary(windowNames),
          scale.multiplier,
          ids.length === 0 ? fc.constant(undefined) : optional(fc.subarray(ids, { minLength: 1 }), 40),
        )
        .map(([when, multiplier, cards]) => compact({ when, multiplier, cards }));
      const cards = cardSkeletons.map((skeleton) => {
        const inputs: ChargeInputs = { skeleton, scale, pools: POOLS };
        const charges = fc.array(chargeArbitrary(inputs), { minLength: 1, maxLength: 3 });
        const variant = fc
          .tuple(conditionArbitrary(windowNames), charges)
          .map(([when, list]) => ({ when, charges: list }));
        return fc.tuple(charges, fc.array(variant, { maxLength: 2 })).map(([list, variants]): RateCard =>
          compact({
            id: skeleton.id,
            match: skeleton.match,
            dimensions: skeleton.dimensions,
            charges: list,
            variants: variants.length === 0 ? undefined : variants,
          }),
        );
      });
      return fc
        .tuple(fc.array(modifier, { maxLength: 3 }), fc.tuple(...cards), calendarsArbitrary)
        .map(([modifiers, rateCards, calendars]) =>
          compact({
            calendars,
            windows: windowNames.length === 0 ? undefined : windowMap,
            modifiers: modifiers.length === 0 ? undefined : modifiers,
            allowances: Object.keys(allowanceMap).length === 0 ? undefined : allowanceMap,
            rate_cards: rateCards,
          }),
        );
    });
  });
}

/** 1-3 strictly increasing instants from 2026-01-01; sometimes written with an offset or milliseconds. */
const effectiveFromsArbitrary: fc.Arbitrary<string[]> = fc
  .tuple(
    fc.integer({ min: 1, max: 3 }),
    fc.array(fc.integer({ min: 1, max: 150 * 24 }), { minLength: 2, maxLength: 2 }),
    fc.constantFrom(0, 60, -300),
  )
  .map(([count, gapsInHours, offsetMinutes]) => {
    const instants = [T0];
    for (let index = 1; index < count; index += 1)
      instants.push(instants[index - 1]! + gapsInHours[index - 1]! * 3_600_000);
    return instants.map((ms, index) => writeInstant(ms, index === 0 ? 0 : offsetMinutes, index % 2 === 1));
  });

function writeInstant(ms: number, offsetMinutes: number, withMillis: boolean): string {
  const local = new Date(ms + offsetMinutes * 60_000).toISOString();
  const body = withMillis ? local.slice(0, 23) : local.slice(0, 19);
  if (offsetMinutes === 0) return `${body}Z`;
  const magnitude = Math.abs(offsetMinutes);
  const zone = `${String(Math.floor(magnitude / 60)).padStart(2, '0')}:${String(magnitude % 60).padStart(2, '0')}`;
  return `${body}${offsetMinutes < 0 ? '-' : '+'}${zone}`;
}

function costArbitrary(skeletons: CardSkeleton[], scale: Magnitudes): fc.Arbitrary<CostSchedule> {
  const versions = fc.integer({ min: 1, max: 2 }).chain((count) =>
    fc
      .tuple(
        fc.subarray(skeletons, { minLength: 1 }),
        fc.constantFrom(T0, T0 + 20 * DAY),
        fc.array(fc.integer({ min: 1, max: 120 }), { minLength: 1, maxLength: 1 }),
      )
      .chain(([costSkeletons, start, gaps]) => {
        const starts = [start, start + gaps[0]! * DAY].slice(0, count);
        const card = (skeleton: CardSkeleton): fc.Arbitrary<RateCard> =>
          fc
            .array(chargeArbitrary({ skeleton, scale, pools: [] }), { minLength: 1, maxLength: 2 })
            .map((charges) =>
              compact({ id: skeleton.id, match: skeleton.match, dimensions: skeleton.dimensions, charges }),
            );
        return fc.tuple(...starts.map(() => fc.tuple(...costSkeletons.map(card)))).map((perVersion) =>
          perVersion.map((rateCards, index): BookVersion => ({
            effective_from: writeInstant(starts[index]!, 0, false),
            rate_cards: rateCards,
          })),
        );
      }),
  );
  return versions.map((list) => ({ currency: 'USD', versions: list }));
}

/** A valid price book: 1-3 versions, 2-6 cards of LLM, GPU, outcome and catch-all kinds, windows, modifiers, variants, allowances, tiers and often a cost schedule. */
export function randomBook(options: ArbitraryOptions = {}): fc.Arbitrary<PriceBook> {
  const scale = magnitudes(options);
  return fc.tuple(skeletonsArbitrary(), effectiveFromsArbitrary).chain(([skeletons, effectiveFroms]) =>
    fc
      .tuple(
        fc.tuple(
          ...effectiveFroms.map((_, index) => versionBody(skeletons, scale, index === effectiveFroms.length - 1)),
        ),
        optional(costArbitrary(skeletons, scale), 60),
      )
      .map(([bodies, cost]) =>
        compact({
          id: 'random-book',
          currency: 'USD',
          versions: bodies.map((body, index) => ({ effective_from: effectiveFroms[index]!, ...body })),
          cost,
        }),
      ),
  );
}

// ---------------------------------------------------------------- what a book offers to aim at

interface BookMarks {
  /** Version starts, in milliseconds. */
  instants: number[];
  /** Tier bounds, request-tier thresholds, allowances, package sizes and GPU minimums, in micro-units. */
  quantities: bigint[];
  cardIds: string[];
}

function micro(text: string): bigint {
  const [whole, fraction = ''] = text.split('.');
  return BigInt(whole!) * 1_000_000n + BigInt(fraction.padEnd(6, '0').slice(0, 6));
}

function bookMarks(book: PriceBook): BookMarks {
  const instants = new Set<number>();
  const quantities = new Set<bigint>([0n]);
  const cardIds = new Set<string>();
  const versions = [...book.versions, ...(book.cost?.versions ?? [])];
  for (const version of versions) {
    instants.add(Date.parse(version.effective_from));
    Object.values(version.allowances ?? {}).forEach((pool) => quantities.add(micro(pool.included)));
    for (const card of version.rate_cards) {
      cardIds.add(card.id);
      for (const dimension of Object.values(card.dimensions ?? {})) {
        if ('gpu_time' in dimension && dimension.gpu_time.minimum_seconds !== undefined)
          quantities.add(micro(dimension.gpu_time.minimum_seconds));
      }
      for (const charge of [card.charges, ...(card.variants ?? []).map((variant) => variant.charges)].flat()) {
        const price = charge.price;
        if (price.model === 'graduated' || price.model === 'volume') {
          price.tiers.forEach((tier) => tier.up_to && quantities.add(micro(tier.up_to)));
        } else if (price.model === 'request_tiers') {
          price.tiers.forEach((tier) => quantities.add(micro(tier.above)));
        } else if (price.model === 'package') {
          quantities.add(micro(price.size));
        }
      }
    }
  }
  return { instants: [...instants], quantities: [...quantities], cardIds: [...cardIds] };
}

/** A quantity at, just below or just above one of the book's marks (never negative, always within 64 bits). */
function nearMark(marks: bigint[]): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom(...marks), fc.constantFrom(0n, 0n, 1n, -1n, 1_000_000n, -1_000_000n))
    .map(([mark, delta]) => {
      const value = mark + delta;
      return scaled(value < 0n ? 0n : value > I64_MAX ? I64_MAX : value, 6);
    });
}

// ---------------------------------------------------------------- events

function timestampArbitrary(marks: BookMarks): fc.Arbitrary<string> {
  const around = [...marks.instants, ...DST_INSTANTS];
  const nearBoundary = fc
    .tuple(fc.constantFrom(...around), fc.constantFrom(-1000, -1, 0, 0, 1, 999, 3_600_000, -3_600_000))
    .map(([ms, delta]) => ms + delta);
  // Whole and half UTC hours line up with the local window edges of every zone used (all have whole-hour offsets).
  const clock = fc
    .tuple(
      fc.integer({ min: -3, max: 400 }),
      fc.integer({ min: 0, max: 23 }),
      fc.constantFrom(0, 30, 59),
      fc.constantFrom(0, 15, 59),
      fc.constantFrom(0, 999),
    )
    .map(
      ([day, hour, minute, second, millis]) => T0 + day * DAY + ((hour * 60 + minute) * 60 + second) * 1000 + millis,
    );
  const dstDay = fc
    .tuple(fc.constantFrom(...DST_INSTANTS), fc.integer({ min: -30, max: 30 }))
    .map(([ms, halfHours]) => ms + halfHours * 1_800_000);
  const anywhere = fc.integer({ min: T0 - 5 * DAY, max: T0 + 400 * DAY });
  const instant = fc.oneof(nearBoundary, clock, dstDay, anywhere);
  return fc.oneof(
    {
      arbitrary: fc
        .tuple(instant, fc.constantFrom(0, 0, 0, 60, -300, 480), fc.boolean())
        .map(([ms, offset, millis]) => writeInstant(ms, offset, millis)),
      weight: 40,
    },
    // digits past the millisecond are truncated, not rounded
    { arbitrary: instant.map((ms) => `${new Date(ms).toISOString().slice(0, 23)}987654Z`), weight: 2 },
    {
      arbitrary: fc.constantFrom(
        '2026-02-30T00:00:00Z',
        '2026-03-01T12:00:00',
        'yesterday',
        '2026-03-01 12:00:00Z',
        '2026-03-01T24:00:00Z',
      ),
      weight: 1,
    },
  );
}

function numberArbitrary(scale: Magnitudes, marks: BookMarks): fc.Arbitrary<string | number> {
  return fc.oneof(
    { arbitrary: scale.tokens, weight: 30 },
    { arbitrary: nearMark(marks.quantities), weight: 20 },
    { arbitrary: nearMark(marks.quantities).map(Number), weight: 4 },
    // trailing zeros are not decimals; seven real decimals, negatives and words are invalid_property
    { arbitrary: fc.constantFrom<string | number>('1.5000000', '1.0000001', -1, 'lots', 1e-7, '1e3', ' 5'), weight: 1 },
  );
}

const gpuCountArbitrary = fc.constantFrom<string | number>(0.25, '0.25', 0.5, 1, 2, 8, '0.000003', '0.333333', 0);
const durationArbitrary = fc.oneof(
  fc.integer({ min: 0, max: 100_000 }),
  quantity(0n, 100_000_000_000n),
  fc.constantFrom<string | number>(0, 1, 29, 30, 31, 59, 59.5, 60, 61, 299, 300, 3600),
);

const VOCABULARY = [
  ...PROVIDERS,
  ...MODELS,
  ...GPU_TYPES,
  ...REGIONS,
  ...AVAILABILITY,
  ...EVENT_TYPES,
  'anthropic-labs',
  'h100-sxm',
  'gpt-4.1',
];

/** Values a match entry accepts, from the vocabulary (or built for the rule when none does). */
function satisfying(rule: MatchRule): string[] {
  const found = VOCABULARY.filter((value) => ruleHolds(rule, value));
  if (found.length > 0) return found;
  if (typeof rule === 'string') return [rule];
  if ('equals' in rule) return [rule.equals];
  if ('starts_with' in rule) return [`${rule.starts_with}x`];
  if ('ends_with' in rule) return [`x${rule.ends_with}`];
  if ('contains' in rule) return [`x${rule.contains}x`];
  return [''];
}

/** Properties (and the event type) that a card's match accepts. */
function matchingArbitrary(card: RateCard): fc.Arbitrary<Record<string, string>> {
  const entries = Object.entries(card.match);
  // Matching is case-insensitive: the values come as written, upper-cased or capitalized, as providers write them.
  const casing = fc.constantFrom<(value: string) => string>(
    (value) => value,
    (value) => value,
    (value) => value.toUpperCase(),
    (value) => value.charAt(0).toUpperCase() + value.slice(1),
  );
  return fc
    .tuple(
      ...entries.map(([, rule]) =>
        fc.tuple(fc.constantFrom(...satisfying(rule)), casing).map(([value, cased]) => cased(value)),
      ),
    )
    .map((values) => Object.fromEntries(entries.map(([name], index) => [name, values[index]!])));
}

function eventArbitrary(
  book: PriceBook,
  scale: Magnitudes,
  marks: BookMarks,
): fc.Arbitrary<Omit<UsageEvent, 'transaction_id'>> {
  const stringProperty = (values: string[]): fc.Arbitrary<string | undefined> =>
    optional(fc.constantFrom(...values), 75);
  const numeric = optional(numberArbitrary(scale, marks), 70);
  // Mostly small, so that `input_tokens - cache_read_tokens` is negative only now and then.
  const cacheRead = optional(
    fc.oneof(
      { arbitrary: fc.integer({ min: 0, max: 2000 }), weight: 6 },
      { arbitrary: numberArbitrary(scale, marks), weight: 1 },
    ),
    60,
  );
  const cards = [
    ...book.versions[book.versions.length - 1]!.rate_cards,
    ...(book.cost?.versions.flatMap((version) => version.rate_cards) ?? []),
  ];
  const target = fc.oneof(
    { arbitrary: fc.constantFrom(...cards).chain(matchingArbitrary), weight: 8 },
    { arbitrary: fc.constant<Record<string, string>>({}), weight: 2 },
  );
  const properties = fc
    .tuple(
      fc.tuple(
        stringProperty(PROVIDERS),
        stringProperty(MODELS),
        stringProperty(GPU_TYPES),
        stringProperty(REGIONS),
        stringProperty(AVAILABILITY),
      ),
      fc.tuple(numeric, numeric, cacheRead, numeric, numeric),
      // A charge that reads one of these and finds it absent rejects the event (missing_property): mostly present, so
      // most events rate; absent now and then, so that error is met too.
      fc.tuple(
        optional(gpuCountArbitrary, 92),
        optional(durationArbitrary, 92),
        optional(
          fc.oneof(
            { arbitrary: money(20_000_000_000n), weight: 6 },
            { arbitrary: fc.constantFrom('0.0000000001', '1.5'), weight: 2 },
          ),
          92,
        ),
      ),
      fc.oneof(
        { arbitrary: fc.constantFrom<ServiceTier | undefined>(undefined, ...SERVICE_TIERS), weight: 60 },
        { arbitrary: fc.constantFrom('turbo', 7 as unknown as string), weight: 1 },
      ),
      fc.oneof(
        {
          arbitrary: fc.constantFrom(undefined, undefined, 'completed', 'preempted', 'infra_failure', 'user_failure'),
          weight: 60,
        },
        { arbitrary: fc.constant('lost'), weight: 1 },
      ),
    )
    .map(
      ([
        [provider, model, gpu_type, region, availability_class],
        [input_tokens, output_tokens, cache_read_tokens, reasoning_tokens, images],
        [gpu_count, duration_seconds, cost_usd],
        service_tier,
        outcome,
      ]) =>
        compact({
          provider,
          model,
          gpu_type,
          region,
          availability_class,
          input_tokens,
          output_tokens,
          cache_read_tokens,
          reasoning_tokens,
          images,
          gpu_count,
          duration_seconds,
          cost_usd,
          service_tier,
          outcome,
        }),
    );
  return fc
    .tuple(
      fc.oneof(
        { arbitrary: fc.constantFrom<string>(...CUSTOMERS), weight: 100 },
        { arbitrary: fc.constant(''), weight: 1 },
      ),
      fc.oneof(
        { arbitrary: fc.constantFrom<string>(...EVENT_TYPES), weight: 100 },
        { arbitrary: fc.constant(''), weight: 1 },
      ),
      timestampArbitrary(marks),
      properties,
      target,
    )
    .map(([customer_id, randomType, timestamp, props, { event_type, ...matched }]) => ({
      customer_id,
      event_type: event_type ?? randomType,
      timestamp,
      properties: { ...props, ...matched },
    }));
}

/** Events aimed at `book`: its cards' match values, tier and allowance boundaries, version starts, DST days and window edges. */
export function randomEvents(
  book: PriceBook,
  options: ArbitraryOptions & { minLength?: number; maxLength?: number } = {},
): fc.Arbitrary<UsageEvent[]> {
  const marks = bookMarks(book);
  return fc
    .array(eventArbitrary(book, magnitudes(options), marks), {
      minLength: options.minLength ?? 1,
      maxLength: options.maxLength ?? 30,
    })
    .map((events) => events.map((event, index) => ({ transaction_id: `tx_${index}`, ...event })));
}

// ---------------------------------------------------------------- states

function grantArbitrary(scale: Magnitudes, marks: BookMarks, index: number): fc.Arbitrary<Grant> {
  const instant = fc
    .tuple(
      fc.constantFrom(...marks.instants, ...DST_INSTANTS, T0 + 30 * DAY),
      fc.constantFrom(-DAY, -1, 0, 1, 10 * DAY),
    )
    .map(([ms, delta]) => writeInstant(ms + delta, 0, delta === 1 || delta === -1));
  const scope = fc
    .tuple(
      optional(fc.subarray([...marks.cardIds, 'unknown-card'], { minLength: 1 }), 50),
      optional(fc.subarray([...EVENT_TYPES], { minLength: 1 }), 50),
    )
    .map(([cards, event_types]) => compact({ cards, event_types }));
  return fc
    .tuple(
      fc.constantFrom<Grant['kind']>('promotional', 'prepaid'),
      fc.integer({ min: 0, max: 3 }),
      scale.balance,
      optional(instant, 40),
      optional(instant, 40),
      optional(scope, 40),
    )
    .map(([kind, priority, balance, effective_at, expires_at, grantScope]) =>
      compact({ id: `grant_${index}`, kind, priority, balance, effective_at, expires_at, scope: grantScope }),
    );
}

function customerStateArbitrary(book: PriceBook, scale: Magnitudes, marks: BookMarks): fc.Arbitrary<CustomerState> {
  const { counters, pools } = bookFigures(book);
  const counterValue = fc.oneof(nearMark(marks.quantities), quantity(0n, 2_000_000_000_000n));
  const counterMap = fc
    .subarray([...counters])
    .chain((names) =>
      fc
        .tuple(...names.map(() => counterValue))
        .map((values) => Object.fromEntries(names.map((name, index) => [name, values[index]!]))),
    );
  const poolMap = fc
    .subarray([...pools])
    .chain((names) =>
      fc
        .tuple(...names.map(() => fc.oneof(scale.included, nearMark(marks.quantities))))
        .map((values) => Object.fromEntries(names.map((name, index) => [name, values[index]!]))),
    );
  const period = fc
    .tuple(
      fc.constantFrom(T0 - 30 * DAY, T0 - 30 * DAY, T0, T0 + 31 * DAY),
      fc.constantFrom(T0 + 60 * DAY, T0 + 500 * DAY, T0 + 500 * DAY, T0 + 500 * DAY),
    )
    .filter(([start, end]) => start < end)
    .map(([start, end]) => ({ start: writeInstant(start, 0, false), end: writeInstant(end, 0, false) }));
  const commitment: fc.Arbitrary<Commitment> = fc.oneof(
    optional(scale.balance, 80).map((remaining) => compact({ mode: 'prepaid' as const, remaining })),
    optional(scale.balance, 80).map((consumed) => compact({ mode: 'postpaid' as const, consumed })),
  );
  const grants = fc
    .integer({ min: 0, max: 5 })
    .chain((count) => fc.tuple(...Array.from({ length: count }, (_, index) => grantArbitrary(scale, marks, index))));
  return fc
    .tuple(
      optional(period, 80),
      counterMap,
      poolMap,
      optional(
        fc.oneof(
          fc.constantFrom('0', '10', '12.5', '25', '33.3333333', '100'),
          fc.bigInt({ min: 0n, max: 1_000_000_000n }).map((units) => scaled(units, 7)),
        ),
        50,
      ),
      optional(commitment, 40),
      grants,
      optional(fc.constantFrom<CustomerState['on_depletion']>('overage', 'block', 'block'), 50),
    )
    .map(([statePeriod, counterValues, poolValues, discount, stateCommitment, grantList, onDepletion]) =>
      compact({
        period: statePeriod,
        counters: Object.keys(counterValues).length === 0 ? undefined : counterValues,
        allowances: Object.keys(poolValues).length === 0 ? undefined : poolValues,
        discount_percent: discount,
        commitment: stateCommitment,
        grants: grantList.length === 0 ? undefined : grantList,
        on_depletion: onDepletion,
      }),
    );
}

/** States for the customers events use (`cus_c` is often absent): counters near the book's tier bounds, pools, discounts, commitments and grants. */
export function randomState(book: PriceBook, options: ArbitraryOptions = {}): fc.Arbitrary<StateMap> {
  const scale = magnitudes(options);
  const marks = bookMarks(book);
  const state = customerStateArbitrary(book, scale, marks);
  return fc
    .tuple(state, state, optional(state, 50))
    .map(([a, b, c]): StateMap => ({ cus_a: a, cus_b: b, ...(c === undefined ? {} : { cus_c: c }) }));
}

/** A rating output without the free-text error messages, for comparing two implementations. */
export function withoutMessages<T extends { results: RatedEvent[] }>(output: T): T {
  return {
    ...output,
    results: output.results.map((result) =>
      result.error === undefined ? result : { ...result, error: { ...result.error, message: '' } },
    ),
  };
}

export interface Scenario {
  book: PriceBook;
  states: StateMap;
  events: UsageEvent[];
}

/** A book with states and events aimed at it. */
export function randomScenario(
  options: ArbitraryOptions & { minEvents?: number; maxEvents?: number } = {},
): fc.Arbitrary<Scenario> {
  return randomBook(options).chain((book) =>
    fc
      .tuple(
        randomState(book, options),
        randomEvents(book, { ...options, minLength: options.minEvents, maxLength: options.maxEvents }),
      )
      .map(([states, events]) => ({ book, states, events })),
  );
}
