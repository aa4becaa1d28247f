// graduated: each tier's share of [c, c + q) at its rate, summed exactly then rounded once.
import type { PriceModel } from '../book.ts';
import { compileCumulativeTiers } from './cumulative.ts';
import type { ModelCompiler } from './types.ts';

export const graduated: ModelCompiler<Extract<PriceModel, { model: 'graduated' }>> = {
  measured: true,
  modifiable: true,
  compile: compileCumulativeTiers,
};
