// per_unit: round(q x rate / per) (README step 5.4, stage R2).
import * as C from '../context';
import * as L from '../layout.gen';
import { mulDivRound } from '../math';

@inline
export function pricePerUnit(card: usize, charge: usize, quantity: i64, index: i32, recording: bool): i64 {
  if (C.heldModifierCount == 0) {
    C.lineRate = L.chargeRate(charge);
    // The reduced ratio gives the same exact quotient, usually without the 128-bit division.
    return mulDivRound(quantity, L.chargeReducedRate(charge), L.chargeReducedPer(charge));
  }
  const rate = C.modifiedRate(card, L.chargeRate(charge));
  C.lineRate = rate;
  return mulDivRound(quantity, rate, L.chargePer(charge));
}
