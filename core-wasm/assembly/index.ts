// The rating kernel: (compiled book, customer states, encoded events) -> (results, receipt steps, new states).
// Semantics: core-wasm/README.md. Byte layout: ./layout.gen.ts (generated from ../layout/spec.ts); shared per-call
// context: ./context.ts; price models: ./models/. No imports, no clock, no floats, no allocation.
import { addChecked, clearOverflow, floorDiv, mulDivRoundSigned, overflowed, subChecked } from './math';
import * as C from './context';
import * as L from './layout.gen';
import { priceLine } from './models/index';

export { modelImplemented } from './models/index';

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
 * Rates `count` events into `results`, writing receipt steps from `steps`. Stops early, before an C.event,
 * when fewer than `stepsPerEvent` steps of the `stepCapacity` remain; returns how many events were rated.
 */
export function rate(
  bookBase: usize, states: usize, events: usize, count: i32, results: usize,
  steps: usize, stepCapacity: i32, stepsPerEvent: i32,
): i32 {
  C.book = bookBase;
  C.stateBase = states;
  C.counterCount = L.bookCounterCount(C.book);
  const stride = <usize>(L.EVENT_PROPERTIES + 8 * L.bookPropertyCount(C.book));
  const stepsEnd = steps + <usize>stepCapacity * L.STEP_SIZE;
  C.stepCursor = steps;
  let index: i32 = 0;
  for (; index < count; index++) {
    if (<usize>(stepsEnd - C.stepCursor) < <usize>stepsPerEvent * L.STEP_SIZE) break;
    C.event = events + <usize>index * stride;
    rateEvent(results + <usize>index * L.RESULT_SIZE, steps);
  }
  stepsWritten = <i32>((C.stepCursor - steps) / L.STEP_SIZE);
  return index;
}

/**
 * Rates `count` CHAIN records: each is one event rated at every level of its reseller chain (each level with its
 * own book, state table, encoded event and result) in one pass. The undo log spans the chain's levels, so a level
 * that fails rolls back every level's state changes and the chain's receipt steps; the failing level keeps its own
 * result, every other level gets `chain_refused` (detail = the refusing level), and CHAIN.refused names it. Stops
 * early, before a chain, when fewer than its CHAIN.steps steps of the `stepCapacity` remain; returns how many chains
 * were rated.
 */
export function rateChain(chains: usize, count: i32, steps: usize, stepCapacity: i32): i32 {
  const stepsEnd = steps + <usize>stepCapacity * L.STEP_SIZE;
  C.stepCursor = steps;
  let index: i32 = 0;
  for (; index < count; index++) {
    const chain = chains + <usize>index * L.CHAIN_SIZE;
    if (<usize>(stepsEnd - C.stepCursor) < <usize>L.chainSteps(chain) * L.STEP_SIZE) break;
    rateOneChain(chain, steps);
  }
  stepsWritten = <i32>((C.stepCursor - steps) / L.STEP_SIZE);
  return index;
}

function rateOneChain(chain: usize, steps: usize): void {
  const firstStep = C.stepCursor;
  C.undoLength = 0;
  const levelCount = L.chainLevelCount(chain);
  const levels = <usize>L.chainLevels(chain);
  let refused: i32 = -1;
  for (let k: i32 = 0; k < levelCount; k++) {
    const level = levels + <usize>k * L.LEVEL_SIZE;
    C.book = <usize>L.levelBook(level);
    C.stateBase = <usize>L.levelStates(level);
    C.counterCount = L.bookCounterCount(C.book);
    C.event = <usize>L.levelEvent(level);
    rateLevel(<usize>L.levelResult(level), steps); // a failing level rolls back the whole log: every level
    if (C.failure != L.STATUS_RATED) {
      refused = k;
      break;
    }
  }
  if (refused < 0 && L.chainHostRefused(chain) != 0) {
    refused = levelCount;
    C.rollback();
  }
  if (refused >= 0) {
    C.stepCursor = firstStep;
    for (let k: i32 = 0; k < levelCount; k++) {
      if (k == refused) continue;
      const result = <usize>L.levelResult(levels + <usize>k * L.LEVEL_SIZE);
      L.setResultStatus(result, L.STATUS_CHAIN_REFUSED);
      L.setResultDetail(result, refused);
      L.setResultStepsStart(result, <i32>((firstStep - steps) / L.STEP_SIZE));
      L.setResultStepCount(result, 0);
      L.setResultAmount(result, 0);
      L.setResultSubtotal(result, 0);
      L.setResultNet(result, 0);
      L.setResultCost(result, L.NO_COST);
      L.setResultVersion(result, -1);
      L.setResultCostVersion(result, -1);
    }
  }
  L.setChainRefused(chain, refused);
}

