// Validates a JSON price book (every problem with its JSON path) and compiles it into the kernel's binary form.
import type { BookVersion, Charge, Condition, Dimension, PriceBook, RateCard, TimeWindow } from './book.ts';
import { MICRO_DIGITS, NANO_DIGITS, parseScaled } from './decimal.ts';
import * as L from './layout.gen.ts';
import { CardResolver, checkMatchRule } from './match.ts';
import { type ChargeCompiler, type CompiledCharge, MODEL_COMPILERS, type ModelCompiler } from './models/index.ts';
import { type ZoneTransition, isValidTimeZone, zoneTransitions } from './zones.ts';

export interface BookProblem {
  path: string;
  message: string;
}

export interface ChargeMeta {
  model: keyof typeof L.MODEL_CODE;
  /** micro-units (package: size) */
  per: bigint;
  pool?: string;
}

export interface CardMeta {
  id: string;
  /** [0] the base charges, [i + 1] variant i's. */
  chargeLists: ChargeMeta[][];
  modifierSources: string[];
  /** Numeric properties the card reads, alphabetical. */
  reads: string[];
  /**
   * Properties without which a charge of the card cannot be computed (a GPU count or duration, a dynamic
   * amount): an event lacking one is an error naming it, unless `defaults` has it.
   */
  required: Set<string>;
  /** The card's `defaults`, scaled as the kernel reads each property (nano-units for money, else micro-units). */
  defaults: Map<string, bigint>;
}

export interface ScheduleMeta {
  versions: { from: bigint; iso: string }[];
  productIds: string[];
  resolver: CardResolver;
  /** cards[product][version]: the card in force, or undefined when absent. */
  cards: (CardMeta | undefined)[][];
}

export interface CompiledBook {
  readonly kind: 'tariff.compiled-book';
  id: string;
  currency: string;
  bytes: Uint8Array;
  properties: { name: string; money: boolean }[];
  propertySlots: Map<string, number>;
  counters: string[];
  pools: string[];
  /** Indexes of `counters` and `pools` in alphabetical order of name (the order new names are written). */
  sortedCounters: number[];
  sortedPools: number[];
  names: string[];
  price: ScheduleMeta;
  cost?: ScheduleMeta;
  /** Upper bound of receipt steps per event before credits. */
  stepsPerEvent: number;
}

export type CompileResult = { ok: true; book: CompiledBook } | { ok: false; errors: BookProblem[] };

const STRING_PROPERTIES = new Set([
  'provider',
  'model',
  'gpu_type',
  'region',
  'availability_class',
  'service_tier',
  'outcome',
  'event_type',
]);
const DEFAULT_PER = 1_000_000n * 1_000_000n; // one million units, in micro-units

export function compileBook(input: unknown): CompileResult {
  const compiler = new Compiler();
  const book = compiler.run(input);
  return book ? { ok: true, book } : { ok: false, errors: compiler.problems };
}

/** The book with the transitions of every zone its windows use pinned from this runtime's tz data. */
export function withZoneTransitions(book: PriceBook): PriceBook {
  const zones = new Set<string>();
  for (const version of [...(book.versions ?? []), ...(book.cost?.versions ?? [])]) {
    for (const window of Object.values(version.windows ?? {}))
      if (isValidTimeZone(window.time_zone)) zones.add(window.time_zone);
  }
  for (const version of [...(book.versions ?? []), ...(book.cost?.versions ?? [])]) {
    for (const calendar of Object.values(version.calendars ?? {})) {
      if (typeof calendar?.time_zone === 'string' && isValidTimeZone(calendar.time_zone)) zones.add(calendar.time_zone);
    }
  }
  const pinned: NonNullable<PriceBook['zone_transitions']> = { ...(book.zone_transitions ?? {}) };
  for (const zone of [...zones].sort()) {
    pinned[zone] ??= zoneTransitions(zone).map((t, i) => ({
      from: i === 0 ? null : new Date(Number(t.from)).toISOString(),
      offset_seconds: t.offsetSeconds,
    }));
  }
  return Object.keys(pinned).length > 0 ? { ...book, zone_transitions: pinned } : book;
}

/** Validation only: the same checks as compileBook. */
export function validateBook(input: unknown): { ok: true } | { ok: false; errors: BookProblem[] } {
  const result = compileBook(input);
  return result.ok ? { ok: true } : result;
}

// ---- a growable little-endian byte buffer ---------------------------------------------------------------

class ByteWriter {
  private buffer = new ArrayBuffer(4096);
  /** The current buffer's view (a new one after `allocate` grows it): what the layout's record writers take. */
  view = new DataView(this.buffer);
  length = 0;

  allocate(size: number): number {
    const at = (this.length + 7) & ~7;
    const end = at + size;
    if (end > this.buffer.byteLength) {
      let capacity = this.buffer.byteLength;
      while (capacity < end) capacity *= 2;
      const next = new ArrayBuffer(capacity);
      new Uint8Array(next).set(new Uint8Array(this.buffer, 0, this.length));
      this.buffer = next;
      this.view = new DataView(next);
    }
    this.length = end;
    return at;
  }

  i64(at: number, value: bigint): void {
    this.view.setBigInt64(at, value, true);
  }

  bytes(): Uint8Array {
    return new Uint8Array(this.buffer.slice(0, (this.length + 7) & ~7));
  }
}

// ---- the compiler ----------------------------------------------------------------------------------------

