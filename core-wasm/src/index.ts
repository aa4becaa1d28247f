// Public entry of the kernel host; no Node-only imports, so browsers and edge workers can use it as is.
export type * from './book.ts';
export { compileBook, validateBook, withZoneTransitions, parseInstant, type BookProblem, type CompiledBook, type CardMeta } from './compile.ts';
export { Kernel, toCompiled, type RateOutput, type RawBatch } from './kernel.ts';
export { RateInputError, encodeEvent, encodeStates, EventTypes, orderGrants } from './encode.ts';
export { formatMoney, formatQuantity, parseScaled } from './decimal.ts';
