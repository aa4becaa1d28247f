// The kernel's memory layout, written once: every record the host and the wasm share (compiled book, customer
// state, event, result, receipt step) with its fields' offsets and kinds, and the codes stored in them.
// `generate.ts` turns it into assembly/layout.gen.ts (constants and typed load/store accessors for the kernel)
// and src/layout.gen.ts (constants and code tables for the host's compiler, encoders and decoders).

/** How a field is stored: little-endian integers of these widths. */
export type FieldKind = 'u8' | 'u16' | 'i32' | 'i64';

export interface Field {
  name: string;
  at: number;
  kind: FieldKind;
  doc?: string;
}

export interface Struct {
  /** Upper-case prefix of its constants: CHARGE_SIZE, CHARGE_MODEL, ... */
  prefix: string;
  /** camelCase stem of its accessors in the kernel: chargeModel(at), setChargeModel(at, value). */
  stem: string;
  doc: string;
  size: number;
  fields: Field[];
  /** Other names for a field's offset, where a field means different things by kind (e.g. a dimension's `a`). */
  aliases?: Record<string, string>;
  /** Fields the kernel writes (it gets a `set` accessor for them); the host writes through its DataView. */
  kernelWrites?: string[];
}

export interface Enumeration {
  /** Upper-case prefix of its constants: MODEL_PER_UNIT, ... */
  prefix: string;
  doc: string;
  /** The kernel's type for its constants. */
  kind: FieldKind;
  /** Codes by name; a list means codes 0, 1, 2, ... in order. */
  values: readonly string[] | Record<string, number>;
  /** Host name of the { name: code } table, if the host needs one. */
  codes?: string;
  /** Host name of the list of names indexed by code, if the host needs one (codes must then be 0..n-1). */
  names?: string;
}

export interface Constant {
  name: string;
  kind: FieldKind;
  value: number | bigint;
  doc: string;
}

const i32 = (name: string, at: number, doc?: string): Field => ({ name, at, kind: 'i32', doc });
const i64 = (name: string, at: number, doc?: string): Field => ({ name, at, kind: 'i64', doc });

// ---- the compiled book: every offset stored inside it is relative to the book's base --------------------------