function rateEvent(result: usize, steps: usize): void {
  C.undoLength = 0;
  rateLevel(result, steps);
}

/** One event at one level: on failure, rolls back every state change in the undo log and its own steps. */
function rateLevel(result: usize, steps: usize): void {
  const firstStep = C.stepCursor;
  C.failure = L.STATUS_RATED;
  C.failureDetail = 0;
  clearOverflow();
  C.customer = C.stateBase + <usize>load<i32>(C.stateBase + (<usize>L.eventCustomer(C.event) << 2));
  const timestamp = L.eventTimestamp(C.event);

  let amount: i64 = 0;
  let subtotal: i64 = 0;
  let net: i64 = 0;
  let cost: i64 = L.NO_COST;
  let priceVersion: i32 = -1;
  let costVersion: i32 = -1;

  const infrastructureFailure = L.eventOutcome(C.event) == L.OUTCOME_INFRA_FAILURE;
  const priceSchedule = C.book + <usize>L.bookPriceSchedule(C.book);
  priceVersion = findVersion(priceSchedule, timestamp);
  const card = priceVersion < 0 ? <usize>0 : findCard(priceSchedule, L.eventProduct(C.event), priceVersion);
  if (priceVersion < 0) {
    C.failure = L.STATUS_NO_PRICE_VERSION;
  } else if (card == 0) {
    C.failure = L.STATUS_NO_RATE_CARD;
  } else if (timestamp < L.statePeriodStart(C.customer) || timestamp >= L.statePeriodEnd(C.customer)) {
    C.failure = L.STATUS_OUTSIDE_PERIOD;
  } else if (infrastructureFailure) {
    C.writeStep(L.STEP_KIND_OUTCOME, 0, L.OUTCOME_INFRA_FAILURE, 0, 0, 0);
  } else {
    subtotal = rateCard(card, priceSchedule, priceVersion, timestamp, true);
  }
  if (C.failure == L.STATUS_RATED && overflowed) C.failure = L.STATUS_OVERFLOW;

  // The cost schedule is rated after the price lines and before the discount (README, Cost).
  const costOffset = L.bookCostSchedule(C.book);
  const costProduct = L.eventCostProduct(C.event);
  if (C.failure == L.STATUS_RATED && costOffset != 0 && costProduct >= 0) {
    const costSchedule = C.book + <usize>costOffset;
    costVersion = findVersion(costSchedule, timestamp);
    const costCard = costVersion < 0 ? <usize>0 : findCard(costSchedule, costProduct, costVersion);
    if (costCard != 0) cost = rateCard(costCard, costSchedule, costVersion, timestamp, false);
    if (C.failure == L.STATUS_RATED && overflowed) C.failure = L.STATUS_OVERFLOW;
  }

  if (C.failure == L.STATUS_RATED && !infrastructureFailure) {
    net = applyDiscount(subtotal);
    amount = settle(net, timestamp);
    if (cost != L.NO_COST) subChecked(net, cost); // the margin must fit too
  }
  if (C.failure == L.STATUS_RATED && overflowed) C.failure = L.STATUS_OVERFLOW;
  if (C.failure == L.STATUS_RATED && amount > 0 && L.stateOnDepletion(C.customer) == L.ON_DEPLETION_BLOCK) {
    C.failure = L.STATUS_CREDITS_EXHAUSTED;
  }
  if (C.failure != L.STATUS_RATED) {
    C.rollback();
    C.stepCursor = firstStep;
    amount = 0;
    subtotal = 0;
    net = 0;
    cost = L.NO_COST;
  }
  L.setResultStatus(result, C.failure);
  L.setResultDetail(result, C.failureDetail);
  L.setResultStepsStart(result, <i32>((firstStep - steps) / L.STEP_SIZE));
  L.setResultStepCount(result, <i32>((C.stepCursor - firstStep) / L.STEP_SIZE));
  L.setResultAmount(result, amount);
  L.setResultSubtotal(result, subtotal);
  L.setResultNet(result, net);
  L.setResultCost(result, cost);
  L.setResultVersion(result, priceVersion);
  L.setResultCostVersion(result, costVersion);
}

