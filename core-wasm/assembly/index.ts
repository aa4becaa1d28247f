// The rating kernel: (compiled book, customer states, encoded events) -> (results, receipt steps, new states).
// Semantics: core-wasm/README.md. Byte layout: ./layout.ts. No imports, no clock, no floats, no allocation.
import {
  accumulatorAddProduct, accumulatorClear, accumulatorDivideRound, addChecked, ceilDiv, clearOverflow,
  floorDiv, mulChecked, mulDivRound, mulDivRoundSigned, overflowed, subChecked, setOverflow,
} from './math';
import * as L from './layout';

const NANO: i64 = 1_000_000_000;
const MICRO: i64 = 1_000_000;

// Static scratch: the undo log of the current event (address i32, pad, old value i64) and the modifiers
// that hold for it. Sized for the host's limits (1,000 grants per customer, 64 charges, 64 modifiers).
const UNDO_CAPACITY: i32 = 4096;
const undoLog = memory.data(UNDO_CAPACITY * 16);
let undoLength: i32 = 0;
const MODIFIER_CAPACITY: i32 = 64;
const heldModifiers = memory.data(MODIFIER_CAPACITY * 4);
let heldModifierCount: i32 = 0;

// Per-call context, kept in globals so the hot functions take few arguments.
let book: usize = 0;
let stateBase: usize = 0;
let customer: usize = 0; // this event's state block
let event: usize = 0;
let stepCursor: usize = 0;
let counterCount: i32 = 0;
let failure: i32 = 0; // first error of the current event
let failureDetail: i32 = 0;

/** Where the host may start placing data. */
export function heapBase(): usize {
  return __heap_base;
}

let stepsWritten: i32 = 0;
/** Steps written by the last `rate` call. */
export function lastStepCount(): i32 {
  return stepsWritten;
}

/**
 * Rates `count` events into `results`, writing receipt steps from `steps`. Stops early, before an event,
 * when fewer than `stepsPerEvent` steps of the `stepCapacity` remain; returns how many events were rated.
 */
export function rate(
  bookBase: usize, states: usize, events: usize, count: i32, results: usize,
  steps: usize, stepCapacity: i32, stepsPerEvent: i32,
): i32 {
  book = bookBase;
  stateBase = states;
  counterCount = load<i32>(book + L.BOOK_COUNTER_COUNT);
  const stride = <usize>(L.EVENT_PROPERTIES + 8 * load<i32>(book + L.BOOK_PROPERTY_COUNT));
  const stepsEnd = steps + <usize>stepCapacity * L.STEP_SIZE;
  stepCursor = steps;
  let index: i32 = 0;
  for (; index < count; index++) {
    if (<usize>(stepsEnd - stepCursor) < <usize>stepsPerEvent * L.STEP_SIZE) break;
    event = events + <usize>index * stride;
    rateEvent(results + <usize>index * L.RESULT_SIZE, steps);
  }
  stepsWritten = <i32>((stepCursor - steps) / L.STEP_SIZE);
  return index;
}