export const STRUCTS: Struct[] = [
  {
    prefix: 'BOOK',
    stem: 'book',
    doc: 'Book header, at the book base.',
    size: 40,
    fields: [
      i32('tag', 0, 'BOOK_MAGIC'),
      i32('property_count', 4, 'i64 slots per event record'),
      i32('counter_count', 8),
      i32('pool_count', 12),
      i32('price_schedule', 16, 'offset of the price SCHEDULE'),
      i32('cost_schedule', 20, 'offset of the cost SCHEDULE; 0 = none'),
      i32('windows', 24, 'offset of the WINDOW table'),
      i32('zones', 28, 'offset of the ZONE table'),
      i32('calendars', 32, 'offset of the CALENDAR table'),
    ],
  },
  {
    prefix: 'SCHEDULE',
    stem: 'schedule',
    doc: 'A price or cost schedule: versions, then per product a chain of cards.',
    size: 16,
    fields: [
      i32('version_count', 0),
      i32('versions', 4, 'offset of VERSION_SIZE records (effective_from), ascending'),
      i32('products', 8, 'offset of PRODUCT records, one per card id'),
      i32('pools_included', 12, 'offset of version-major i64 per pool (micro); -1 when not declared'),
    ],
  },
  {
    prefix: 'VERSION',
    stem: 'version',
    doc: 'One version of a schedule.',
    size: 8,
    fields: [i64('effective_from', 0, 'ms since the epoch')],
  },
  {
    prefix: 'PRODUCT',
    stem: 'product',
    doc: 'A card id of a schedule: its chain of CHAIN_ENTRY records.',
    size: 8,
    fields: [i32('chain', 0, 'offset of the chain'), i32('chain_length', 4)],
  },
  {
    prefix: 'CHAIN_ENTRY',
    stem: 'chainEntry',
    doc: 'From this version on, this card (until the next entry).',
    size: 8,
    fields: [
      i32('first_version', 0, 'version index'),
      i32('card', 4, 'offset of the CARD; 0 = absent from the version'),
    ],
  },
  {
    prefix: 'CARD',
    stem: 'card',
    doc: 'A rate card as in force in a range of versions.',
    size: 32,
    fields: [
      i32('charge_count', 0),
      i32('charges', 4, 'offset of CHARGE records'),
      i32('variant_count', 8),
      i32('variants', 12, 'offset of VARIANT records'),
      i32('modifier_count', 16),
      i32('modifiers', 20, 'offset of MODIFIER records'),
      i32('dimensions', 24, 'offset of DIMENSION records'),
    ],
  },
  {
    prefix: 'VARIANT',
    stem: 'variant',
    doc: "Charges that replace the card's own when the condition holds.",
    size: 16,
    fields: [
      i32('window', 0, 'WINDOW index; -1 = any'),
      i32('service_tier', 4, 'SERVICE_TIER code; -1 = any'),
      i32('charge_count', 8),
      i32('charges', 12, 'offset of CHARGE records'),
    ],
  },
  {
    prefix: 'MODIFIER',
    stem: 'modifier',
    doc: 'A rate multiplier of the card, when the condition holds.',
    size: 16,
    fields: [
      i32('window', 0, 'WINDOW index; -1 = any'),
      i32('service_tier', 4, 'SERVICE_TIER code; -1 = any'),
      i64('multiplier', 8, '1e-9'),
    ],
  },
  {
    prefix: 'DIMENSION',
    stem: 'dimension',
    doc: 'How a quantity is composed from event properties; a-d mean what `kind` says.',
    size: 32,
    fields: [
      i32('kind', 0, 'DIMENSION_KIND code'),
      i32('name', 4, "index in the book's names"),
      i32('a', 8),
      i32('b', 12),
      i64('c', 16),
      i64('d', 24),
    ],
    aliases: {
      property_slot: 'a', // property: the event slot
      term_count: 'a', // formula, max
      terms: 'b', // formula, max: offset of TERM records
      count_slot: 'a', // gpu_time
      duration_slot: 'b', // gpu_time
      minimum_seconds: 'c', // gpu_time (micro)
      increment_seconds: 'd', // gpu_time (micro)
    },
  },
  {
    prefix: 'TERM',
    stem: 'term',
    doc: 'A formula or max term.',
    size: 16,
    fields: [i32('slot', 0, 'event property slot'), i64('coefficient', 8, 'integer; unused by max')],
  },
  {
    prefix: 'CHARGE',
    stem: 'charge',
    doc: 'One charge line of a card.',
    size: 72,
    fields: [
      i32('model', 0, 'MODEL code'),
      i32('dimension', 4, "index in the card's dimensions; -1 for flat and dynamic"),
      i32('pool', 8, 'allowance pool; -1 = none'),
      i32('counter', 12, 'tier counter; -1 = none'),
      i64('per', 16, 'micro-units; package: size'),
      i64('rate', 24, 'nano; package amount, flat amount, dynamic markup (1e-9)'),
      i32('tier_count', 32),
      i32('tiers', 36, 'offset of TIER records'),
      i32('aux', 40, 'request_tiers: basis dimension; dynamic: amount property slot'),
      i32('flags', 44, "CHARGE_FLAG bits, from the model's compiler"),
      // rate / per reduced by their greatest common divisor: the same exact ratio in smaller numbers, so the
      // product usually fits 64 bits and skips the 128-bit division.
      i64('reduced_rate', 48),
      i64('reduced_per', 56),
      i64('minimum', 64, 'per-call minimum quantity (micro); 0 = none'),
    ],
  },
  {
    prefix: 'TIER',
    stem: 'tier',
    doc: 'A graduated, volume or request tier.',
    size: 16,
    fields: [i64('bound', 0, 'up_to or above (micro); the last up_to is i64 max'), i64('rate', 8, 'nano')],
  },
  {
    prefix: 'WINDOW',
    stem: 'window',
    doc: 'A time-of-use window.',
    size: 24,
    fields: [
      i32('zone', 0, 'ZONE index'),
      i32('weekdays', 4, 'mask, bit WEEKDAY code'),
      i32('start', 8, 'local second of the day'),
      i32('end', 12, 'local second of the day, exclusive; <= start wraps midnight'),
      i32('except', 16, 'CALENDAR index; -1 = none'),
      i32('only', 20, 'CALENDAR index; -1 = none'),
    ],
  },
  {
    prefix: 'CALENDAR',
    stem: 'calendar',
    doc: 'Dated calendar: the instant ranges of its local dates.',
    size: 8,
    fields: [i32('range_count', 0), i32('ranges', 4, 'offset of RANGE records')],
  },
  {
    prefix: 'RANGE',
    stem: 'range',
    doc: 'Instants [start, end), sorted and disjoint within a calendar.',
    size: 16,
    fields: [i64('start', 0, 'ms'), i64('end', 8, 'ms, exclusive')],
  },
  {
    prefix: 'ZONE',
    stem: 'zone',
    doc: 'A time zone: its UTC-offset transitions.',
    size: 8,
    fields: [i32('transition_count', 0), i32('transitions', 4, 'offset of TRANSITION records')],
  },
  {
    prefix: 'TRANSITION',
    stem: 'transition',
    doc: 'From this instant on, this offset; the first applies before all.',
    size: 16,
    fields: [i64('from', 0, 'ms'), i64('offset', 8, 'seconds')],
  },

  // ---- customer state: a table of i32 block offsets at the state base, then the blocks (offsets relative to it)

  {
    prefix: 'STATE',
    stem: 'state',
    doc: "A customer's block header; i64 per counter then per pool follow it.",
    size: 56,
    fields: [
      i64('period_start', 0, 'ms'),
      i64('period_end', 8, 'ms, exclusive'),
      i64('discount', 16, 'fraction in 1e-9'),
      i32('commitment_mode', 24, 'COMMITMENT code'),
      i32('on_depletion', 28, 'ON_DEPLETION code'),
      i64('commitment_remaining', 32, 'nano'),
      i64('commitment_consumed', 40, 'nano'),
      i32('grant_count', 48),
      i32('grants', 52, 'offset of GRANT records, relative to the state base'),
    ],
    aliases: { header_size: 'HEADER_END', counters: 'HEADER_END' },
  },
  {
    prefix: 'GRANT',
    stem: 'grant',
    doc: 'A credit grant, in drawing order (the host orders them).',
    size: 48,
    fields: [
      i32('kind', 0, 'GRANT_KIND code'),
      i64('effective', 8, 'ms'),
      i64('expires', 16, 'ms, exclusive'),
      i64('balance', 24, 'nano'),
      i32('card_count', 32, '-1 = any card'),
      i32('cards', 36, 'offset of i32 product ids, relative to the state base'),
      i32('type_count', 40, '-1 = any event type'),
      i32('types', 44, 'offset of i32 event type ids, relative to the state base'),
    ],
  },

  // ---- events in, results and receipt steps out ----------------------------------------------------------------

  {
    prefix: 'EVENT',
    stem: 'event',
    doc: 'Event record header; one i64 per book property follows it.',
    size: 32,
    fields: [
      i64('timestamp', 0, 'ms'),
      i32('customer', 8, "index in the state's block table"),
      i32('product', 12, 'price card id index'),
      i32('cost_product', 16, 'cost card id index; -1 = no cost card'),
      i32('service_tier', 20, 'SERVICE_TIER code'),
      i32('outcome', 24, 'OUTCOME code'),
      i32('type', 28, 'event type id'),
    ],
    aliases: { header_size: 'HEADER_END', properties: 'HEADER_END' },
  },
  {
    prefix: 'RESULT',
    stem: 'result',
    doc: "The kernel's result for one event.",
    size: 64,
    fields: [
      i32('status', 0, 'STATUS code'),
      i32('detail', 4, "negative_quantity: the dimension's name index; chain_refused: the refusing level"),
      i32('steps_start', 8, 'index of its first STEP'),
      i32('step_count', 12),
      i64('amount', 16, 'nano'),
      i64('subtotal', 24, 'nano'),
      i64('net', 32, 'nano'),
      i64('cost', 40, 'nano; NO_COST when no cost card'),
      i32('version', 48, 'price version index'),
      i32('cost_version', 52, 'cost version index; -1 = none'),
    ],
    kernelWrites: [
      'status',
      'detail',
      'steps_start',
      'step_count',
      'amount',
      'subtotal',
      'net',
      'cost',
      'version',
      'cost_version',
    ],
  },
  {
    prefix: 'CHAIN',
    stem: 'chain',
    doc: 'One event rated along a reseller chain by `rateChain`: its LEVEL records, rated in one pass, all or none.',
    size: 24,
    fields: [
      i32('level_count', 0, 'LEVEL records the kernel rates'),
      i32('levels', 4, 'absolute address of its first LEVEL record'),
      i32('steps', 8, 'most receipt steps its levels can write'),
      i32('host_refused', 12, '1 = the level after the last failed in the host (encoding): refuse the chain there'),
      i32('refused', 16, 'written: the level that refused the chain, or -1 when every level was rated'),
    ],
    kernelWrites: ['refused'],
  },
  {
    prefix: 'LEVEL',
    stem: 'level',
    doc: 'One level of a CHAIN: its book, its state table, its event (encoded for that book) and its result slot.',
    size: 16,
    fields: [
      i32('book', 0, 'absolute address of the compiled book'),
      i32('states', 4, 'absolute address of the state table (block table, then blocks) for that book'),
      i32('event', 8, 'absolute address of the EVENT record, encoded for that book'),
      i32('result', 12, 'absolute address of its RESULT'),
    ],
  },
  {
    prefix: 'STEP',
    stem: 'step',
    doc: 'A receipt step; `ref`, a, b, c mean what STEP_KIND says.',
    size: 32,
    fields: [
      { name: 'kind', at: 0, kind: 'u8', doc: 'STEP_KIND code' },
      { name: 'charge', at: 2, kind: 'u16', doc: 'charge index' },
      i32('ref', 4),
      i64('a', 8),
      i64('b', 16),
      i64('c', 24),
    ],
  },
];

