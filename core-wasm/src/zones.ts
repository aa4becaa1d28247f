// Compiles an IANA time zone into its UTC-offset transitions (1970-2100) using the runtime's Intl data,
// so the kernel only compares instants. Cached per zone: a zone costs ~7,000 Intl calls once.

export interface ZoneTransition {
  /** First instant (ms) at which `offsetSeconds` applies; the first entry applies to all earlier instants. */
  from: bigint;
  offsetSeconds: number;
}

const RANGE_START = Date.UTC(1970, 0, 1);
const RANGE_END = Date.UTC(2100, 0, 1);
const STEP = 7 * 86_400_000;
const cache = new Map<string, ZoneTransition[]>();

export function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export function zoneTransitions(zone: string): ZoneTransition[] {
  const cached = cache.get(zone);
  if (cached) return cached;
  const offsetAt = offsetFunction(zone);
  const transitions: ZoneTransition[] = [{ from: -(1n << 63n), offsetSeconds: offsetAt(RANGE_START) }];
  let previous = transitions[0].offsetSeconds;
  for (let at = RANGE_START + STEP; at <= RANGE_END; at += STEP) {
    const offset = offsetAt(at);
    if (offset === previous) continue;
    // Binary search the first second in (at - STEP, at] with the new offset.
    let low = at - STEP;
    let high = at;
    while (high - low > 1000) {
      const middle = low + Math.floor((high - low) / 2000) * 1000;
      if (offsetAt(middle) === previous) low = middle;
      else high = middle;
    }
    transitions.push({ from: BigInt(high), offsetSeconds: offset });
    previous = offset;
  }
  cache.set(zone, transitions);
  return transitions;
}

function offsetFunction(zone: string): (instant: number) => number {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  return (instant) => {
    const parts: Record<string, number> = {};
    for (const part of format.formatToParts(instant)) {
      if (part.type !== 'literal') parts[part.type] = Number(part.value);
    }
    const local = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
    return Math.round((local - Math.floor(instant / 1000) * 1000) / 1000);
  };
}
