// flat: the amount (CHARGE.rate), per event.
import * as C from '../context';
import * as L from '../layout.gen';

@inline
export function priceFlat(card: usize, charge: usize, quantity: i64, index: i32, recording: bool): i64 {
  const rate = C.modifiedRate(card, L.chargeRate(charge));
  C.lineRate = rate;
  return rate;
}
