// Byte layout of the compiled book, the state, events, results and receipt steps in linear memory.
// core-wasm/src/layout.ts mirrors these numbers for the host; the conformance tests fail if they drift.

// Book header (offsets from the book's base; every offset stored inside the book is relative to that base).
export const BOOK_MAGIC: i32 = 0x31465254; // "TRF1"
export const BOOK_PROPERTY_COUNT: i32 = 4;
export const BOOK_COUNTER_COUNT: i32 = 8;
export const BOOK_POOL_COUNT: i32 = 12;
export const BOOK_PRICE_SCHEDULE: i32 = 16;
export const BOOK_COST_SCHEDULE: i32 = 20;
export const BOOK_WINDOWS: i32 = 24;
export const BOOK_ZONES: i32 = 28;
export const BOOK_CALENDARS: i32 = 32;

// Schedule: versions, then per product a chain of (first version, card).
export const SCHEDULE_VERSION_COUNT: i32 = 0;
export const SCHEDULE_VERSIONS: i32 = 4; // i64 effective_from (ms) each
export const SCHEDULE_PRODUCTS: i32 = 8; // (chain offset i32, chain length i32) each
export const SCHEDULE_POOLS_INCLUDED: i32 = 12; // version-major i64 per pool; -1 when not declared
export const CHAIN_ENTRY_SIZE: i32 = 8; // first version index i32, card offset i32 (0 = absent)

// Card.
export const CARD_CHARGE_COUNT: i32 = 0;
export const CARD_CHARGES: i32 = 4;
export const CARD_VARIANT_COUNT: i32 = 8;
export const CARD_VARIANTS: i32 = 12;
export const CARD_MODIFIER_COUNT: i32 = 16;
export const CARD_MODIFIERS: i32 = 20;
export const CARD_DIMENSIONS: i32 = 24;

export const VARIANT_SIZE: i32 = 16; // window i32, service tier i32, charge count i32, charges i32
export const MODIFIER_SIZE: i32 = 16; // window i32, service tier i32, multiplier i64

export const DIMENSION_SIZE: i32 = 32; // kind i32, name i32, a i32, b i32, c i64, d i64
export const DIMENSION_PROPERTY: i32 = 0; // a = property slot
export const DIMENSION_FORMULA: i32 = 1; // a = term count, b = terms offset (slot i32, pad, coefficient i64)
export const DIMENSION_GPU_TIME: i32 = 2; // a = count slot, b = duration slot, c = minimum, d = increment
export const DIMENSION_MAX: i32 = 3; // a = term count, b = terms offset (as a formula; coefficients unused)
export const TERM_SIZE: i32 = 16;

export const CHARGE_SIZE: i32 = 72;
export const CHARGE_MODEL: i32 = 0;
export const CHARGE_DIMENSION: i32 = 4;
export const CHARGE_POOL: i32 = 8;
export const CHARGE_COUNTER: i32 = 12;
export const CHARGE_PER: i32 = 16; // micro-units; package size
export const CHARGE_RATE: i32 = 24; // nano; package amount, flat amount, dynamic markup (1e-9)
export const CHARGE_TIER_COUNT: i32 = 32;
export const CHARGE_TIERS: i32 = 36;
export const CHARGE_AUX: i32 = 40; // request tiers: basis dimension; dynamic: amount property slot
// rate / per reduced by their greatest common divisor: the same exact ratio in smaller numbers, so the
// product usually fits 64 bits and skips the 128-bit division.
export const CHARGE_REDUCED_RATE: i32 = 48;
export const CHARGE_REDUCED_PER: i32 = 56;
export const CHARGE_MINIMUM: i32 = 64; // per-call minimum quantity (micro); 0 = none
export const TIER_SIZE: i32 = 16; // bound i64 (up_to or above, micro), rate i64

export const MODEL_PER_UNIT: i32 = 0;
export const MODEL_PACKAGE: i32 = 1;
export const MODEL_GRADUATED: i32 = 2;
export const MODEL_VOLUME: i32 = 3;
export const MODEL_REQUEST_TIERS: i32 = 4;
export const MODEL_FLAT: i32 = 5;
export const MODEL_DYNAMIC: i32 = 6;

// zone i32, weekday mask i32 (bit 0 = Monday), start second i32, end second i32, except calendar i32, only calendar
// i32 (-1 = none)
export const WINDOW_SIZE: i32 = 24;
export const CALENDAR_SIZE: i32 = 8; // range count i32, ranges offset i32
export const RANGE_SIZE: i32 = 16; // start instant (ms) i64, end instant (ms, exclusive) i64; sorted, disjoint
export const ZONE_SIZE: i32 = 8; // transition count i32, transitions offset i32
export const TRANSITION_SIZE: i32 = 16; // from instant (ms) i64, offset (s) i64; the first applies before all