function rateEvent(result: usize, steps: usize): void {
  const firstStep = stepCursor;
  undoLength = 0;
  failure = L.STATUS_RATED;
  failureDetail = 0;
  clearOverflow();
  customer = stateBase + <usize>load<i32>(stateBase + (<usize>load<i32>(event + L.EVENT_CUSTOMER) << 2));
  const timestamp = load<i64>(event + L.EVENT_TIMESTAMP);

  let amount: i64 = 0;
  let subtotal: i64 = 0;
  let net: i64 = 0;
  let cost: i64 = i64.MIN_VALUE;
  let priceVersion: i32 = -1;
  let costVersion: i32 = -1;

  const infrastructureFailure = load<i32>(event + L.EVENT_OUTCOME) == L.OUTCOME_INFRA_FAILURE;
  const priceSchedule = book + <usize>load<i32>(book + L.BOOK_PRICE_SCHEDULE);
  priceVersion = findVersion(priceSchedule, timestamp);
  const card = priceVersion < 0 ? <usize>0 : findCard(priceSchedule, load<i32>(event + L.EVENT_PRODUCT), priceVersion);
  if (priceVersion < 0) {
    failure = L.ERROR_NO_PRICE_VERSION;
  } else if (card == 0) {
    failure = L.ERROR_NO_RATE_CARD;
  } else if (timestamp < load<i64>(customer + L.STATE_PERIOD_START) || timestamp >= load<i64>(customer + L.STATE_PERIOD_END)) {
    failure = L.ERROR_OUTSIDE_PERIOD;
  } else if (infrastructureFailure) {
    writeStep(L.STEP_OUTCOME, 0, L.OUTCOME_INFRA_FAILURE, 0, 0, 0);
  } else {
    subtotal = rateCard(card, priceSchedule, priceVersion, timestamp, true);
  }
  if (failure == L.STATUS_RATED && overflowed) failure = L.ERROR_OVERFLOW;

  // The cost schedule is rated after the price lines and before the discount (README, Cost).
  const costOffset = load<i32>(book + L.BOOK_COST_SCHEDULE);
  const costProduct = load<i32>(event + L.EVENT_COST_PRODUCT);
  if (failure == L.STATUS_RATED && costOffset != 0 && costProduct >= 0) {
    const costSchedule = book + <usize>costOffset;
    costVersion = findVersion(costSchedule, timestamp);
    const costCard = costVersion < 0 ? <usize>0 : findCard(costSchedule, costProduct, costVersion);
    if (costCard != 0) cost = rateCard(costCard, costSchedule, costVersion, timestamp, false);
    if (failure == L.STATUS_RATED && overflowed) failure = L.ERROR_OVERFLOW;
  }

  if (failure == L.STATUS_RATED && !infrastructureFailure) {
    net = applyDiscount(subtotal);
    amount = settle(net, timestamp);
    if (cost != i64.MIN_VALUE) subChecked(net, cost); // the margin must fit too
  }
  if (failure == L.STATUS_RATED && overflowed) failure = L.ERROR_OVERFLOW;
  if (failure == L.STATUS_RATED && amount > 0 && load<i32>(customer + L.STATE_ON_DEPLETION) == 1) {
    failure = L.ERROR_CREDITS_EXHAUSTED;
  }
  if (failure != L.STATUS_RATED) {
    rollback();
    stepCursor = firstStep;
    amount = 0;
    subtotal = 0;
    net = 0;
    cost = i64.MIN_VALUE;
  }
  store<i32>(result + L.RESULT_STATUS, failure);
  store<i32>(result + L.RESULT_DETAIL, failureDetail);
  store<i32>(result + L.RESULT_STEPS_START, <i32>((firstStep - steps) / L.STEP_SIZE));
  store<i32>(result + L.RESULT_STEP_COUNT, <i32>((stepCursor - firstStep) / L.STEP_SIZE));
  store<i64>(result + L.RESULT_AMOUNT, amount);
  store<i64>(result + L.RESULT_SUBTOTAL, subtotal);
  store<i64>(result + L.RESULT_NET, net);
  store<i64>(result + L.RESULT_COST, cost);
  store<i32>(result + L.RESULT_VERSION, priceVersion);
  store<i32>(result + L.RESULT_COST_VERSION, costVersion);
}

// ---- versions and cards -------------------------------------------------------------------------------

/** Index of the last version whose effective_from <= timestamp, or -1. */
@inline
function findVersion(schedule: usize, timestamp: i64): i32 {
  const versions = book + <usize>load<i32>(schedule + L.SCHEDULE_VERSIONS);
  let low: i32 = 0;
  let high: i32 = load<i32>(schedule + L.SCHEDULE_VERSION_COUNT);
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (load<i64>(versions + (<usize>middle << 3)) <= timestamp) low = middle + 1;
    else high = middle;
  }
  return low - 1;
}

/** The card of `product` in force at `version`, as an absolute address, or 0. */
@inline
function findCard(schedule: usize, product: i32, version: i32): usize {
  const entry = book + <usize>load<i32>(schedule + L.SCHEDULE_PRODUCTS) + (<usize>product << 3);
  const chain = book + <usize>load<i32>(entry);
  for (let link = load<i32>(entry + 4) - 1; link >= 0; link--) {
    const at = chain + <usize>link * L.CHAIN_ENTRY_SIZE;
    if (load<i32>(at) <= version) {
      const offset = load<i32>(at + 4);
      return offset == 0 ? 0 : book + <usize>offset;
    }
  }
  return 0;
}

