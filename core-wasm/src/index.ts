// Public entry of the kernel host; no Node-only imports, so browsers and edge workers can use it as is.
export type * from './book.ts';
export {
  compileBook,
  validateBook,
  withZoneTransitions,
  parseInstant,
  type BookProblem,
  type CompiledBook,
  type CardMeta,
} from './compile.ts';
export {
  Kernel,
  MAX_CHAIN_DEPTH,
  checkChains,
  toCompiled,
  writeEvent,
  type ChainOutput,
  type RateOutput,
  type RatedFigures,
  type RawBatch,
} from './kernel.ts';
/** The binary layout shared with the wasm, for callers that encode events themselves (the SDK's fast check). */
export * as layout from './layout.gen.ts';
export { RateInputError, encodeEvent, encodeStates, EventTypes, orderGrants } from './encode.ts';
export { formatMoney, formatQuantity, parseScaled, toNano } from './decimal.ts';
export {
  creditsDrawn,
  limitsCrossed,
  stateForOnBlock,
  type LimitBlock,
  type LimitContext,
  type OnBlock,
  type ScopedBudget,
} from './limits.ts';
