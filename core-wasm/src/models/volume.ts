// volume: P(c + q) - P(c), where P(x) prices all of x at the rate of the tier containing x.
import type { PriceModel } from '../book.ts';
import { compileCumulativeTiers } from './cumulative.ts';
import type { ModelCompiler } from './types.ts';

export const volume: ModelCompiler<Extract<PriceModel, { model: 'volume' }>> = {
  measured: true,
  modifiable: true,
  compile: compileCumulativeTiers,
};