// ---- conditions -----------------------------------------------------------------------------------------

function inWindow(window: i32, timestamp: i64): bool {
  const record = book + <usize>load<i32>(book + L.BOOK_WINDOWS) + <usize>window * L.WINDOW_SIZE;
  const zone = book + <usize>load<i32>(book + L.BOOK_ZONES) + <usize>load<i32>(record) * L.ZONE_SIZE;
  const local = floorDiv(timestamp, 1000) + zoneOffset(zone, timestamp);
  const day = floorDiv(local, 86400);
  const second = <i32>(local - day * 86400);
  const weekday = <i32>((day + 3) % 7 + 7) % 7; // 1970-01-01 was a Thursday; 0 = Monday
  const mask = load<i32>(record + 4);
  const start = load<i32>(record + 8);
  const end = load<i32>(record + 12);
  const today = (mask >> weekday) & 1;
  let holds: bool;
  if (start < end) holds = today == 1 && second >= start && second < end;
  else {
    const yesterday = (mask >> ((weekday + 6) % 7)) & 1;
    holds = (today == 1 && second >= start) || (yesterday == 1 && second < end);
  }
  if (!holds) return false;
  // Dated calendars, compiled by the host into instant ranges: `except` removes its dates, `only` keeps just its dates.
  const except = load<i32>(record + 16);
  if (except >= 0 && onCalendar(except, timestamp)) return false;
  const only = load<i32>(record + 20);
  return only < 0 || onCalendar(only, timestamp);
}

/** Whether the instant falls in one of the calendar's [start, end) ranges (sorted and disjoint). */
function onCalendar(calendar: i32, timestamp: i64): bool {
  const record = book + <usize>load<i32>(book + L.BOOK_CALENDARS) + <usize>calendar * L.CALENDAR_SIZE;
  const ranges = book + <usize>load<i32>(record + 4);
  // The last range whose start <= timestamp.
  let low: i32 = 0;
  let high: i32 = load<i32>(record);
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (load<i64>(ranges + <usize>middle * L.RANGE_SIZE) <= timestamp) low = middle + 1;
    else high = middle;
  }
  return low > 0 && timestamp < load<i64>(ranges + <usize>(low - 1) * L.RANGE_SIZE + 8);
}

/** UTC offset in seconds in force at `timestamp`. */
function zoneOffset(zone: usize, timestamp: i64): i64 {
  const transitions = book + <usize>load<i32>(zone + 4);
  let low: i32 = 1;
  let high: i32 = load<i32>(zone);
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (load<i64>(transitions + <usize>middle * L.TRANSITION_SIZE) <= timestamp) low = middle + 1;
    else high = middle;
  }
  return load<i64>(transitions + <usize>(low - 1) * L.TRANSITION_SIZE + 8);
}

@inline
function conditionHolds(window: i32, tier: i32, timestamp: i64): bool {
  if (tier >= 0 && tier != load<i32>(event + L.EVENT_SERVICE_TIER)) return false;
  return window < 0 || inWindow(window, timestamp);
}

// ---- one card -------------------------------------------------------------------------------------------

/** Sum of the card's charge lines for this event; records steps when `recording` (the price card). */
function rateCard(card: usize, schedule: usize, version: i32, timestamp: i64, recording: bool): i64 {
  let chargeCount = load<i32>(card + L.CARD_CHARGE_COUNT);
  let charges = book + <usize>load<i32>(card + L.CARD_CHARGES);
  const variantCount = load<i32>(card + L.CARD_VARIANT_COUNT);
  if (variantCount > 0) {
    const variants = book + <usize>load<i32>(card + L.CARD_VARIANTS);
    for (let v = variantCount - 1; v >= 0; v--) {
      const variant = variants + <usize>v * L.VARIANT_SIZE;
      if (conditionHolds(load<i32>(variant), load<i32>(variant + 4), timestamp)) {
        chargeCount = load<i32>(variant + 8);
        charges = book + <usize>load<i32>(variant + 12);
        if (recording) writeStep(L.STEP_VARIANT, 0, v, 0, 0, 0);
        break;
      }
    }
  }

  heldModifierCount = 0;
  const modifierCount = load<i32>(card + L.CARD_MODIFIER_COUNT);
  const modifiers = book + <usize>load<i32>(card + L.CARD_MODIFIERS);
  for (let m = 0; m < modifierCount; m++) {
    const modifier = modifiers + <usize>m * L.MODIFIER_SIZE;
    if (conditionHolds(load<i32>(modifier), load<i32>(modifier + 4), timestamp)) {
      store<i32>(heldModifiers + (<usize>heldModifierCount << 2), m);
      heldModifierCount++;
    }
  }

  let subtotal: i64 = 0;
  for (let c = 0; c < chargeCount; c++) {
    const line = rateCharge(card, schedule, version, charges + <usize>c * L.CHARGE_SIZE, c, recording);
    if (failure == L.STATUS_RATED && overflowed) failure = L.ERROR_OVERFLOW; // the first failure wins
    if (failure != L.STATUS_RATED) return 0;
    subtotal = addChecked(subtotal, line);
  }
  return subtotal;
}