// ---- versions and cards -------------------------------------------------------------------------------

/** Index of the last version whose effective_from <= timestamp, or -1. */
@inline
function findVersion(schedule: usize, timestamp: i64): i32 {
  const versions = C.book + <usize>L.scheduleVersions(schedule);
  let low: i32 = 0;
  let high: i32 = L.scheduleVersionCount(schedule);
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (L.versionEffectiveFrom(versions + <usize>middle * L.VERSION_SIZE) <= timestamp) low = middle + 1;
    else high = middle;
  }
  return low - 1;
}

/** The card of `product` in force at `version`, as an absolute address, or 0. */
@inline
function findCard(schedule: usize, product: i32, version: i32): usize {
  const entry = C.book + <usize>L.scheduleProducts(schedule) + <usize>product * L.PRODUCT_SIZE;
  const chain = C.book + <usize>L.productChain(entry);
  for (let link = L.productChainLength(entry) - 1; link >= 0; link--) {
    const at = chain + <usize>link * L.CHAIN_ENTRY_SIZE;
    if (L.chainEntryFirstVersion(at) <= version) {
      const offset = L.chainEntryCard(at);
      return offset == 0 ? 0 : C.book + <usize>offset;
    }
  }
  return 0;
}

// ---- conditions -----------------------------------------------------------------------------------------

function inWindow(window: i32, timestamp: i64): bool {
  const record = C.book + <usize>L.bookWindows(C.book) + <usize>window * L.WINDOW_SIZE;
  const zone = C.book + <usize>L.bookZones(C.book) + <usize>L.windowZone(record) * L.ZONE_SIZE;
  const local = floorDiv(timestamp, 1000) + zoneOffset(zone, timestamp);
  const day = floorDiv(local, 86400);
  const second = <i32>(local - day * 86400);
  const weekday = <i32>((day + 3) % 7 + 7) % 7; // 1970-01-01 was a Thursday; 0 = Monday
  const mask = L.windowWeekdays(record);
  const start = L.windowStart(record);
  const end = L.windowEnd(record);
  const today = (mask >> weekday) & 1;
  let holds: bool;
  if (start < end) holds = today == 1 && second >= start && second < end;
  else {
    const yesterday = (mask >> ((weekday + 6) % 7)) & 1;
    holds = (today == 1 && second >= start) || (yesterday == 1 && second < end);
  }
  if (!holds) return false;
  // Dated calendars, compiled by the host into instant ranges: `except` removes its dates, `only` keeps just its dates.
  const except = L.windowExcept(record);
  if (except >= 0 && onCalendar(except, timestamp)) return false;
  const only = L.windowOnly(record);
  return only < 0 || onCalendar(only, timestamp);
}

/** Whether the instant falls in one of the calendar's [start, end) ranges (sorted and disjoint). */
function onCalendar(calendar: i32, timestamp: i64): bool {
  const record = C.book + <usize>L.bookCalendars(C.book) + <usize>calendar * L.CALENDAR_SIZE;
  const ranges = C.book + <usize>L.calendarRanges(record);
  // The last range whose start <= timestamp.
  let low: i32 = 0;
  let high: i32 = L.calendarRangeCount(record);
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (L.rangeStart(ranges + <usize>middle * L.RANGE_SIZE) <= timestamp) low = middle + 1;
    else high = middle;
  }
  return low > 0 && timestamp < L.rangeEnd(ranges + <usize>(low - 1) * L.RANGE_SIZE);
}