interface CompiledDimension {
  kind: number;
  name: number;
  a: number;
  b: number;
  c: bigint;
  d: bigint;
  terms: { slot: number; coefficient: bigint }[];
}

interface CompiledCard {
  meta: CardMeta;
  dimensions: CompiledDimension[];
  charges: CompiledCharge[];
  variants: { window: number; tier: number; charges: CompiledCharge[] }[];
  modifiers: { window: number; tier: number; multiplier: bigint }[];
}

class Compiler {
  readonly problems: BookProblem[] = [];
  private readonly properties: { name: string; money: boolean }[] = [];
  private readonly propertySlots = new Map<string, number>();
  private readonly counters: string[] = [];
  private readonly pools: string[] = [];
  private readonly names: string[] = [];
  private readonly zones: string[] = [];
  private readonly windows: { zone: number; mask: number; start: number; end: number; except: number; only: number }[] =
    [];
  /** Every version's calendars, equal ones once: zone index and sorted local dates as days since 1970-01-01. */
  private readonly calendars: { zone: number; days: number[] }[] = [];
  private stepsPerEvent = 4;
  /** The properties the card being compiled needs (see CardMeta.required). */
  private required = new Set<string>();
  private readonly pinnedZones = new Map<string, ZoneTransition[]>();

  run(input: unknown): CompiledBook | undefined {
    if (!isObject(input)) {
      this.problem('', 'a price book must be a JSON object');
      return undefined;
    }
    const book = input as unknown as PriceBook;
    if (typeof book.id !== 'string' || book.id.length === 0) this.problem('id', 'must be a non-empty string');
    if (typeof book.currency !== 'string' || !/^[A-Z]{3}$/.test(book.currency))
      this.problem('currency', 'must be an ISO 4217 code such as "USD"');
    if (book.cost !== undefined) {
      if (!isObject(book.cost)) this.problem('cost', 'must be an object with versions');
      else if (book.cost.currency !== undefined && book.cost.currency !== book.currency) {
        this.problem('cost.currency', 'must equal the book currency (margin is computed in one currency)');
      }
    }
    this.readPinnedZones(book.zone_transitions);
    const price = this.schedule(book.versions, 'versions', '');
    const cost = isObject(book.cost) ? this.schedule(book.cost.versions, 'cost.versions', 'cost:') : undefined;
    if (this.problems.length > 0 || !price) return undefined;
    return this.write(book, price, cost);
  }

  private readPinnedZones(input: unknown): void {
    if (input === undefined) return;
    if (!isObject(input)) return this.problem('zone_transitions', 'must map zone names to transition lists');
    for (const [zone, list] of Object.entries(input)) {
      const path = `zone_transitions.${zone}`;
      if (!Array.isArray(list) || list.length === 0) {
        this.problem(path, 'must be a non-empty list of { from, offset_seconds }');
        continue;
      }
      const transitions = list.map((entry, i): ZoneTransition => {
        const first = i === 0;
        if (!isObject(entry) || !Number.isInteger(entry.offset_seconds) || Math.abs(entry.offset_seconds) > 18 * 3600) {
          this.problem(`${path}[${i}].offset_seconds`, 'must be a whole number of seconds within 18 hours');
        }
        if (first !== (entry?.from === null))
          this.problem(`${path}[${i}].from`, first ? 'the first transition has from: null' : 'must be an instant');
        return {
          from: first ? -(1n << 63n) : this.instant(entry?.from, `${path}[${i}].from`),
          offsetSeconds: entry?.offset_seconds ?? 0,
        };
      });
      transitions.forEach((t, i) => {
        if (i > 0 && t.from <= transitions[i - 1].from)
          this.problem(`${path}[${i}].from`, 'transitions must be in ascending order');
      });
      this.pinnedZones.set(zone, transitions);
    }
  }

  /** A version's calendars by name, as indexes into the compiled list. */
  private versionCalendars(input: unknown, at: string): Map<string, number> {
    const byName = new Map<string, number>();
    if (input === undefined) return byName;
    if (!isObject(input)) {
      this.problem(at, 'must map calendar names to { time_zone, dates }');
      return byName;
    }
    for (const [name, calendar] of Object.entries(input)) {
      const path = `${at}.${name}`;
      if (!isObject(calendar)) {
        this.problem(path, 'must be an object with time_zone and dates');
        continue;
      }
      const zoneName = calendar.time_zone;
      if (typeof zoneName !== 'string' || !(this.pinnedZones.has(zoneName) || isValidTimeZone(zoneName))) {
        this.problem(`${path}.time_zone`, 'must be an IANA time zone such as "Asia/Shanghai"');
        continue;
      }
      if (!Array.isArray(calendar.dates)) {
        this.problem(`${path}.dates`, 'must be a list of local dates "YYYY-MM-DD"');
        continue;
      }
      const days: number[] = [];
      calendar.dates.forEach((date: unknown, i: number) => {
        const day = parseLocalDate(date);
        if (day === undefined)
          this.problem(`${path}.dates[${i}]`, 'must be a date "YYYY-MM-DD" between 1970-01-01 and 2099-12-31');
        else days.push(day);
      });
      const zone = this.intern(this.zones, zoneName);
      const sorted = [...new Set(days)].sort((a, b) => a - b);
      let index = this.calendars.findIndex((c) => c.zone === zone && c.days.join() === sorted.join());
      if (index < 0) index = this.calendars.push({ zone, days: sorted }) - 1;
      byName.set(name, index);
    }
    return byName;
  }

  private problem(path: string, message: string): void {
    this.problems.push({ path, message });
  }

