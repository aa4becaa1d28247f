// The JSON shapes the kernel understands: price books, customer state, events and rated results.
// core-wasm/README.md states the semantics; schema/price-book.schema.json is generated from these types' intent
// and validated against them in the tests.

/** A decimal number written as a string, e.g. "2.5", "0.075", "1000000". Never a JS number for money. */
export type Decimal = string;
/** An ISO 8601 instant with a zone designator, e.g. "2026-03-08T14:00:00Z". */
export type Instant = string;

export type ServiceTier = 'standard' | 'batch' | 'flex' | 'priority';
export type Outcome = 'completed' | 'preempted' | 'infra_failure' | 'user_failure';
export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';

export interface PriceBook {
  /** Stable identifier of the book, e.g. "acme-llm". */
  id: string;
  /** ISO 4217 code of every amount in the book. */
  currency: string;
  /** Versions in ascending `effective_from` order; each event is rated by the last one in force at its timestamp. */
  versions: BookVersion[];
  /** Optional cost-of-goods schedule rated by the same machinery, giving cost and margin per event. */
  cost?: CostSchedule;
  /**
   * UTC-offset transitions of the zones the windows use, pinned into the book (see `withZoneTransitions`), so
   * every runtime rates alike whatever tz data it ships. A zone missing here is read from the runtime's Intl.
   */
  zone_transitions?: Record<string, ZoneTransitionJson[]>;
}

export interface Calendar {
  /** IANA time zone in which the dates are local days, e.g. "Asia/Shanghai". */
  time_zone: string;
  /** Local dates "YYYY-MM-DD" (years 1970-2099), in any order. */
  dates: string[];
}

/** From `from` (null: since forever) the zone is `offset_seconds` east of UTC. */
export interface ZoneTransitionJson {
  from: Instant | null;
  offset_seconds: number;
}

export interface CostSchedule {
  /** Defaults to the book's currency; must equal it (margin is computed in one currency). */
  currency?: string;
  versions: BookVersion[];
}

export interface BookVersion {
  effective_from: Instant;
  /** Named time-of-use windows that variants and modifiers refer to. */
  windows?: Record<string, TimeWindow>;
  /**
   * Dated calendars (public holidays, make-up working days) that this version's windows name in `except` or `only`.
   * The host compiles each listed local date into the instants whose local date in `time_zone` it is. A new year's
   * holidays come with a new version.
   */
  calendars?: Record<string, Calendar>;
  /** Rate multipliers applied when their condition holds, in this order. */
  modifiers?: Modifier[];
  /** Included-quantity pools that charges draw from before pricing; `included` seeds a period's state. */
  allowances?: Record<string, { included: Decimal }>;
  rate_cards: RateCard[];
}

export interface TimeWindow {
  /** IANA time zone, e.g. "America/New_York" or "UTC". */
  time_zone: string;
  /** Local weekdays on which the window starts; all days when omitted. */
  days?: Weekday[];
  /** Local start time "HH:MM" or "HH:MM:SS", inclusive. */
  start: string;
  /** Local end time, exclusive; an end at or before the start wraps past midnight; "24:00" is the end of the day. */
  end: string;
  /** A calendar of the version whose dates the window never holds on (e.g. public holidays off a weekday peak). */
  except?: string;
  /** A calendar of the version outside whose dates the window never holds (e.g. weekend days that are working days). */
  only?: string;
}

export interface Condition {
  /** Holds when the event's instant falls inside this named window. */
  window?: string;
  /** Holds when the event's `service_tier` property equals this tier ("standard" when absent). */
  service_tier?: ServiceTier;
}

export interface Modifier {
  when: Condition;
  /** Multiplies every rate of the matching cards, e.g. "0.5" for batch. */
  multiplier: Decimal;
  /** Card ids the modifier applies to; every card when omitted. */
  cards?: string[];
}

/** A rule matched against one string property of the event; every comparison is case-insensitive. */
export type MatchRule =
  | string
  | { equals: string }
  | { starts_with: string }
  | { ends_with: string }
  | { contains: string }
  /** An ECMAScript regular expression (lookaround included), tested with the `i` flag on the lowercased value. */
  | { regex: string }
  | { or: MatchRule[] }
  | { and: MatchRule[] };