/** UTC offset in seconds in force at `timestamp`. */
function zoneOffset(zone: usize, timestamp: i64): i64 {
  const transitions = C.book + <usize>L.zoneTransitions(zone);
  let low: i32 = 1;
  let high: i32 = L.zoneTransitionCount(zone);
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (L.transitionFrom(transitions + <usize>middle * L.TRANSITION_SIZE) <= timestamp) low = middle + 1;
    else high = middle;
  }
  return L.transitionOffset(transitions + <usize>(low - 1) * L.TRANSITION_SIZE);
}

@inline
function conditionHolds(window: i32, tier: i32, timestamp: i64): bool {
  if (tier >= 0 && tier != L.eventServiceTier(C.event)) return false;
  return window < 0 || inWindow(window, timestamp);
}

// ---- one card -------------------------------------------------------------------------------------------

/** Sum of the card's charge lines for this C.event; records steps when `recording` (the price card). */
function rateCard(card: usize, schedule: usize, version: i32, timestamp: i64, recording: bool): i64 {
  let chargeCount = L.cardChargeCount(card);
  let charges = C.book + <usize>L.cardCharges(card);
  const variantCount = L.cardVariantCount(card);
  if (variantCount > 0) {
    const variants = C.book + <usize>L.cardVariants(card);
    for (let v = variantCount - 1; v >= 0; v--) {
      const variant = variants + <usize>v * L.VARIANT_SIZE;
      if (conditionHolds(L.variantWindow(variant), L.variantServiceTier(variant), timestamp)) {
        chargeCount = L.variantChargeCount(variant);
        charges = C.book + <usize>L.variantCharges(variant);
        if (recording) C.writeStep(L.STEP_KIND_VARIANT, 0, v, 0, 0, 0);
        break;
      }
    }
  }

  C.heldModifierCount = 0;
  const modifierCount = L.cardModifierCount(card);
  const modifiers = C.book + <usize>L.cardModifiers(card);
  for (let m = 0; m < modifierCount; m++) {
    const modifier = modifiers + <usize>m * L.MODIFIER_SIZE;
    if (conditionHolds(L.modifierWindow(modifier), L.modifierServiceTier(modifier), timestamp)) {
      store<i32>(C.heldModifiers + (<usize>C.heldModifierCount << 2), m);
      C.heldModifierCount++;
    }
  }

  let subtotal: i64 = 0;
  for (let c = 0; c < chargeCount; c++) {
    const line = rateCharge(card, schedule, version, charges + <usize>c * L.CHARGE_SIZE, c, recording);
    if (C.failure == L.STATUS_RATED && overflowed) C.failure = L.STATUS_OVERFLOW; // the first C.failure wins
    if (C.failure != L.STATUS_RATED) return 0;
    subtotal = addChecked(subtotal, line);
  }
  return subtotal;
}


/**
 * Step 5 for one charge: its quantity, per-call minimum, modifier steps and allowance (as its CHARGE flags say),
 * then its model prices the line (./models/).
 */
@inline
function rateCharge(card: usize, schedule: usize, version: i32, charge: usize, index: i32, recording: bool): i64 {
  const model = L.chargeModel(charge);
  const flags = L.chargeFlags(charge);
  // `flat` and `dynamic` price one C.event: the price step shows quantity 1.
  let quantity: i64 = C.MICRO;
  if (flags & L.CHARGE_FLAG_MEASURED) {
    const dimension = L.chargeDimension(charge);
    quantity = C.dimensionQuantity(card, dimension);
    if (C.failure != L.STATUS_RATED) return 0;
    if (recording) C.writeStep(L.STEP_KIND_QUANTITY, index, C.dimensionName(card, dimension), quantity, 0, 0);
    // A per-call minimum raises a quantity above 0 to it; a call that used nothing pays nothing.
    const minimum = L.chargeMinimum(charge);
    if (quantity > 0 && quantity < minimum) {
      quantity = minimum;
      if (recording) C.writeStep(L.STEP_KIND_MINIMUM, index, 0, minimum, quantity, 0);
    }
  }
  if (recording && (flags & L.CHARGE_FLAG_MODIFIABLE)) C.writeModifierSteps(card, index);

  const pool = L.chargePool(charge);
  if (pool >= 0 && recording) quantity = drawAllowance(schedule, version, pool, quantity, index);

  const amount = priceLine(model, card, charge, quantity, index, recording);
  if (C.failure != L.STATUS_RATED) return 0;
  if (recording) C.writeStep(L.STEP_KIND_PRICE, index, model, quantity, C.lineRate, amount);
  return amount;
}