/** Applies the held modifiers to a rate or amount, in book order (stage R1). */
function modifiedRate(card: usize, rate: i64): i64 {
  if (heldModifierCount == 0) return rate;
  const modifiers = book + <usize>load<i32>(card + L.CARD_MODIFIERS);
  for (let h = 0; h < heldModifierCount; h++) {
    const m = load<i32>(heldModifiers + (<usize>h << 2));
    rate = mulDivRound(rate, load<i64>(modifiers + <usize>m * L.MODIFIER_SIZE + 8), NANO);
  }
  return rate;
}

function writeModifierSteps(card: usize, index: i32): void {
  const modifiers = book + <usize>load<i32>(card + L.CARD_MODIFIERS);
  for (let h = 0; h < heldModifierCount; h++) {
    const m = load<i32>(heldModifiers + (<usize>h << 2));
    writeStep(L.STEP_MODIFIER, index, m, load<i64>(modifiers + <usize>m * L.MODIFIER_SIZE + 8), 0, 0);
  }
}

@inline
function rateCharge(card: usize, schedule: usize, version: i32, charge: usize, index: i32, recording: bool): i64 {
  const model = load<i32>(charge + L.CHARGE_MODEL);
  if (model == L.MODEL_FLAT || model == L.MODEL_DYNAMIC) return rateFixed(card, charge, model, index, recording);

  const dimension = load<i32>(charge + L.CHARGE_DIMENSION);
  let quantity = dimensionQuantity(card, dimension);
  if (failure != L.STATUS_RATED) return 0;
  if (recording) writeStep(L.STEP_QUANTITY, index, dimensionName(card, dimension), quantity, 0, 0);
  // A per-call minimum raises a quantity above 0 to it; a call that used nothing pays nothing.
  const minimum = load<i64>(charge + L.CHARGE_MINIMUM);
  if (quantity > 0 && quantity < minimum) {
    quantity = minimum;
    if (recording) writeStep(L.STEP_MINIMUM, index, 0, minimum, quantity, 0);
  }
  if (recording) writeModifierSteps(card, index);

  const pool = load<i32>(charge + L.CHARGE_POOL);
  if (pool >= 0 && recording) quantity = drawAllowance(schedule, version, pool, quantity, index);

  const per = load<i64>(charge + L.CHARGE_PER);
  let rate: i64 = 0;
  let amount: i64 = 0;
  if (model == L.MODEL_PER_UNIT) {
    if (heldModifierCount == 0) {
      rate = load<i64>(charge + L.CHARGE_RATE);
      amount = mulDivRound(quantity, load<i64>(charge + L.CHARGE_REDUCED_RATE), load<i64>(charge + L.CHARGE_REDUCED_PER));
    } else {
      rate = modifiedRate(card, load<i64>(charge + L.CHARGE_RATE));
      amount = mulDivRound(quantity, rate, per);
    }
  } else if (model == L.MODEL_PACKAGE) {
    rate = modifiedRate(card, load<i64>(charge + L.CHARGE_RATE));
    amount = mulChecked(ceilDiv(quantity, per), rate);
  } else if (model == L.MODEL_REQUEST_TIERS) {
    const basis = dimensionQuantity(card, load<i32>(charge + L.CHARGE_AUX));
    if (failure != L.STATUS_RATED) return 0;
    rate = load<i64>(charge + L.CHARGE_RATE);
    const tiers = book + <usize>load<i32>(charge + L.CHARGE_TIERS);
    const tierCount = load<i32>(charge + L.CHARGE_TIER_COUNT);
    for (let t = 0; t < tierCount; t++) {
      const tier = tiers + <usize>t * L.TIER_SIZE;
      if (load<i64>(tier) < basis) rate = load<i64>(tier + 8);
    }
    rate = modifiedRate(card, rate);
    amount = mulDivRound(quantity, rate, per);
  } else {
    const counter = customer + L.STATE_COUNTERS + (<usize>load<i32>(charge + L.CHARGE_COUNTER) << 3);
    const before = load<i64>(counter);
    const after = addChecked(before, quantity);
    if (model == L.MODEL_GRADUATED) {
      rate = rateGraduated(card, charge, before, after, index, recording);
      amount = accumulatorDivideRound(per);
    } else {
      const tier = tierContaining(charge, after);
      rate = modifiedRate(card, load<i64>(book + <usize>load<i32>(charge + L.CHARGE_TIERS) + <usize>tier * L.TIER_SIZE + 8));
      const beforeRate = modifiedRate(card, load<i64>(book + <usize>load<i32>(charge + L.CHARGE_TIERS) + <usize>tierContaining(charge, before) * L.TIER_SIZE + 8));
      amount = subChecked(mulDivRound(after, rate, per), mulDivRound(before, beforeRate, per));
      if (recording) writeStep(L.STEP_TIER, index, tier, quantity, rate, 0);
    }
    setState(counter, after);
  }
  if (recording) writeStep(L.STEP_PRICE, index, model, quantity, rate, amount);
  return amount;
}

