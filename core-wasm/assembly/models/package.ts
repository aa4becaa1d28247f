// package: ceil(q / size) x amount, exact; CHARGE.per holds the size and CHARGE.rate the amount.
import * as C from '../context';
import * as L from '../layout.gen';
import { ceilDiv, mulChecked } from '../math';

@inline
export function pricePackage(card: usize, charge: usize, quantity: i64, index: i32, recording: bool): i64 {
  const rate = C.modifiedRate(card, L.chargeRate(charge));
  C.lineRate = rate;
  return mulChecked(ceilDiv(quantity, L.chargePer(charge)), rate);
}