function drawAllowance(schedule: usize, version: i32, pool: i32, quantity: i64, index: i32): i64 {
  const slot = C.customer + L.STATE_COUNTERS + (<usize>(C.counterCount + pool) << 3);
  let remaining = load<i64>(slot);
  if (remaining == L.POOL_UNSET) {
    const poolCount = L.bookPoolCount(C.book);
    const included = load<i64>(C.book + <usize>L.schedulePoolsIncluded(schedule) + (<usize>(version * poolCount + pool) << 3));
    remaining = included < 0 ? 0 : included;
  }
  const covered = quantity < remaining ? quantity : remaining;
  C.setState(slot, remaining - covered);
  C.writeStep(L.STEP_KIND_ALLOWANCE, index, pool, covered, remaining - covered, 0);
  return quantity - covered;
}


// ---- discounts, commitment, credits -------------------------------------------------------------------

/** Step 7: the negotiated percentage (stage R3). */
function applyDiscount(subtotal: i64): i64 {
  const fraction = L.stateDiscount(C.customer);
  if (fraction == 0) return subtotal;
  const discount = mulDivRoundSigned(subtotal, fraction, C.NANO);
  C.writeStep(L.STEP_KIND_DISCOUNT, 0, 0, fraction, discount, 0);
  return subChecked(subtotal, discount);
}

/** Steps 8-10: commitment, then credits; returns the remainder charged. */
function settle(net: i64, timestamp: i64): i64 {
  if (net <= 0) return net;

  const mode = L.stateCommitmentMode(C.customer);
  if (mode == L.COMMITMENT_PREPAID) {
    const slot = C.customer + L.STATE_COMMITMENT_REMAINING;
    const remaining = load<i64>(slot);
    const drawn = net < remaining ? net : remaining;
    if (drawn > 0) {
      C.setState(slot, remaining - drawn);
      net -= drawn;
    }
    C.writeStep(L.STEP_KIND_COMMITMENT, 0, mode, drawn > 0 ? drawn : 0, remaining - (drawn > 0 ? drawn : 0), 0);
  } else if (mode == L.COMMITMENT_POSTPAID) {
    const slot = C.customer + L.STATE_COMMITMENT_CONSUMED;
    const consumed = addChecked(load<i64>(slot), net);
    C.setState(slot, consumed);
    C.writeStep(L.STEP_KIND_COMMITMENT, 0, mode, net, consumed, 0);
  }

  const grantCount = L.stateGrantCount(C.customer);
  const grants = C.stateBase + <usize>L.stateGrants(C.customer);
  for (let g = 0; g < grantCount && net > 0; g++) {
    const grant = grants + <usize>g * L.GRANT_SIZE;
    const balance = L.grantBalance(grant);
    if (balance <= 0 || !grantApplies(grant, timestamp)) continue;
    const drawn = net < balance ? net : balance;
    C.setState(grant + L.GRANT_BALANCE, balance - drawn);
    net -= drawn;
    C.writeStep(L.STEP_KIND_CREDIT, 0, g, drawn, balance - drawn, 0);
  }
  return net;
}

function grantApplies(grant: usize, timestamp: i64): bool {
  if (timestamp < L.grantEffective(grant) || timestamp >= L.grantExpires(grant)) return false;
  return listContains(L.grantCardCount(grant), L.grantCards(grant), L.eventProduct(C.event))
    && listContains(L.grantTypeCount(grant), L.grantTypes(grant), L.eventType(C.event));
}

/** A (count, offset) list of i32 ids in the state; count -1 means "any". */
function listContains(count: i32, offset: i32, id: i32): bool {
  if (count < 0) return true;
  const items = C.stateBase + <usize>offset;
  for (let i = 0; i < count; i++) {
    if (load<i32>(items + (<usize>i << 2)) == id) return true;
  }
  return false;
}
