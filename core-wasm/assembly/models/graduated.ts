// graduated: each tier's share of [c, c + q) at its rate, summed exactly then rounded once; c is the charge's
// counter in the customer's state.
import * as C from '../context';
import * as L from '../layout.gen';
import { accumulatorAddProduct, accumulatorClear, accumulatorDivideRound, addChecked } from '../math';

@inline
export function priceGraduated(card: usize, charge: usize, quantity: i64, index: i32, recording: bool): i64 {
  const counter = C.customer + L.STATE_COUNTERS + (<usize>L.chargeCounter(charge) << 3);
  const before = load<i64>(counter);
  const after = addChecked(before, quantity);
  C.lineRate = accumulateTiers(card, charge, before, after, index, recording);
  const amount = accumulatorDivideRound(L.chargePer(charge));
  C.setState(counter, after);
  return amount;
}

/** Accumulates each tier's share of [before, after) x its rate; returns the rate of the last tier touched. */
function accumulateTiers(card: usize, charge: usize, before: i64, after: i64, index: i32, recording: bool): i64 {
  accumulatorClear();
  const tiers = C.book + <usize>L.chargeTiers(charge);
  const tierCount = L.chargeTierCount(charge);
  let lower: i64 = 0;
  // With no unit priced, the rate shown is that of the tier the next unit would fall in (first up_to > before).
  let next: i32 = 0;
  while (next < tierCount - 1 && L.tierBound(tiers + <usize>next * L.TIER_SIZE) <= before) next++;
  let lastRate: i64 = C.modifiedRate(card, L.tierRate(tiers + <usize>next * L.TIER_SIZE));
  for (let t = 0; t < tierCount; t++) {
    const tier = tiers + <usize>t * L.TIER_SIZE;
    const upper = L.tierBound(tier);
    const from = before > lower ? before : lower;
    const to = after < upper ? after : upper;
    if (to > from) {
      const rate = C.modifiedRate(card, L.tierRate(tier));
      accumulatorAddProduct(to - from, rate);
      lastRate = rate;
      if (recording) C.writeStep(L.STEP_KIND_TIER, index, t, to - from, rate, 0);
    }
    if (upper >= after) break;
    lower = upper;
  }
  return lastRate;
}
