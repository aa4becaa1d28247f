// The host's copy of the kernel's memory layout (core-wasm/assembly/layout.ts); conformance tests catch drift.

export const BOOK_MAGIC = 0x31465254;
export const BOOK_HEADER_SIZE = 40;
export const BOOK_PROPERTY_COUNT = 4;
export const BOOK_COUNTER_COUNT = 8;
export const BOOK_POOL_COUNT = 12;
export const BOOK_PRICE_SCHEDULE = 16;
export const BOOK_COST_SCHEDULE = 20;
export const BOOK_WINDOWS = 24;
export const BOOK_ZONES = 28;
export const BOOK_CALENDARS = 32;

export const SCHEDULE_SIZE = 16;
export const CHAIN_ENTRY_SIZE = 8;
export const CARD_SIZE = 32;
export const VARIANT_SIZE = 16;
export const MODIFIER_SIZE = 16;
export const DIMENSION_SIZE = 32;
export const TERM_SIZE = 16;
export const CHARGE_SIZE = 72;
export const CHARGE_MINIMUM = 64;
export const TIER_SIZE = 16;
export const WINDOW_SIZE = 24;
export const CALENDAR_SIZE = 8;
export const RANGE_SIZE = 16;
export const ZONE_SIZE = 8;
export const TRANSITION_SIZE = 16;

export const DIMENSION_KIND = { property: 0, formula: 1, gpu_time: 2, max: 3 } as const;
export const MODEL_CODE = {
  per_unit: 0, package: 1, graduated: 2, volume: 3, request_tiers: 4, flat: 5, dynamic: 6,
} as const;

export const STATE_HEADER_SIZE = 56;
export const STATE_PERIOD_START = 0;
export const STATE_PERIOD_END = 8;
export const STATE_DISCOUNT = 16;
export const STATE_COMMITMENT_MODE = 24;
export const STATE_ON_DEPLETION = 28;
export const STATE_COMMITMENT_REMAINING = 32;
export const STATE_COMMITMENT_CONSUMED = 40;
export const STATE_GRANT_COUNT = 48;
export const STATE_GRANTS = 52;
export const POOL_UNSET = -(1n << 63n);

export const GRANT_SIZE = 48;
export const GRANT_KIND = 0;
export const GRANT_EFFECTIVE = 8;
export const GRANT_EXPIRES = 16;
export const GRANT_BALANCE = 24;
export const GRANT_CARD_COUNT = 32;
export const GRANT_CARDS = 36;
export const GRANT_TYPE_COUNT = 40;
export const GRANT_TYPES = 44;

export const EVENT_HEADER_SIZE = 32;
export const EVENT_TIMESTAMP = 0;
export const EVENT_CUSTOMER = 8;
export const EVENT_PRODUCT = 12;
export const EVENT_COST_PRODUCT = 16;
export const EVENT_SERVICE_TIER = 20;
export const EVENT_OUTCOME = 24;
export const EVENT_TYPE = 28;

export const RESULT_SIZE = 64;
export const RESULT_STATUS = 0;
export const RESULT_DETAIL = 4;
export const RESULT_STEPS_START = 8;
export const RESULT_STEP_COUNT = 12;
export const RESULT_AMOUNT = 16;
export const RESULT_SUBTOTAL = 24;
export const RESULT_NET = 32;
export const RESULT_COST = 40;
export const RESULT_VERSION = 48;
export const RESULT_COST_VERSION = 52;

export const KERNEL_ERRORS = ['', 'no_price_version', 'no_rate_card', 'outside_period', 'negative_quantity', 'overflow', 'credits_exhausted'] as const;

export const STEP_SIZE = 32;
export const STEP = {
  outcome: 1, variant: 2, quantity: 3, modifier: 4, allowance: 5, tier: 6, price: 7, discount: 8, commitment: 9, credit: 10, minimum: 11,
} as const;

export const SERVICE_TIERS = ['standard', 'batch', 'flex', 'priority'] as const;
export const OUTCOMES = ['completed', 'preempted', 'infra_failure', 'user_failure'] as const;
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