// State: per customer block offsets at the state base, relative to it.
export const STATE_PERIOD_START: i32 = 0;
export const STATE_PERIOD_END: i32 = 8;
export const STATE_DISCOUNT: i32 = 16; // fraction in 1e-9
export const STATE_COMMITMENT_MODE: i32 = 24; // 0 none, 1 prepaid, 2 postpaid
export const STATE_ON_DEPLETION: i32 = 28; // 0 overage, 1 block
export const STATE_COMMITMENT_REMAINING: i32 = 32;
export const STATE_COMMITMENT_CONSUMED: i32 = 40;
export const STATE_GRANT_COUNT: i32 = 48;
export const STATE_GRANTS: i32 = 52; // relative to the state base
export const STATE_COUNTERS: i32 = 56; // i64 per counter, then i64 per pool
export const POOL_UNSET: i64 = i64.MIN_VALUE;

export const GRANT_SIZE: i32 = 48;
export const GRANT_KIND: i32 = 0; // 0 promotional, 1 prepaid (the host orders grants for drawing)
export const GRANT_EFFECTIVE: i32 = 8;
export const GRANT_EXPIRES: i32 = 16;
export const GRANT_BALANCE: i32 = 24;
export const GRANT_CARD_COUNT: i32 = 32; // -1 = any card
export const GRANT_CARDS: i32 = 36; // product ids (i32), relative to the state base
export const GRANT_TYPE_COUNT: i32 = 40; // -1 = any event type
export const GRANT_TYPES: i32 = 44;

// Event record: fixed header then one i64 per book property.
export const EVENT_TIMESTAMP: i32 = 0;
export const EVENT_CUSTOMER: i32 = 8;
export const EVENT_PRODUCT: i32 = 12;
export const EVENT_COST_PRODUCT: i32 = 16; // -1 = no cost card
export const EVENT_SERVICE_TIER: i32 = 20;
export const EVENT_OUTCOME: i32 = 24;
export const EVENT_TYPE: i32 = 28;
export const EVENT_PROPERTIES: i32 = 32;

export const OUTCOME_COMPLETED: i32 = 0;
export const OUTCOME_INFRA_FAILURE: i32 = 2;

// Result record per event.
export const RESULT_SIZE: i32 = 64;
export const RESULT_STATUS: i32 = 0;
export const RESULT_DETAIL: i32 = 4;
export const RESULT_STEPS_START: i32 = 8;
export const RESULT_STEP_COUNT: i32 = 12;
export const RESULT_AMOUNT: i32 = 16;
export const RESULT_SUBTOTAL: i32 = 24;
export const RESULT_NET: i32 = 32;
export const RESULT_COST: i32 = 40; // i64.MIN_VALUE when no cost card
export const RESULT_VERSION: i32 = 48;
export const RESULT_COST_VERSION: i32 = 52;

export const STATUS_RATED: i32 = 0;
export const ERROR_NO_PRICE_VERSION: i32 = 1;
export const ERROR_NO_RATE_CARD: i32 = 2;
export const ERROR_OUTSIDE_PERIOD: i32 = 3;
export const ERROR_NEGATIVE_QUANTITY: i32 = 4; // detail = dimension name
export const ERROR_OVERFLOW: i32 = 5;
export const ERROR_CREDITS_EXHAUSTED: i32 = 6;

// Receipt step record.
export const STEP_SIZE: i32 = 32; // kind u8, pad u8, charge u16, ref i32, a i64, b i64, c i64
export const STEP_OUTCOME: u8 = 1; // ref = outcome
export const STEP_VARIANT: u8 = 2; // ref = variant index
export const STEP_QUANTITY: u8 = 3; // ref = dimension name, a = quantity
export const STEP_MODIFIER: u8 = 4; // ref = modifier index in the card, a = multiplier
export const STEP_ALLOWANCE: u8 = 5; // ref = pool, a = covered, b = remaining
export const STEP_TIER: u8 = 6; // ref = tier, a = quantity, b = rate
export const STEP_PRICE: u8 = 7; // ref = model, a = quantity, b = rate, c = amount
export const STEP_DISCOUNT: u8 = 8; // a = fraction (1e-9), b = amount
export const STEP_COMMITMENT: u8 = 9; // ref = mode, a = amount, b = remaining or consumed
export const STEP_CREDIT: u8 = 10; // ref = grant index, a = amount, b = balance
export const STEP_MINIMUM: u8 = 11; // a = minimum, b = quantity after it