  private intern(list: string[], value: string): number {
    const at = list.indexOf(value);
    if (at >= 0) return at;
    list.push(value);
    return list.length - 1;
  }

  private slot(name: string, money: boolean, path: string): number {
    if (STRING_PROPERTIES.has(name)) {
      this.problem(path, `"${name}" is a string property and cannot be measured`);
      return 0;
    }
    const existing = this.propertySlots.get(name);
    if (existing !== undefined) {
      if (this.properties[existing].money !== money)
        this.problem(path, `property "${name}" is used both as a quantity and as a money amount`);
      return existing;
    }
    this.properties.push({ name, money });
    this.propertySlots.set(name, this.properties.length - 1);
    return this.properties.length - 1;
  }

  private decimal(
    value: unknown,
    digits: number,
    path: string,
    what: { positive?: boolean; allowNegative?: boolean } = {},
  ): bigint {
    const parsed = parseScaled(value, digits, { allowNegative: what.allowNegative });
    if (!parsed.ok) {
      this.problem(path, parsed.reason);
      return 0n;
    }
    if (what.positive && parsed.value <= 0n) this.problem(path, 'must be greater than zero');
    return parsed.value;
  }

  private instant(value: unknown, path: string): bigint {
    const parsed = typeof value === 'string' ? parseInstant(value) : undefined;
    if (parsed === undefined) {
      this.problem(path, 'must be an ISO 8601 instant with a zone, e.g. "2026-01-01T00:00:00Z"');
      return 0n;
    }
    return parsed;
  }

  // -- schedules

  private schedule(versionsInput: unknown, path: string, counterPrefix: string): CompiledSchedule | undefined {
    if (!Array.isArray(versionsInput) || versionsInput.length === 0) {
      this.problem(path, 'must be a non-empty list of versions');
      return undefined;
    }
    const versions = versionsInput as BookVersion[];
    const schedule: CompiledSchedule = { versions: [], products: [], cards: [], poolsIncluded: [] };
    const productIndex = new Map<string, number>();
    versions.forEach((version, v) => {
      const at = `${path}[${v}]`;
      if (!isObject(version)) {
        this.problem(at, 'must be an object');
        return;
      }
      const from = this.instant(version.effective_from, `${at}.effective_from`);
      const previous = schedule.versions[schedule.versions.length - 1];
      if (previous && from <= previous.from)
        this.problem(`${at}.effective_from`, 'versions must be in strictly ascending effective_from order');
      schedule.versions.push({
        from,
        iso: typeof version.effective_from === 'string' ? new Date(Number(from)).toISOString() : '',
      });

      const included = new Map<string, bigint>();
      if (version.allowances !== undefined) {
        if (!isObject(version.allowances)) this.problem(`${at}.allowances`, 'must be an object of pools');
        else
          for (const [name, pool] of Object.entries(version.allowances)) {
            if (counterPrefix) this.problem(`${at}.allowances`, 'a cost schedule has no allowances');
            this.intern(this.pools, name);
            included.set(
              name,
              this.decimal(
                isObject(pool) ? pool.included : undefined,
                MICRO_DIGITS,
                `${at}.allowances.${name}.included`,
              ),
            );
          }
      }
      schedule.poolsIncluded.push(included);

      const calendars = this.versionCalendars(version.calendars, `${at}.calendars`);
      const windows = this.versionWindows(version.windows, `${at}.windows`, calendars);
      if (version.modifiers !== undefined && !Array.isArray(version.modifiers))
        this.problem(`${at}.modifiers`, 'must be a list');
      const modifiers: VersionModifier[] = (Array.isArray(version.modifiers) ? version.modifiers : []).map(
        (modifier, m) => {
          const mp = `${at}.modifiers[${m}]`;
          if (!isObject(modifier)) {
            this.problem(mp, 'must be an object');
            return { window: -1, tier: -1, multiplier: 0n, source: '' };
          }
          const { window, tier } = this.condition(modifier.when, windows, `${mp}.when`);
          if (
            modifier.cards !== undefined &&
            !(Array.isArray(modifier.cards) && modifier.cards.every((c) => typeof c === 'string'))
          ) {
            this.problem(`${mp}.cards`, 'must be a list of card ids');
          }
          const source = [
            modifier.when?.window !== undefined ? `window:${modifier.when.window}` : '',
            modifier.when?.service_tier !== undefined ? `service_tier:${modifier.when.service_tier}` : '',
          ]
            .filter(Boolean)
            .join('+');
          return {
            window,
            tier,
            source,
            multiplier: this.decimal(modifier.multiplier, NANO_DIGITS, `${mp}.multiplier`),
            cards: Array.isArray(modifier.cards) ? modifier.cards : undefined,
          };
        },
      );

      if (!Array.isArray(version.rate_cards)) {
        this.problem(`${at}.rate_cards`, 'must be a list of rate cards');
        return;
      }
      const seen = new Set<string>();
      version.rate_cards.forEach((card, c) => {
        const cp = `${at}.rate_cards[${c}]`;
        if (!isObject(card)) return this.problem(cp, 'must be an object');
        if (typeof card.id !== 'string' || card.id.length === 0)
          return this.problem(`${cp}.id`, 'must be a non-empty string');
        if (seen.has(card.id)) return this.problem(`${cp}.id`, `duplicate card id "${card.id}" in this version`);
        seen.add(card.id);
        if (!isObject(card.match) || Object.keys(card.match).length === 0) {
          return this.problem(`${cp}.match`, 'must name at least one property to match');
        }
        for (const [key, rule] of Object.entries(card.match)) checkMatchRule(rule, `${cp}.match.${key}`, this.problems);
        let product = productIndex.get(card.id);
        if (product === undefined) {
          product = schedule.products.length;
          productIndex.set(card.id, product);
          schedule.products.push({ id: card.id, match: card.match });
          schedule.cards.push(new Array(versions.length).fill(undefined));
        } else if (canonicalJson(schedule.products[product].match) !== canonicalJson(card.match)) {
          this.problem(
            `${cp}.match`,
            `card "${card.id}" matches differently than in an earlier version; give it a new id`,
          );
        }
        const modifiersForCard = modifiers.filter((modifier) => !modifier.cards || modifier.cards.includes(card.id));
        schedule.cards[product][v] = this.card(card, cp, windows, modifiersForCard, counterPrefix);
      });
      modifiers.forEach((modifier, m) => {
        for (const id of modifier.cards ?? []) {
          if (!seen.has(id)) this.problem(`${at}.modifiers[${m}].cards`, `no card "${id}" in this version`);
        }
      });
    });
    return schedule;
  }

