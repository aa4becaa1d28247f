// volume: P(c + q) - P(c), where P(x) = round(x x rate(tier containing x) / per); c is the charge's counter in the
// customer's state. The difference is negative when the period crosses into a cheaper tier.
import * as C from '../context';
import * as L from '../layout.gen';
import { addChecked, mulDivRound, subChecked } from '../math';

@inline
export function priceVolume(card: usize, charge: usize, quantity: i64, index: i32, recording: bool): i64 {
  const counter = C.customer + L.STATE_COUNTERS + (<usize>L.chargeCounter(charge) << 3);
  const before = load<i64>(counter);
  const after = addChecked(before, quantity);
  const per = L.chargePer(charge);
  const tiers = C.book + <usize>L.chargeTiers(charge);
  const tier = tierContaining(charge, after);
  const rate = C.modifiedRate(card, L.tierRate(tiers + <usize>tier * L.TIER_SIZE));
  const beforeRate = C.modifiedRate(card, L.tierRate(tiers + <usize>tierContaining(charge, before) * L.TIER_SIZE));
  const amount = subChecked(mulDivRound(after, rate, per), mulDivRound(before, beforeRate, per));
  if (recording) C.writeStep(L.STEP_KIND_TIER, index, tier, quantity, rate, 0);
  C.setState(counter, after);
  C.lineRate = rate;
  return amount;
}

/** Index of the first tier whose up_to >= quantity (the last tier has up_to = i64.MAX). */
function tierContaining(charge: usize, quantity: i64): i32 {
  const tiers = C.book + <usize>L.chargeTiers(charge);
  const last = L.chargeTierCount(charge) - 1;
  for (let t = 0; t < last; t++) {
    if (L.tierBound(tiers + <usize>t * L.TIER_SIZE) >= quantity) return t;
  }
  return last;
}
