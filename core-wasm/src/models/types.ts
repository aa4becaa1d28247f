// What every price model's compiler implements, and the helpers the tiered ones share.
import type { PriceModel, PriceModelName } from '../book.ts';

/** The charge record being compiled (see CHARGE in layout/spec.ts); a model fills per, rate, tiers, counter and aux. */
export interface CompiledCharge {
  model: number;
  flags: number;
  dimension: number;
  pool: number;
  counter: number;
  per: bigint;
  rate: bigint;
  tiers: { bound: bigint; rate: bigint }[];
  aux: number;
  /** Per-call minimum quantity (micro-units); 0 when none. */
  minimum: bigint;
}

/** What the book compiler lends a model while it compiles one charge's price; every problem names its JSON path. */
export interface ChargeCompiler {
  readonly compiled: CompiledCharge;
  /** JSON path of the price object. */
  readonly path: string;
  /** The default tier counter of the charge, `<card id>:<dimension>`. */
  readonly defaultCounter: string;
  problem(path: string, message: string): void;
  /** `per` in micro-units: one million units when absent. */
  per(value: unknown): bigint;
  /** A money field of the price (`at` relative to the price), in nano-units. */
  money(value: unknown, at: string): bigint;
  /** A decimal scaled to `digits`, at a full JSON path. */
  decimal(value: unknown, digits: number, path: string, what?: { positive?: boolean }): bigint;
  /** Index of a dimension of the card (or a plain property read as one). */
  dimension(name: unknown, at: string): number;
  /** Slot of the state counter with this name (the schedule's prefix added). */
  counter(name: string): number;
  /** Slot of an event property the price reads as money, which an event must carry (or default). */
  requiredMoney(name: string, path: string): number;
}

export interface ModelCompiler<M> {
  /** Priced on the quantity of a dimension (quantity, minimum and allowance steps); `flat` and `dynamic` are not. */
  measured: boolean;
  /** Whether modifiers multiply its rates: never a `dynamic` amount, which is the event's own. */
  modifiable: boolean;
  compile(price: M, charge: ChargeCompiler): void;
}

/** The registry's type: one compiler per model of the book's JSON, so a model without one does not compile. */
export type ModelCompilers = { [K in PriceModelName]: ModelCompiler<Extract<PriceModel, { model: K }>> };

export const MAX_BOUND = (1n << 63n) - 1n;