  private versionWindows(input: unknown, path: string, calendars: Map<string, number>): Map<string, { index: number }> {
    const windows = new Map<string, { index: number }>();
    if (input === undefined) return windows;
    if (!isObject(input)) {
      this.problem(path, 'must be an object of named windows');
      return windows;
    }
    for (const [name, window] of Object.entries(input as Record<string, TimeWindow>)) {
      const wp = `${path}.${name}`;
      if (!isObject(window)) {
        this.problem(wp, 'must be an object');
        continue;
      }
      if (
        typeof window.time_zone !== 'string' ||
        !(this.pinnedZones.has(window.time_zone) || isValidTimeZone(window.time_zone))
      ) {
        this.problem(`${wp}.time_zone`, 'must be an IANA time zone such as "America/New_York"');
        continue;
      }
      const start = parseClock(window.start, false);
      const end = parseClock(window.end, true);
      if (start === undefined) this.problem(`${wp}.start`, 'must be a local time "HH:MM" or "HH:MM:SS"');
      if (end === undefined) this.problem(`${wp}.end`, 'must be a local time "HH:MM", "HH:MM:SS" or "24:00"');
      let mask = 0x7f;
      if (window.days !== undefined) {
        mask = 0;
        if (!Array.isArray(window.days) || window.days.length === 0)
          this.problem(`${wp}.days`, 'must be a non-empty list of weekdays');
        else
          window.days.forEach((day, d) => {
            const index = (L.WEEKDAYS as readonly string[]).indexOf(day);
            if (index < 0) this.problem(`${wp}.days[${d}]`, `must be one of ${L.WEEKDAYS.join(', ')}`);
            else mask |= 1 << index;
          });
      }
      const calendar = (field: 'except' | 'only'): number => {
        const name = window[field];
        if (name === undefined) return -1;
        const index = typeof name === 'string' ? calendars.get(name) : undefined;
        if (index === undefined)
          this.problem(`${wp}.${field}`, `no calendar ${JSON.stringify(name)} in this version's calendars`);
        return index ?? -1;
      };
      const except = calendar('except');
      const only = calendar('only');
      if (start === undefined || end === undefined) continue;
      const zone = this.intern(this.zones, window.time_zone);
      const record = { zone, mask, start, end, except, only };
      let index = this.windows.findIndex(
        (w) =>
          w.zone === zone &&
          w.mask === mask &&
          w.start === start &&
          w.end === end &&
          w.except === except &&
          w.only === only,
      );
      if (index < 0) index = this.windows.push(record) - 1;
      windows.set(name, { index });
    }
    return windows;
  }

  private condition(
    when: Condition | undefined,
    windows: Map<string, { index: number }>,
    path: string,
  ): { window: number; tier: number } {
    if (!isObject(when) || (when.window === undefined && when.service_tier === undefined)) {
      this.problem(path, 'must name a window or a service_tier');
      return { window: -1, tier: -1 };
    }
    let window = -1;
    let tier = -1;
    if (when.window !== undefined) {
      const found = typeof when.window === 'string' ? windows.get(when.window) : undefined;
      if (!found) this.problem(`${path}.window`, `no window "${String(when.window)}" in this version`);
      else window = found.index;
    }
    if (when.service_tier !== undefined) {
      tier = (L.SERVICE_TIERS as readonly string[]).indexOf(when.service_tier);
      if (tier < 0) this.problem(`${path}.service_tier`, `must be one of ${L.SERVICE_TIERS.join(', ')}`);
    }
    return { window, tier };
  }

  // -- cards