export const ENUMS: Enumeration[] = [
  {
    prefix: 'MODEL',
    doc: 'CHARGE.model: the price models (one file per layer, see core-wasm/README.md).',
    kind: 'i32',
    values: ['per_unit', 'package', 'graduated', 'volume', 'request_tiers', 'flat', 'dynamic'],
    codes: 'MODEL_CODE',
    names: 'MODEL_NAMES',
  },
  {
    prefix: 'CHARGE_FLAG',
    doc: 'CHARGE.flags bits: what the kernel does around the model itself.',
    kind: 'i32',
    values: {
      measured: 1, // priced on a dimension's quantity: quantity, minimum and allowance steps
      modifiable: 2, // modifiers multiply its rates (modifier steps)
    },
  },
  {
    prefix: 'DIMENSION_KIND',
    doc: 'DIMENSION.kind.',
    kind: 'i32',
    values: ['property', 'formula', 'gpu_time', 'max'],
  },
  {
    prefix: 'SERVICE_TIER',
    doc: 'EVENT.service_tier, VARIANT and MODIFIER conditions.',
    kind: 'i32',
    values: ['standard', 'batch', 'flex', 'priority'],
    names: 'SERVICE_TIERS',
  },
  {
    prefix: 'OUTCOME',
    doc: 'EVENT.outcome.',
    kind: 'i32',
    values: ['completed', 'preempted', 'infra_failure', 'user_failure'],
    names: 'OUTCOMES',
  },
  {
    prefix: 'WEEKDAY',
    doc: 'Bit index in WINDOW.weekdays (1970-01-01 was a Thursday, code 3).',
    kind: 'i32',
    values: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
    names: 'WEEKDAYS',
  },
  {
    prefix: 'COMMITMENT',
    doc: 'STATE.commitment_mode; also the `ref` of a commitment step.',
    kind: 'i32',
    values: ['none', 'prepaid', 'postpaid'],
    codes: 'COMMITMENT_CODE',
  },
  {
    prefix: 'ON_DEPLETION',
    doc: 'STATE.on_depletion.',
    kind: 'i32',
    values: ['overage', 'block'],
    codes: 'ON_DEPLETION_CODE',
  },
  {
    prefix: 'GRANT_KIND',
    doc: 'GRANT.kind (promotional credits are drawn first).',
    kind: 'i32',
    values: ['promotional', 'prepaid'],
    codes: 'GRANT_KIND_CODE',
  },
  {
    prefix: 'STATUS',
    doc: 'RESULT.status: rated, or the event error the kernel found.',
    kind: 'i32',
    values: [
      'rated',
      'no_price_version',
      'no_rate_card',
      'outside_period',
      'negative_quantity',
      'overflow',
      'credits_exhausted',
      'chain_refused', // rateChain: another level of the chain refused the event (RESULT.detail = that level)
    ],
    names: 'STATUS_NAMES',
  },
  {
    prefix: 'STEP_KIND',
    doc: 'STEP.kind, with what `ref`, a, b and c hold.',
    kind: 'u8',
    values: {
      outcome: 1, // ref = OUTCOME code
      variant: 2, // ref = variant index
      quantity: 3, // ref = dimension name, a = quantity
      modifier: 4, // ref = modifier index in the card, a = multiplier
      allowance: 5, // ref = pool, a = covered, b = remaining
      tier: 6, // ref = tier, a = quantity, b = rate
      price: 7, // ref = MODEL code, a = quantity, b = rate, c = amount
      discount: 8, // a = fraction (1e-9), b = amount
      commitment: 9, // ref = COMMITMENT code, a = amount, b = remaining or consumed
      credit: 10, // ref = grant index, a = amount, b = balance
      minimum: 11, // a = minimum, b = quantity after it
    },
    codes: 'STEP',
  },
];

export const CONSTANTS: Constant[] = [
  { name: 'BOOK_MAGIC', kind: 'i32', value: 0x31465254, doc: '"TRF1"' },
  { name: 'POOL_UNSET', kind: 'i64', value: -(1n << 63n), doc: 'an allowance pool absent from the state' },
  { name: 'NO_COST', kind: 'i64', value: -(1n << 63n), doc: 'RESULT.cost when the event has no cost card' },
];
