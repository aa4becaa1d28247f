// The reference's price models: one file each, registered here (the one list of this layer).
import { dynamic } from './dynamic.ts';
import { flat } from './flat.ts';
import { graduated } from './graduated.ts';
import { packageModel } from './package.ts';
import { perUnit } from './per_unit.ts';
import { requestTiers } from './request_tiers.ts';
import type { PriceHandlers } from './types.ts';
import { volume } from './volume.ts';

export type { PriceHandler, PriceInput, PricedLine } from './types.ts';

export const PRICE_MODELS: PriceHandlers = {
  per_unit: perUnit,
  package: packageModel,
  graduated,
  volume,
  request_tiers: requestTiers,
  flat,
  dynamic,
};