  private card(
    card: RateCard,
    path: string,
    windows: Map<string, { index: number }>,
    modifiers: VersionModifier[],
    counterPrefix: string,
  ): CompiledCard {
    const dimensions: CompiledDimension[] = [];
    const dimensionIndex = new Map<string, number>();
    const reads = new Set<string>();
    const required = (this.required = new Set<string>());
    const declared = isObject(card.dimensions) ? card.dimensions : {};
    if (card.dimensions !== undefined && !isObject(card.dimensions))
      this.problem(`${path}.dimensions`, 'must be an object of named dimensions');

    const dimension = (name: unknown, at: string): number => {
      if (typeof name !== 'string' || name.length === 0) {
        this.problem(at, 'must name an event property or a dimension of the card');
        return 0;
      }
      const known = dimensionIndex.get(name);
      if (known !== undefined) return known;
      const compiled = this.dimension(
        name,
        (declared as Record<string, Dimension>)[name],
        `${path}.dimensions.${name}`,
        at,
        reads,
      );
      dimensions.push(compiled);
      dimensionIndex.set(name, dimensions.length - 1);
      return dimensions.length - 1;
    };

    const chargeList = (list: unknown, at: string): { charges: CompiledCharge[]; meta: ChargeMeta[] } => {
      if (!Array.isArray(list) || list.length === 0) {
        this.problem(at, 'must be a non-empty list of charges');
        return { charges: [], meta: [] };
      }
      const charges = list.map((charge, i) =>
        this.charge(card.id, charge, `${at}[${i}]`, dimension, reads, counterPrefix),
      );
      return { charges: charges.map((c) => c.compiled), meta: charges.map((c) => c.meta) };
    };

    const base = chargeList(card.charges, `${path}.charges`);
    const variants: CompiledCard['variants'] = [];
    const chargeLists = [base.meta];
    if (card.variants !== undefined && !Array.isArray(card.variants))
      this.problem(`${path}.variants`, 'must be a list');
    (Array.isArray(card.variants) ? card.variants : []).forEach((variant, i) => {
      const vp = `${path}.variants[${i}]`;
      if (!isObject(variant)) return this.problem(vp, 'must be an object');
      const { window, tier } = this.condition(variant.when, windows, `${vp}.when`);
      const list = chargeList(variant.charges, `${vp}.charges`);
      variants.push({ window, tier, charges: list.charges });
      chargeLists.push(list.meta);
    });

    const compiledModifiers = modifiers.map(({ window, tier, multiplier }) => ({ window, tier, multiplier }));
    const modifierSources = modifiers.map((modifier) => modifier.source);

    const maxCharges = Math.max(...chargeLists.map((list) => list.length), 0);
    const maxTiers = Math.max(
      ...[base.charges, ...variants.map((v) => v.charges)].flat().map((c) => c.tiers.length),
      0,
    );
    this.stepsPerEvent = Math.max(this.stepsPerEvent, 4 + maxCharges * (5 + modifiers.length + maxTiers));

    const defaults = new Map<string, bigint>();
    if (card.defaults !== undefined && !isObject(card.defaults))
      this.problem(`${path}.defaults`, 'must map property names to decimal values');
    for (const [name, value] of Object.entries(isObject(card.defaults) ? card.defaults : {})) {
      const slot = this.propertySlots.get(name);
      if (!reads.has(name) || slot === undefined) {
        this.problem(`${path}.defaults.${name}`, 'must name a numeric property the card reads');
        continue;
      }
      defaults.set(
        name,
        this.decimal(value, this.properties[slot].money ? NANO_DIGITS : MICRO_DIGITS, `${path}.defaults.${name}`),
      );
    }

    return {
      meta: { id: card.id, chargeLists, modifierSources, reads: [...reads].sort(), required, defaults },
      dimensions,
      charges: base.charges,
      variants,
      modifiers: compiledModifiers,
    };
  }

