// The kernel's price models: one file each, registered in `dispatch` below (the one list of this layer). The host
// refuses to load a kernel that lacks a model its compiler knows (core-wasm/src/models/index.ts).
import * as L from '../layout.gen';
import { priceDynamic } from './dynamic';
import { priceFlat } from './flat';
import { priceGraduated } from './graduated';
import { pricePackage } from './package';
import { pricePerUnit } from './per_unit';
import { priceRequestTiers } from './request_tiers';
import { priceVolume } from './volume';

const NOT_IMPLEMENTED: i64 = i64.MIN_VALUE;

/**
 * Prices one charge line with its model: the amount, with the rate to show in `C.lineRate`. With `probe`, only
 * answers whether the model is here (0) or not (NOT_IMPLEMENTED), so the list below is the only list.
 */
@inline
function dispatch(model: i32, card: usize, charge: usize, quantity: i64, index: i32, recording: bool, probe: bool): i64 {
  if (model == L.MODEL_PER_UNIT) return probe ? 0 : pricePerUnit(card, charge, quantity, index, recording);
  if (model == L.MODEL_PACKAGE) return probe ? 0 : pricePackage(card, charge, quantity, index, recording);
  if (model == L.MODEL_GRADUATED) return probe ? 0 : priceGraduated(card, charge, quantity, index, recording);
  if (model == L.MODEL_VOLUME) return probe ? 0 : priceVolume(card, charge, quantity, index, recording);
  if (model == L.MODEL_REQUEST_TIERS) return probe ? 0 : priceRequestTiers(card, charge, quantity, index, recording);
  if (model == L.MODEL_FLAT) return probe ? 0 : priceFlat(card, charge, quantity, index, recording);
  if (model == L.MODEL_DYNAMIC) return probe ? 0 : priceDynamic(card, charge, quantity, index, recording);
  if (!probe) unreachable(); // the host compiles only models this kernel reports (modelImplemented)
  return NOT_IMPLEMENTED;
}

@inline
export function priceLine(model: i32, card: usize, charge: usize, quantity: i64, index: i32, recording: bool): i64 {
  return dispatch(model, card, charge, quantity, index, recording, false);
}

/** Whether this kernel prices the MODEL code; the host checks every model it compiles against it at load. */
export function modelImplemented(model: i32): bool {
  return dispatch(model, 0, 0, 0, 0, false, true) != NOT_IMPLEMENTED;
}