/** Accumulates each tier's share of [before, after) x its rate; returns the rate of the last tier touched. */
function rateGraduated(card: usize, charge: usize, before: i64, after: i64, index: i32, recording: bool): i64 {
  accumulatorClear();
  const tiers = book + <usize>load<i32>(charge + L.CHARGE_TIERS);
  const tierCount = load<i32>(charge + L.CHARGE_TIER_COUNT);
  let lower: i64 = 0;
  // With no unit priced, the rate shown is that of the tier the next unit would fall in (first up_to > before).
  let next: i32 = 0;
  while (next < tierCount - 1 && load<i64>(tiers + <usize>next * L.TIER_SIZE) <= before) next++;
  let lastRate: i64 = modifiedRate(card, load<i64>(tiers + <usize>next * L.TIER_SIZE + 8));
  for (let t = 0; t < tierCount; t++) {
    const tier = tiers + <usize>t * L.TIER_SIZE;
    const upper = load<i64>(tier);
    const from = before > lower ? before : lower;
    const to = after < upper ? after : upper;
    if (to > from) {
      const rate = modifiedRate(card, load<i64>(tier + 8));
      accumulatorAddProduct(to - from, rate);
      lastRate = rate;
      if (recording) writeStep(L.STEP_TIER, index, t, to - from, rate, 0);
    }
    if (upper >= after) break;
    lower = upper;
  }
  return lastRate;
}

/** Index of the first tier whose up_to >= quantity (the last tier has up_to = i64.MAX). */
function tierContaining(charge: usize, quantity: i64): i32 {
  const tiers = book + <usize>load<i32>(charge + L.CHARGE_TIERS);
  const last = load<i32>(charge + L.CHARGE_TIER_COUNT) - 1;
  for (let t = 0; t < last; t++) {
    if (load<i64>(tiers + <usize>t * L.TIER_SIZE) >= quantity) return t;
  }
  return last;
}

function rateFixed(card: usize, charge: usize, model: i32, index: i32, recording: bool): i64 {
  let rate: i64;
  let amount: i64;
  if (model == L.MODEL_FLAT) {
    if (recording) writeModifierSteps(card, index);
    rate = modifiedRate(card, load<i64>(charge + L.CHARGE_RATE));
    amount = rate;
  } else {
    rate = load<i64>(event + L.EVENT_PROPERTIES + (<usize>load<i32>(charge + L.CHARGE_AUX) << 3));
    amount = mulDivRound(rate, NANO + load<i64>(charge + L.CHARGE_RATE), NANO);
  }
  if (recording) writeStep(L.STEP_PRICE, index, model, MICRO, rate, amount);
  return amount;
}