export interface RateCard {
  /** Unique within the book, e.g. "openai/gpt-4o" or "gpu/h100/us-east/spot". */
  id: string;
  /**
   * Which events the card prices: every listed event property (or the pseudo-property `event_type`) must match.
   * A plain string is an exact match; exact matches win over rule matches, then the first card in book order wins.
   */
  match: Record<string, MatchRule>;
  /** Derived dimensions by name; a charge's `dimension` may also name an event property directly. */
  dimensions?: Record<string, Dimension>;
  /**
   * Values for numeric properties an event omits. Without one, an event lacking a property a charge cannot do
   * without (a `gpu_time` count or duration, a `dynamic` amount) is rejected with `missing_property`; other
   * omitted quantities (a kind of token the event did not use) are zero.
   */
  defaults?: Record<string, Decimal>;
  charges: Charge[];
  /** Alternative charge lists; the last variant whose condition holds replaces `charges`. */
  variants?: { when: Condition; charges: Charge[] }[];
}

export type Dimension =
  /** A linear formula over numeric event properties with integer coefficients, e.g. input - cache_read. */
  | { formula: Record<string, number> }
  /** GPU time in GPU-seconds: count x billable duration. */
  | { gpu_time: GpuTime }
  /** The largest of these numeric event properties (absent ones count 0). */
  | { max: string[] };

export interface GpuTime {
  /** Property holding the number of GPUs (fractions allowed, e.g. 0.25). Default "gpu_count". */
  count?: string;
  /** Property holding the duration in seconds. Default "duration_seconds". */
  duration?: string;
  /** Completed jobs are billed at least this many seconds. Default 0. */
  minimum_seconds?: Decimal;
  /** Durations are rounded up to a multiple of this many seconds. Default 1. */
  increment_seconds?: Decimal;
}

export interface Charge {
  /** Event property name or a name from the card's `dimensions`; not used by `flat` and `dynamic`. */
  dimension?: string;
  /** Allowance pool drawn before pricing (units of the dimension). */
  allowance?: string;
  /**
   * Per-call minimum quantity: a quantity above 0 and below it is billed as this much (Groq bills Whisper at least
   * 10 s per request); a quantity of 0 stays 0. Applied before the allowance; not for `flat` and `dynamic`.
   */
  minimum?: Decimal;
  price: PriceModel;
}

export interface Tier {
  /** Upper bound of the tier in units (exclusive of the next tier); null or omitted for the last tier. */
  up_to?: Decimal | null;
  rate: Decimal;
}

export type PriceModel =
  /** quantity x rate / per. */
  | { model: 'per_unit'; rate: Decimal; per?: Decimal }
  /** ceil(quantity / size) x amount. */
  | { model: 'package'; size: Decimal; amount: Decimal }
  /** Each unit priced at the tier it falls in, over the period's cumulative quantity in `counter`. */
  | { model: 'graduated'; tiers: Tier[]; per?: Decimal; counter?: string }
  /** All units of the period priced at the tier the cumulative quantity reaches; events pay the difference. */
  | { model: 'volume'; tiers: Tier[]; per?: Decimal; counter?: string }
  /** The whole request priced at the last tier whose `above` the basis quantity exceeds. */
  | { model: 'request_tiers'; basis: string; rate: Decimal; tiers: { above: Decimal; rate: Decimal }[]; per?: Decimal }
  /** A fixed amount per event (outcome pricing). */
  | { model: 'flat'; amount: Decimal }
  /** The event carries the amount (property, in currency units); the book adds a markup percentage. */
  | { model: 'dynamic'; amount_property: string; markup_percent?: Decimal };

export type PriceModelName = PriceModel['model'];

