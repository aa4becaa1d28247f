// dynamic: round(a x (1 + markup)) for the amount `a` the event carries in the property slot CHARGE.aux, with
// CHARGE.rate the markup as a fraction in 1e-9. Modifiers never apply: the amount is the event's own.
import * as C from '../context';
import * as L from '../layout.gen';
import { mulDivRound } from '../math';

@inline
export function priceDynamic(card: usize, charge: usize, quantity: i64, index: i32, recording: bool): i64 {
  const amount = C.property(L.chargeAux(charge));
  C.lineRate = amount;
  return mulDivRound(amount, C.NANO + L.chargeRate(charge), C.NANO);
}
