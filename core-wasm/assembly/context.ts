// The kernel's per-call context and the helpers every stage shares: the globals the hot functions read instead of
// taking many arguments, the undo log, receipt steps, modified rates and dimension quantities. Models
// (./models/) and the rating loop (./index.ts) both work through it.
import { ceilDiv, mulChecked, mulDivRound, overflowed, setOverflow } from './math';
import * as L from './layout.gen';

export const NANO: i64 = 1_000_000_000;
export const MICRO: i64 = 1_000_000;

// Static scratch: the undo log of the current event (address i32, pad, old value i64) and the modifiers
// that hold for it. Sized for the host's limits (1,000 grants per customer, 64 charges, 64 modifiers), times
// the 12 levels of a reseller chain at most (`rateChain`, `MAX_CHAIN_DEPTH` in src/kernel.ts), which share one log.
export const UNDO_CAPACITY: i32 = 4096 * 4;
export const undoLog = memory.data(UNDO_CAPACITY * 16);
export let undoLength: i32 = 0;
export const MODIFIER_CAPACITY: i32 = 64;
export const heldModifiers = memory.data(MODIFIER_CAPACITY * 4);
export let heldModifierCount: i32 = 0;

// Per-call context, kept in globals so the hot functions take few arguments.
export let book: usize = 0;
export let stateBase: usize = 0;
export let customer: usize = 0; // this event's state block
export let event: usize = 0;
export let stepCursor: usize = 0;
export let counterCount: i32 = 0;
export let failure: i32 = 0; // first error of the current event
export let failureDetail: i32 = 0;

/** The rate a model shows on its charge's `price` step (a second return value, kept out of memory). */
export let lineRate: i64 = 0;

/** Applies the held modifiers to a rate or amount, in book order (stage R1). */
export function modifiedRate(card: usize, rate: i64): i64 {
  if (heldModifierCount == 0) return rate;
  const modifiers = book + <usize>L.cardModifiers(card);
  for (let h = 0; h < heldModifierCount; h++) {
    const m = load<i32>(heldModifiers + (<usize>h << 2));
    rate = mulDivRound(rate, L.modifierMultiplier(modifiers + <usize>m * L.MODIFIER_SIZE), NANO);
  }
  return rate;
}

export function writeModifierSteps(card: usize, index: i32): void {
  const modifiers = book + <usize>L.cardModifiers(card);
  for (let h = 0; h < heldModifierCount; h++) {
    const m = load<i32>(heldModifiers + (<usize>h << 2));
    writeStep(L.STEP_KIND_MODIFIER, index, m, L.modifierMultiplier(modifiers + <usize>m * L.MODIFIER_SIZE), 0, 0);
  }
}

// ---- dimensions -----------------------------------------------------------------------------------------

export function dimensionName(card: usize, dimension: i32): i32 {
  return L.dimensionName(book + <usize>L.cardDimensions(card) + <usize>dimension * L.DIMENSION_SIZE);
}

@inline
export function property(slot: i32): i64 {
  return load<i64>(event + L.EVENT_PROPERTIES + (<usize>slot << 3));
}

/** A dimension's quantity; an overflow or a negative result fails the event right there (first failure wins). */
@inline
export function dimensionQuantity(card: usize, dimension: i32): i64 {
  const quantity = composeDimension(card, dimension);
  if (overflowed && failure == L.STATUS_RATED) failure = L.STATUS_OVERFLOW;
  return quantity;
}

@inline
export function composeDimension(card: usize, dimension: i32): i64 {
  const record = book + <usize>L.cardDimensions(card) + <usize>dimension * L.DIMENSION_SIZE;
  const kind = L.dimensionKind(record);
  if (kind == L.DIMENSION_KIND_PROPERTY) return property(L.dimensionPropertySlot(record));
  if (kind == L.DIMENSION_KIND_MAX) {
    const terms = book + <usize>L.dimensionTerms(record);
    let largest: i64 = 0;
    for (let t = 0, n = L.dimensionTermCount(record); t < n; t++) {
      const value = property(L.termSlot(terms + <usize>t * L.TERM_SIZE));
      if (value > largest) largest = value;
    }
    return largest;
  }
  if (kind == L.DIMENSION_KIND_FORMULA) {
    // Positive and negative terms summed apart as unsigned words, so only the exact result has to fit.
    const terms = book + <usize>L.dimensionTerms(record);
    let positive: u64 = 0;
    let negative: u64 = 0;
    for (let t = 0, n = L.dimensionTermCount(record); t < n; t++) {
      const term = terms + <usize>t * L.TERM_SIZE;
      const coefficient = L.termCoefficient(term);
      const value = property(L.termSlot(term));
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
      failure = L.STATUS_NEGATIVE_QUANTITY;
      failureDetail = L.dimensionName(record);
      return 0;
    }
    const sum = positive - negative;
    if (sum >= 0x8000000000000000) setOverflow();
    return <i64>sum;
  }
  // GPU time: count x billable seconds (R0).
  const count = property(L.dimensionCountSlot(record));
  const duration = property(L.dimensionDurationSlot(record));
  const increment = L.dimensionIncrementSeconds(record);
  let billable = mulChecked(ceilDiv(duration, increment), increment);
  const minimum = L.dimensionMinimumSeconds(record);
  if (L.eventOutcome(event) == L.OUTCOME_COMPLETED && billable < minimum) billable = minimum;
  return mulDivRound(count, billable, MICRO);
}
// ---- effects ---------------------------------------------------------------------------------------------

/** Writes an i64 of the state, remembering the old value so a failed event can be undone. */
export function setState(address: usize, value: i64): void {
  if (undoLength == UNDO_CAPACITY) {
    failure = L.STATUS_OVERFLOW;
    return;
  }
  const entry = undoLog + (<usize>undoLength << 4);
  store<i32>(entry, <i32>address);
  store<i64>(entry + 8, load<i64>(address));
  undoLength++;
  store<i64>(address, value);
}

export function rollback(): void {
  for (let i = undoLength - 1; i >= 0; i--) {
    const entry = undoLog + (<usize>i << 4);
    store<i64>(<usize>load<i32>(entry), load<i64>(entry + 8));
  }
  undoLength = 0;
}

@inline
export function writeStep(kind: u8, charge: i32, reference: i32, a: i64, b: i64, c: i64): void {
  const at = stepCursor;
  // kind (STEP_KIND), charge (STEP_CHARGE) and reference (STEP_REF) in one little-endian word
  store<u64>(at + L.STEP_KIND, <u64>kind | (<u64>(<u16>charge) << (8 * L.STEP_CHARGE)) | (<u64>(<u32>reference) << (8 * L.STEP_REF)));
  store<i64>(at + L.STEP_A, a);
  store<i64>(at + L.STEP_B, b);
  store<i64>(at + L.STEP_C, c);
  stepCursor = at + L.STEP_SIZE;
}