  private dimension(
    name: string,
    definition: Dimension | undefined,
    path: string,
    usedAt: string,
    reads: Set<string>,
  ): CompiledDimension {
    const nameIndex = this.intern(this.names, name);
    const blank = { kind: L.DIMENSION_KIND_PROPERTY, name: nameIndex, a: 0, b: 0, c: 0n, d: 0n, terms: [] };
    if (definition === undefined) {
      reads.add(name);
      return { ...blank, a: this.slot(name, false, usedAt) };
    }
    if (isObject(definition) && 'formula' in definition) {
      const formula = definition.formula;
      if (!isObject(formula) || Object.keys(formula).length === 0) {
        this.problem(`${path}.formula`, 'must map property names to integer coefficients');
        return blank;
      }
      const terms = Object.entries(formula).map(([property, coefficient]) => {
        if (!Number.isSafeInteger(coefficient))
          this.problem(`${path}.formula.${property}`, 'must be an integer coefficient');
        reads.add(property);
        return {
          slot: this.slot(property, false, `${path}.formula.${property}`),
          coefficient: BigInt(Number.isSafeInteger(coefficient) ? coefficient : 0),
        };
      });
      return { ...blank, kind: L.DIMENSION_KIND_FORMULA, a: terms.length, terms };
    }
    if (isObject(definition) && 'gpu_time' in definition && isObject(definition.gpu_time)) {
      const gpu = definition.gpu_time;
      const count = gpu.count ?? 'gpu_count';
      const duration = gpu.duration ?? 'duration_seconds';
      reads.add(count);
      reads.add(duration);
      // Without a count or a duration, GPU time is not zero but unknown.
      this.required.add(count);
      this.required.add(duration);
      return {
        ...blank,
        kind: L.DIMENSION_KIND_GPU_TIME,
        a: this.slot(count, false, `${path}.gpu_time.count`),
        b: this.slot(duration, false, `${path}.gpu_time.duration`),
        c:
          gpu.minimum_seconds === undefined
            ? 0n
            : this.decimal(gpu.minimum_seconds, MICRO_DIGITS, `${path}.gpu_time.minimum_seconds`),
        d:
          gpu.increment_seconds === undefined
            ? 1_000_000n
            : this.decimal(gpu.increment_seconds, MICRO_DIGITS, `${path}.gpu_time.increment_seconds`, {
                positive: true,
              }),
      };
    }
    if (isObject(definition) && 'max' in definition) {
      const names = definition.max;
      if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string' && n.length > 0)) {
        this.problem(`${path}.max`, 'must be a non-empty list of event property names');
        return blank;
      }
      const terms = names.map((property, i) => {
        reads.add(property);
        return { slot: this.slot(property, false, `${path}.max[${i}]`), coefficient: 1n };
      });
      return { ...blank, kind: L.DIMENSION_KIND_MAX, a: terms.length, terms };
    }
    this.problem(path, 'must be { formula: {...} }, { gpu_time: {...} } or { max: [...] }');
    return blank;
  }

  private charge(
    cardId: string,
    charge: Charge,
    path: string,
    dimension: (name: unknown, at: string) => number,
    reads: Set<string>,
    counterPrefix: string,
  ): { compiled: CompiledCharge; meta: ChargeMeta } {
    const compiled: CompiledCharge = {
      model: 0,
      flags: 0,
      dimension: -1,
      pool: -1,
      counter: -1,
      per: DEFAULT_PER,
      rate: 0n,
      tiers: [],
      aux: -1,
      minimum: 0n,
    };
    const meta: ChargeMeta = { model: 'per_unit', per: DEFAULT_PER };
    if (!isObject(charge) || !isObject(charge.price)) {
      this.problem(isObject(charge) ? `${path}.price` : path, 'a charge needs a price object');
      return { compiled, meta };
    }
    const price = charge.price;
    const pp = `${path}.price`;
    const modelName = price.model;
    if (!Object.hasOwn(MODEL_COMPILERS, modelName)) {
      this.problem(`${pp}.model`, `must be one of ${Object.keys(MODEL_COMPILERS).join(', ')}`);
      return { compiled, meta };
    }
    const model = MODEL_COMPILERS[modelName];
    compiled.model = L.MODEL_CODE[modelName];
    compiled.flags = (model.measured ? L.CHARGE_FLAG_MEASURED : 0) | (model.modifiable ? L.CHARGE_FLAG_MODIFIABLE : 0);
    meta.model = modelName;
    const needsDimension = model.measured;
    if (needsDimension) compiled.dimension = dimension(charge.dimension, `${path}.dimension`);
    if (charge.allowance !== undefined) {
      if (counterPrefix) this.problem(`${path}.allowance`, 'a cost schedule has no allowances');
      else if (!needsDimension) this.problem(`${path}.allowance`, `a ${modelName} charge cannot draw an allowance`);
      else if (typeof charge.allowance !== 'string' || !charge.allowance)
        this.problem(`${path}.allowance`, 'must name an allowance pool');
      else {
        compiled.pool = this.intern(this.pools, charge.allowance);
        meta.pool = charge.allowance;
      }
    }
    if (charge.minimum !== undefined) {
      if (!needsDimension)
        this.problem(`${path}.minimum`, `a ${modelName} charge has no quantity to raise to a minimum`);
      else compiled.minimum = this.decimal(charge.minimum, MICRO_DIGITS, `${path}.minimum`, { positive: true });
    }
    const compiler: ChargeCompiler = {
      compiled,
      path: pp,
      defaultCounter: `${cardId}:${String(charge.dimension)}`,
      problem: (at, message) => this.problem(at, message),
      per: (value) =>
        value === undefined ? DEFAULT_PER : this.decimal(value, MICRO_DIGITS, `${pp}.per`, { positive: true }),
      money: (value, at) => this.decimal(value, NANO_DIGITS, `${pp}.${at}`),
      decimal: (value, digits, at, what) => this.decimal(value, digits, at, what),
      dimension,
      counter: (name) => this.intern(this.counters, counterPrefix + name),
      requiredMoney: (name, at) => {
        reads.add(name);
        this.required.add(name);
        return this.slot(name, true, at);
      },
    };
    (model as ModelCompiler<typeof price>).compile(price, compiler);
    meta.per = compiled.per;
    return { compiled, meta };
  }

  // -- binary output

  private write(book: PriceBook, price: CompiledSchedule, cost: CompiledSchedule | undefined): CompiledBook {
    const out = new ByteWriter();
    const header = out.allocate(L.BOOK_SIZE);

    const zones = out.allocate(this.zones.length * L.ZONE_SIZE);
    this.zones.forEach((zone, z) => {
      const transitions = this.pinnedZones.get(zone) ?? zoneTransitions(zone);
      const table = out.allocate(transitions.length * L.TRANSITION_SIZE);
      transitions.forEach((t, i) => {
        L.writeTransition(out.view, table + i * L.TRANSITION_SIZE, { from: t.from, offset: BigInt(t.offsetSeconds) });
      });
      L.writeZone(out.view, zones + z * L.ZONE_SIZE, { transitionCount: transitions.length, transitions: table });
    });
    const calendars = out.allocate(this.calendars.length * L.CALENDAR_SIZE);
    this.calendars.forEach((calendar, c) => {
      const ranges = calendarRanges(
        calendar.days,
        this.pinnedZones.get(this.zones[calendar.zone]) ?? zoneTransitions(this.zones[calendar.zone]),
      );
      const table = out.allocate(ranges.length * L.RANGE_SIZE);
      ranges.forEach((range, i) => {
        L.writeRange(out.view, table + i * L.RANGE_SIZE, range);
      });
      L.writeCalendar(out.view, calendars + c * L.CALENDAR_SIZE, { rangeCount: ranges.length, ranges: table });
    });
    const windows = out.allocate(this.windows.length * L.WINDOW_SIZE);
    this.windows.forEach((w, i) => L.writeWindow(out.view, windows + i * L.WINDOW_SIZE, { ...w, weekdays: w.mask }));

    const priceSchedule = this.writeSchedule(out, price);
    const costSchedule = cost ? this.writeSchedule(out, cost) : undefined;
    L.writeBook(out.view, header, {
      tag: L.BOOK_MAGIC,
      propertyCount: this.properties.length,
      counterCount: this.counters.length,
      poolCount: this.pools.length,
      priceSchedule: priceSchedule.at,
      costSchedule: costSchedule?.at ?? 0,
      windows,
      zones,
      calendars,
    });
    return {
      kind: 'tariff.compiled-book',
      id: book.id,
      currency: book.currency,
      bytes: out.bytes(),
      properties: this.properties,
      propertySlots: this.propertySlots,
      counters: this.counters,
      pools: this.pools,
      sortedCounters: alphabeticalIndexes(this.counters),
      sortedPools: alphabeticalIndexes(this.pools),
      names: this.names,
      price: priceSchedule.meta,
      cost: costSchedule?.meta,
      stepsPerEvent: this.stepsPerEvent,
    };
  }

  /** Writes a schedule; `at` is where its SCHEDULE record is. */
  private writeSchedule(out: ByteWriter, schedule: CompiledSchedule): { at: number; meta: ScheduleMeta } {
    const base = out.allocate(L.SCHEDULE_SIZE);
    const versions = out.allocate(schedule.versions.length * L.VERSION_SIZE);
    schedule.versions.forEach((v, i) =>
      L.writeVersion(out.view, versions + i * L.VERSION_SIZE, { effectiveFrom: v.from }),
    );
    const included = out.allocate(Math.max(1, schedule.versions.length * this.pools.length) * 8);
    schedule.poolsIncluded.forEach((pools, v) => {
      this.pools.forEach((name, p) => out.i64(included + (v * this.pools.length + p) * 8, pools.get(name) ?? -1n));
    });
    const written = new Map<string, number>();
    const products = out.allocate(schedule.products.length * L.PRODUCT_SIZE);
    L.writeSchedule(out.view, base, {
      versionCount: schedule.versions.length,
      versions,
      products,
      poolsIncluded: included,
    });
    schedule.cards.forEach((byVersion, product) => {
      const chain: { version: number; offset: number }[] = [];
      let previousKey: string | undefined;
      byVersion.forEach((card, version) => {
        const key = card ? cardKey(card) : 'absent';
        if (key === previousKey) return;
        previousKey = key;
        let offset = 0;
        if (card) {
          offset = written.get(key) ?? this.writeCard(out, card);
          written.set(key, offset);
        }
        chain.push({ version, offset });
      });
      const table = out.allocate(chain.length * L.CHAIN_ENTRY_SIZE);
      chain.forEach((link, i) =>
        L.writeChainEntry(out.view, table + i * L.CHAIN_ENTRY_SIZE, { firstVersion: link.version, card: link.offset }),
      );
      L.writeProduct(out.view, products + product * L.PRODUCT_SIZE, { chain: table, chainLength: chain.length });
    });

    const meta: ScheduleMeta = {
      versions: schedule.versions,
      productIds: schedule.products.map((p) => p.id),
      resolver: new CardResolver(schedule.products),
      cards: schedule.cards.map((byVersion) => byVersion.map((card) => card?.meta)),
    };
    return { at: base, meta };
  }

  private writeCard(out: ByteWriter, card: CompiledCard): number {
    const dimensions = out.allocate(Math.max(1, card.dimensions.length) * L.DIMENSION_SIZE);
    card.dimensions.forEach((d, i) => {
      const at = dimensions + i * L.DIMENSION_SIZE;
      let b = d.b;
      if (d.kind === L.DIMENSION_KIND_FORMULA || d.kind === L.DIMENSION_KIND_MAX) {
        b = out.allocate(d.terms.length * L.TERM_SIZE);
        d.terms.forEach((term, t) => L.writeTerm(out.view, b + t * L.TERM_SIZE, term));
      }
      L.writeDimension(out.view, at, { kind: d.kind, name: d.name, a: d.a, b, c: d.c, d: d.d });
    });
    const charges = writeCharges(out, card.charges);
    const variants = out.allocate(Math.max(1, card.variants.length) * L.VARIANT_SIZE);
    card.variants.forEach((v, i) => {
      const charges = writeCharges(out, v.charges);
      L.writeVariant(out.view, variants + i * L.VARIANT_SIZE, {
        window: v.window,
        serviceTier: v.tier,
        chargeCount: v.charges.length,
        charges,
      });
    });
    const modifiers = out.allocate(Math.max(1, card.modifiers.length) * L.MODIFIER_SIZE);
    card.modifiers.forEach((m, i) => {
      L.writeModifier(out.view, modifiers + i * L.MODIFIER_SIZE, {
        window: m.window,
        serviceTier: m.tier,
        multiplier: m.multiplier,
      });
    });
    const at = out.allocate(L.CARD_SIZE);
    L.writeCard(out.view, at, {
      chargeCount: card.charges.length,
      charges,
      variantCount: card.variants.length,
      variants,
      modifierCount: card.modifiers.length,
      modifiers,
      dimensions,
    });
    return at;
  }
}

