// Instants and time-of-use windows for the reference. Local time comes from Intl.DateTimeFormat for the IANA zone,
// independently of the UTC-offset transition table the host compiles for the kernel.
import type { Calendar, TimeWindow, Weekday } from '../../core-wasm/src/book.ts';
import { InvalidInputError } from './numbers.ts';

const MS_PER_DAY = 86_400_000;
const SECONDS_PER_DAY = 86_400;

/** Monday first, matching `weekdayIndex` below. */
export const WEEKDAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

// RFC 3339 date-time: seconds required, `T`/`Z` in either case, any number of fraction digits, numeric offset with a colon.
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Milliseconds since the epoch, digits past the millisecond truncated; null when not an RFC 3339 instant. */
export function parseInstant(text: unknown): number | null {
  if (typeof text !== 'string') return null;
  const m = INSTANT.exec(text);
  if (m === null) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  const millis = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  let offsetMinutes = 0;
  if (m[8] === undefined) {
    const offsetHours = Number(m[10]);
    const offsetMins = Number(m[11]);
    if (offsetHours > 23 || offsetMins > 59) return null;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  const local = daysFromCivil(year, month, day) * MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000 + millis;
  return local - offsetMinutes * 60_000;
}

export function parseStoredInstant(text: unknown, path: string): number {
  const ms = parseInstant(text);
  if (ms === null) throw new InvalidInputError(`${path}: not an RFC 3339 instant: ${JSON.stringify(text)}`);
  return ms;
}

/** "HH:MM" or "HH:MM:SS" as seconds of the day; "24:00" (or "24:00:00") only where `allowEndOfDay`. */
export function parseClock(text: unknown, allowEndOfDay: boolean, path: string): number {
  const m = typeof text === 'string' ? /^(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(text) : null;
  if (m !== null) {
    const seconds = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3] ?? 0);
    if (Number(m[1]) <= 23 && Number(m[2]) <= 59 && Number(m[3] ?? 0) <= 59) return seconds;
    if (allowEndOfDay && seconds === SECONDS_PER_DAY && Number(m[1]) === 24) return seconds;
  }
  throw new InvalidInputError(`${path}: not a local time "HH:MM" or "HH:MM:SS": ${JSON.stringify(text)}`);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (formatter === undefined) {
    try {
      formatter = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      throw new InvalidInputError(`unknown IANA time zone ${JSON.stringify(zone)}`);
    }
    formatters.set(zone, formatter);
  }
  return formatter;
}

export function assertTimeZone(zone: unknown, path: string): void {
  if (typeof zone !== 'string') throw new InvalidInputError(`${path}: expected an IANA zone name`);
  formatterFor(zone);
}

// The host's transition table spans 1970 to 2100; outside it the offset at the nearer end stays in force.
const TABLE_START_MS = 0;
const TABLE_END_MS = daysFromCivil(2100, 1, 1) * MS_PER_DAY - 1000;

/** The zone's UTC offset in milliseconds at an instant, read from Intl's local wall clock at that whole second. */
export function utcOffsetMs(zone: string, ms: number): number {
  const instant = Math.min(Math.max(ms, TABLE_START_MS), TABLE_END_MS);
  const wholeSecond = Math.floor(instant / 1000) * 1000;
  const parts: Record<string, number> = {};
  for (const part of formatterFor(zone).formatToParts(new Date(wholeSecond))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const hour = parts.hour === 24 ? 0 : parts.hour!;
  const local =
    daysFromCivil(parts.year!, parts.month!, parts.day!) * MS_PER_DAY +
    ((hour * 60 + parts.minute!) * 60 + parts.second!) * 1000;
  return local - wholeSecond;
}

/** Local second of the day (0..86399) and weekday (0 = Monday) of an instant in a zone. */
export function localClock(zone: string, ms: number): { secondOfDay: number; weekday: number } {
  const localSeconds = Math.floor(ms / 1000) + utcOffsetMs(zone, ms) / 1000;
  const day = Math.floor(localSeconds / SECONDS_PER_DAY);
  // 1970-01-01 was a Thursday (index 3 counting from Monday).
  return { secondOfDay: localSeconds - day * SECONDS_PER_DAY, weekday: (((day + 3) % 7) + 7) % 7 };
}

/**
 * `start <= s < end` on a listed day; a window whose end is at or before its start wraps midnight:
 * `s >= start` on a listed day, or `s < end` on the day after a listed day.
 */
export function windowHolds(window: TimeWindow, ms: number, calendars: Record<string, Calendar> = {}): boolean {
  const start = parseClock(window.start, false, 'window.start');
  const end = parseClock(window.end, true, 'window.end');
  const { secondOfDay, weekday } = localClock(window.time_zone, ms);
  const listed = (index: number): boolean => window.days === undefined || window.days.includes(WEEKDAYS[index]!);
  const holds =
    end > start
      ? listed(weekday) && secondOfDay >= start && secondOfDay < end
      : (listed(weekday) && secondOfDay >= start) || (listed((weekday + 6) % 7) && secondOfDay < end);
  if (!holds) return false;
  if (window.except !== undefined && onCalendar(calendars[window.except]!, ms)) return false;
  return window.only === undefined || onCalendar(calendars[window.only]!, ms);
}

/** Days since 1970-01-01 of a calendar date "YYYY-MM-DD" (1970-2099). */
export function calendarDay(text: unknown, path: string): number {
  const m = typeof text === 'string' ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(text) : null;
  const [year, month, day] = m === null ? [0, 0, 0] : [Number(m[1]), Number(m[2]), Number(m[3])];
  if (
    m === null ||
    year < 1970 ||
    year > 2099 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysInMonth(year, month)
  ) {
    throw new InvalidInputError(`${path}: not a date YYYY-MM-DD in 1970-2099: ${JSON.stringify(text)}`);
  }
  return daysFromCivil(year, month, day);
}

/** An instant is on a calendar when its local date in the calendar's zone (read from Intl) is one of the dates. */
export function onCalendar(calendar: Calendar, ms: number): boolean {
  const localSeconds = Math.floor(ms / 1000) + utcOffsetMs(calendar.time_zone, ms) / 1000;
  const day = Math.floor(localSeconds / SECONDS_PER_DAY);
  let days = calendarDays.get(calendar);
  if (days === undefined)
    calendarDays.set(calendar, (days = new Set(calendar.dates.map((date) => calendarDay(date, 'calendar date')))));
  return days.has(day);
}

const calendarDays = new WeakMap<Calendar, Set<number>>();
