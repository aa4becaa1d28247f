// request_tiers: the rate of the last tier whose `above` is < this event's basis quantity (CHARGE.aux names the
// basis dimension, taken before any allowance), else the base rate; then as per_unit.
import * as C from '../context';
import * as L from '../layout.gen';
import { mulDivRound } from '../math';

@inline
export function priceRequestTiers(card: usize, charge: usize, quantity: i64, index: i32, recording: bool): i64 {
  const basis = C.dimensionQuantity(card, L.chargeAux(charge));
  if (C.failure != L.STATUS_RATED) return 0;
  let rate = L.chargeRate(charge);
  const tiers = C.book + <usize>L.chargeTiers(charge);
  const tierCount = L.chargeTierCount(charge);
  for (let t = 0; t < tierCount; t++) {
    const tier = tiers + <usize>t * L.TIER_SIZE;
    if (L.tierBound(tier) < basis) rate = L.tierRate(tier);
  }
  rate = C.modifiedRate(card, rate);
  C.lineRate = rate;
  return mulDivRound(quantity, rate, L.chargePer(charge));
}