interface VersionModifier {
  window: number;
  tier: number;
  multiplier: bigint;
  source: string;
  cards?: string[];
}

interface CompiledSchedule {
  versions: { from: bigint; iso: string }[];
  products: { id: string; match: RateCard['match'] }[];
  cards: (CompiledCard | undefined)[][];
  poolsIncluded: Map<string, bigint>[];
}

function writeCharges(out: ByteWriter, charges: CompiledCharge[]): number {
  const base = out.allocate(Math.max(1, charges.length) * L.CHARGE_SIZE);
  charges.forEach((c, i) => {
    const at = base + i * L.CHARGE_SIZE;
    let tiers = 0;
    if (c.tiers.length > 0) {
      tiers = out.allocate(c.tiers.length * L.TIER_SIZE);
      c.tiers.forEach((tier, t) => L.writeTier(out.view, tiers + t * L.TIER_SIZE, tier));
    }
    const divisor = gcd(c.rate, c.per);
    L.writeCharge(out.view, at, {
      ...c,
      tierCount: c.tiers.length,
      tiers,
      reducedRate: divisor === 0n ? 0n : c.rate / divisor,
      reducedPer: divisor === 0n ? 1n : c.per / divisor,
    });
  });
  return base;
}

const DAY_MS = 86_400_000n;