function drawAllowance(schedule: usize, version: i32, pool: i32, quantity: i64, index: i32): i64 {
  const slot = customer + L.STATE_COUNTERS + (<usize>(counterCount + pool) << 3);
  let remaining = load<i64>(slot);
  if (remaining == L.POOL_UNSET) {
    const poolCount = load<i32>(book + L.BOOK_POOL_COUNT);
    const included = load<i64>(book + <usize>load<i32>(schedule + L.SCHEDULE_POOLS_INCLUDED) + (<usize>(version * poolCount + pool) << 3));
    remaining = included < 0 ? 0 : included;
  }
  const covered = quantity < remaining ? quantity : remaining;
  setState(slot, remaining - covered);
  writeStep(L.STEP_ALLOWANCE, index, pool, covered, remaining - covered, 0);
  return quantity - covered;
}

// ---- dimensions -----------------------------------------------------------------------------------------

function dimensionName(card: usize, dimension: i32): i32 {
  return load<i32>(book + <usize>load<i32>(card + L.CARD_DIMENSIONS) + <usize>dimension * L.DIMENSION_SIZE + 4);
}

@inline
function property(slot: i32): i64 {
  return load<i64>(event + L.EVENT_PROPERTIES + (<usize>slot << 3));
}

/** A dimension's quantity; an overflow or a negative result fails the event right there (first failure wins). */
@inline
function dimensionQuantity(card: usize, dimension: i32): i64 {
  const quantity = composeDimension(card, dimension);
  if (overflowed && failure == L.STATUS_RATED) failure = L.ERROR_OVERFLOW;
  return quantity;
}

@inline
function composeDimension(card: usize, dimension: i32): i64 {
  const record = book + <usize>load<i32>(card + L.CARD_DIMENSIONS) + <usize>dimension * L.DIMENSION_SIZE;
  const kind = load<i32>(record);
  if (kind == L.DIMENSION_PROPERTY) return property(load<i32>(record + 8));
  if (kind == L.DIMENSION_MAX) {
    const terms = book + <usize>load<i32>(record + 12);
    let largest: i64 = 0;
    for (let t = 0, n = load<i32>(record + 8); t < n; t++) {
      const value = property(load<i32>(terms + <usize>t * L.TERM_SIZE));
      if (value > largest) largest = value;
    }
    return largest;
  }
  if (kind == L.DIMENSION_FORMULA) {
    // Positive and negative terms summed apart as unsigned words, so only the exact result has to fit.
    const terms = book + <usize>load<i32>(record + 12);
    let positive: u64 = 0;
    let negative: u64 = 0;
    for (let t = 0, n = load<i32>(record + 8); t < n; t++) {
      const term = terms + <usize>t * L.TERM_SIZE;
      const coefficient = load<i64>(term + 8);
      const value = property(load<i32>(term));
      const magnitude = <u64>(coefficient == 1 || coefficient == -1 ? value : mulChecked(value, coefficient < 0 ? -coefficient : coefficient));
      if (coefficient >= 0) {
        positive += magnitude;
        if (positive < magnitude) setOverflow();
      } else {
        negative += magnitude;
        if (negative < magnitude) setOverflow();
      }
    }
    if (positive < negative) {
      failure = L.ERROR_NEGATIVE_QUANTITY;
      failureDetail = load<i32>(record + 4);
      return 0;
    }
    const sum = positive - negative;
    if (sum >= 0x8000000000000000) setOverflow();
    return <i64>sum;
  }
  // GPU time: count x billable seconds (R0).
  const count = property(load<i32>(record + 8));
  const duration = property(load<i32>(record + 12));
  const increment = load<i64>(record + 24);
  let billable = mulChecked(ceilDiv(duration, increment), increment);
  const minimum = load<i64>(record + 16);
  if (load<i32>(event + L.EVENT_OUTCOME) == L.OUTCOME_COMPLETED && billable < minimum) billable = minimum;
  return mulDivRound(count, billable, MICRO);
}

// ---- discounts, commitment, credits -------------------------------------------------------------------