/** What the caller knows about one customer; passed in and returned updated. */
export interface CustomerState {
  /** Events outside [start, end) are rejected with `outside_period`. */
  period?: { start: Instant; end: Instant };
  /** Cumulative billed quantity per tier counter this period. */
  counters?: Record<string, Decimal>;
  /** Remaining units per allowance pool; a pool absent here starts at the version's `included`. */
  allowances?: Record<string, Decimal>;
  /** Negotiated percentage off the subtotal, e.g. "12.5". */
  discount_percent?: Decimal;
  commitment?: Commitment;
  grants?: Grant[];
  /** What happens when an event's remainder is not covered by credits. Default "overage". */
  on_depletion?: 'overage' | 'block';
}

export interface Commitment {
  /** Prepaid commitments pay for usage like credits; postpaid ones only count progress toward a minimum. */
  mode: 'prepaid' | 'postpaid';
  /** Prepaid: amount left to draw. */
  remaining?: Decimal;
  /** Amount of usage counted against the commitment this period. */
  consumed?: Decimal;
}

export interface Grant {
  id: string;
  kind: 'promotional' | 'prepaid';
  /** Lower numbers are drawn first, within the kind. */
  priority: number;
  balance: Decimal;
  effective_at?: Instant;
  expires_at?: Instant;
  /** Card ids and event types the grant pays for; everything when omitted. */
  scope?: { cards?: string[]; event_types?: string[] };
}

export type StateMap = Record<string, CustomerState>;

export interface UsageEvent {
  transaction_id: string;
  customer_id: string;
  event_type: string;
  timestamp: Instant;
  properties: Record<string, string | number | boolean | null | undefined>;
}

export type ReceiptStep =
  | { step: 'outcome'; outcome: Outcome; note: 'no_charge' }
  | { step: 'variant'; variant: number }
  | { step: 'quantity'; charge: number; dimension: string; quantity: Decimal }
  /** The quantity was above 0 and below the charge's per-call minimum, and is billed as the minimum. */
  | { step: 'minimum'; charge: number; minimum: Decimal }
  | { step: 'modifier'; charge: number; source: string; multiplier: Decimal }
  | { step: 'allowance'; charge: number; pool: string; covered: Decimal; remaining: Decimal }
  | { step: 'tier'; charge: number; tier: number; quantity: Decimal; rate: Decimal }
  | {
      step: 'price';
      charge: number;
      model: PriceModelName;
      quantity: Decimal;
      rate: Decimal;
      per: Decimal;
      amount: Decimal;
    }
  | { step: 'discount'; percent: Decimal; amount: Decimal }
  /** Prepaid: `amount` drawn and `remaining` after; postpaid: `amount` counted and `consumed` after. */
  | { step: 'commitment'; mode: 'prepaid'; amount: Decimal; remaining: Decimal }
  | { step: 'commitment'; mode: 'postpaid'; amount: Decimal; consumed: Decimal }
  | { step: 'credit'; grant: string; kind: Grant['kind']; amount: Decimal; balance: Decimal };

export interface EventError {
  code: string;
  message: string;
  /** JSON path of the offending field, e.g. "properties.input_tokens". */
  field?: string;
}

export interface RatedEvent {
  transaction_id: string;
  customer_id: string;
  status: 'rated' | 'error';
  error?: EventError;
  currency: string;
  /** Amount charged after every step, in currency units with 9 decimals. */
  amount?: Decimal;
  /** Sum of the charge lines before discounts and credits. */
  subtotal?: Decimal;
  cost?: Decimal;
  margin?: Decimal;
  book_version?: Instant;
  card?: string;
  receipt?: ReceiptStep[];
}

/** A reseller-chain link: a customer and the index (in `rateChain`'s `books`) of the book that rates it. */
export interface ChainLink {
  customer_id: string;
  book: number;
}

/**
 * One event rated along a reseller chain: `chain[0]` is the event's own customer (equal to `event.customer_id`)
 * and its book, `chain[k]` its k-th reseller ancestor and the book that rates it.
 */
export interface ChainEvent {
  event: UsageEvent;
  chain: ChainLink[];
}

/**
 * The chain's result: one RatedEvent per level. When a level refuses the event, `refused_level` names it,
 * `levels[refused_level]` is its own error and every other level is the error `chain_refused`.
 */
export interface ChainRated {
  levels: RatedEvent[];
  refused_level?: number;
}