/**
 * The instants whose local date in the zone is one of `days`, as sorted disjoint [start, end) ranges: in each span of
 * the zone's transition table the offset is fixed, so a local day is one interval there; a day crossed by a
 * transition is cut into the pieces of each span (where clocks fall back across midnight, a day can come in two).
 */
export function calendarRanges(days: number[], transitions: ZoneTransition[]): { start: bigint; end: bigint }[] {
  const pieces: { start: bigint; end: bigint }[] = [];
  for (const day of new Set(days)) {
    const localStart = BigInt(day) * DAY_MS;
    // Offsets are within a day of UTC: only the spans from the one in force a day before the local midnight matter.
    let low = 0;
    let high = transitions.length;
    while (high - low > 1) {
      const middle = (low + high) >> 1;
      if (transitions[middle].from <= localStart - DAY_MS) low = middle;
      else high = middle;
    }
    for (let i = low; i < transitions.length && transitions[i].from < localStart + 2n * DAY_MS; i++) {
      const transition = transitions[i];
      const spanEnd = i + 1 < transitions.length ? transitions[i + 1].from : 1n << 62n;
      const offset = BigInt(transition.offsetSeconds) * 1000n;
      const start = localStart - offset > transition.from ? localStart - offset : transition.from;
      const end = localStart + DAY_MS - offset < spanEnd ? localStart + DAY_MS - offset : spanEnd;
      if (start < end) pieces.push({ start, end });
    }
  }
  pieces.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const merged: { start: bigint; end: bigint }[] = [];
  for (const piece of pieces) {
    const last = merged[merged.length - 1];
    if (last && piece.start <= last.end) {
      if (piece.end > last.end) last.end = piece.end;
    } else merged.push({ ...piece });
  }
  return merged;
}

/** Days since 1970-01-01 of a local date "YYYY-MM-DD" in 1970-2099. */
function parseLocalDate(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (year < 1970 || year > 2099 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month))
    return undefined;
  return Date.UTC(year, month - 1, day) / 86_400_000;
}

function alphabeticalIndexes(names: string[]): number[] {
  return names
    .map((name, i) => ({ name, i }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map(({ i }) => i);
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a < 0n ? -a : a;
}

function cardKey(card: CompiledCard): string {
  return JSON.stringify([card.meta, card.dimensions, card.charges, card.variants, card.modifiers], (_, v) =>
    typeof v === 'bigint' ? `${v}n` : v,
  );
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_, v) =>
    isObject(v) && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}

function isObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Seconds of the local day for "HH:MM[:SS]"; "24:00" only as an end. */
function parseClock(value: unknown, isEnd: boolean): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value);
  if (!match) return undefined;
  const [hours, minutes, seconds] = [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)];
  if (hours === 24 && minutes === 0 && seconds === 0 && isEnd) return 86_400;
  if (hours > 23 || minutes > 59 || seconds > 59) return undefined;
  return hours * 3600 + minutes * 60 + seconds;
}

const INSTANT_PATTERN = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/;

/** Milliseconds since the epoch for an RFC 3339 date-time (seconds required); digits past ms are truncated. */
export function parseInstant(text: string): bigint | undefined {
  const match = INSTANT_PATTERN.exec(text);
  if (!match) return undefined;
  const year = +match[1];
  const month = +match[2];
  const day = +match[3];
  const hour = +match[4];
  const minute = +match[5];
  const second = +match[6];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
    return undefined;
  const zone = match[8];
  let offset = 0;
  if (zone !== 'Z' && zone !== 'z') {
    const zoneHours = +zone.slice(1, 3);
    const zoneMinutes = +zone.slice(4, 6);
    if (zoneHours > 23 || zoneMinutes > 59) return undefined;
    offset = (zone[0] === '-' ? -1 : 1) * (zoneHours * 60 + zoneMinutes) * 60_000;
  }
  const fraction = match[7];
  const milliseconds = fraction === undefined ? 0 : +(fraction + '00').slice(0, 3);
  // Date.UTC reads years 0-99 as 1900-1999: shift by one 400-year Gregorian cycle and back.
  const cycle = year < 100 ? 400 : 0;
  const utc = Date.UTC(year + cycle, month - 1, day, hour, minute, second) - (cycle === 0 ? 0 : GREGORIAN_CYCLE_MS);
  return BigInt(utc - offset + milliseconds);
}

const GREGORIAN_CYCLE_MS = 146_097 * 86_400_000;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}