/** Step 7: the negotiated percentage (stage R3). */
function applyDiscount(subtotal: i64): i64 {
  const fraction = load<i64>(customer + L.STATE_DISCOUNT);
  if (fraction == 0) return subtotal;
  const discount = mulDivRoundSigned(subtotal, fraction, NANO);
  writeStep(L.STEP_DISCOUNT, 0, 0, fraction, discount, 0);
  return subChecked(subtotal, discount);
}

/** Steps 8-10: commitment, then credits; returns the remainder charged. */
function settle(net: i64, timestamp: i64): i64 {
  if (net <= 0) return net;

  const mode = load<i32>(customer + L.STATE_COMMITMENT_MODE);
  if (mode == 1) {
    const slot = customer + L.STATE_COMMITMENT_REMAINING;
    const remaining = load<i64>(slot);
    const drawn = net < remaining ? net : remaining;
    if (drawn > 0) {
      setState(slot, remaining - drawn);
      net -= drawn;
    }
    writeStep(L.STEP_COMMITMENT, 0, mode, drawn > 0 ? drawn : 0, remaining - (drawn > 0 ? drawn : 0), 0);
  } else if (mode == 2) {
    const slot = customer + L.STATE_COMMITMENT_CONSUMED;
    const consumed = addChecked(load<i64>(slot), net);
    setState(slot, consumed);
    writeStep(L.STEP_COMMITMENT, 0, mode, net, consumed, 0);
  }

  const grantCount = load<i32>(customer + L.STATE_GRANT_COUNT);
  const grants = stateBase + <usize>load<i32>(customer + L.STATE_GRANTS);
  for (let g = 0; g < grantCount && net > 0; g++) {
    const grant = grants + <usize>g * L.GRANT_SIZE;
    const balance = load<i64>(grant + L.GRANT_BALANCE);
    if (balance <= 0 || !grantApplies(grant, timestamp)) continue;
    const drawn = net < balance ? net : balance;
    setState(grant + L.GRANT_BALANCE, balance - drawn);
    net -= drawn;
    writeStep(L.STEP_CREDIT, 0, g, drawn, balance - drawn, 0);
  }
  return net;
}

function grantApplies(grant: usize, timestamp: i64): bool {
  if (timestamp < load<i64>(grant + L.GRANT_EFFECTIVE) || timestamp >= load<i64>(grant + L.GRANT_EXPIRES)) return false;
  return listContains(grant + L.GRANT_CARD_COUNT, load<i32>(event + L.EVENT_PRODUCT))
    && listContains(grant + L.GRANT_TYPE_COUNT, load<i32>(event + L.EVENT_TYPE));
}

/** A (count, offset) list of i32 ids in the state; count -1 means "any". */
function listContains(list: usize, id: i32): bool {
  const count = load<i32>(list);
  if (count < 0) return true;
  const items = stateBase + <usize>load<i32>(list + 4);
  for (let i = 0; i < count; i++) {
    if (load<i32>(items + (<usize>i << 2)) == id) return true;
  }
  return false;
}

// ---- effects ---------------------------------------------------------------------------------------------

/** Writes an i64 of the state, remembering the old value so a failed event can be undone. */
function setState(address: usize, value: i64): void {
  if (undoLength == UNDO_CAPACITY) {
    failure = L.ERROR_OVERFLOW;
    return;
  }
  const entry = undoLog + (<usize>undoLength << 4);
  store<i32>(entry, <i32>address);
  store<i64>(entry + 8, load<i64>(address));
  undoLength++;
  store<i64>(address, value);
}

function rollback(): void {
  for (let i = undoLength - 1; i >= 0; i--) {
    const entry = undoLog + (<usize>i << 4);
    store<i64>(<usize>load<i32>(entry), load<i64>(entry + 8));
  }
  undoLength = 0;
}

@inline
function writeStep(kind: u8, charge: i32, reference: i32, a: i64, b: i64, c: i64): void {
  const at = stepCursor;
  // kind (byte 0), charge (bytes 2-3) and reference (bytes 4-7) in one little-endian word
  store<u64>(at, <u64>kind | (<u64>(<u16>charge) << 16) | (<u64>(<u32>reference) << 32));
  store<i64>(at + 8, a);
  store<i64>(at + 16, b);
  store<i64>(at + 24, c);
  stepCursor = at + L.STEP_SIZE;
}
