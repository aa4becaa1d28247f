// Pure: the ECB euro foreign exchange reference rates file (eurofxref.csv, eurofxref-hist.csv) as rates. Layout:
// a header `Date,USD,JPY,...` then one row per day, `2026-12-04,1.0534,158.12,...` (the daily file writes
// `04 December 2026` and a space after each comma; both end rows with a comma). A currency not quoted that day
// is `N/A` (or empty). Each cell is 1 EUR in that currency. Every problem of the file is reported at once, by
// line, and a file with any problem gives no rates at all.
import { minorUnitOf } from '@tariff/openapi/schemas/iso4217';
import { rateProblem } from '@tariff/openapi/schemas/currency';

export interface ParsedRate {
  base: string;
  quote: string;
  rate: string;
  asOf: Date;
}

export interface FileProblem {
  field: string;
  reason: string;
}

export type ParseResult = { ok: true; rates: ParsedRate[]; days: number } | { ok: false; problems: FileProblem[] };

const months = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];

/** A reference date: ISO `2026-12-04` or the daily file's `04 December 2026`; the rates apply from its 00:00 UTC. */
function parseDate(cell: string): Date | undefined {
  let year: number, month: number, day: number;
  const iso = /^(\d{4})-(\d{2})-(\d{2})$/.exec(cell);
  const long = /^(\d{1,2}) ([A-Za-z]+) (\d{4})$/.exec(cell);
  if (iso) [year, month, day] = [Number(iso[1]), Number(iso[2]), Number(iso[3])];
  else if (long && months.includes(long[2].toLowerCase()))
    [year, month, day] = [Number(long[3]), months.indexOf(long[2].toLowerCase()) + 1, Number(long[1])];
  else return undefined;
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day
    ? date
    : undefined;
}

const cellsOf = (line: string) => {
  const cells = line.split(',').map((c) => c.trim());
  // The ECB ends every line with a comma.
  if (cells.length > 1 && cells.at(-1) === '') cells.pop();
  return cells;
};

export function parseEcbCsv(content: string): ParseResult {
  const lines = content.replace(/^\uFEFF/, '').split(/\r?\n/);
  const problems: FileProblem[] = [];
  const header = cellsOf(lines[0] ?? '');
  if (header[0]?.toLowerCase() !== 'date' || header.length < 2) {
    return {
      ok: false,
      problems: [{ field: 'line 1', reason: 'must be the header "Date,USD,JPY,..." of an ECB reference-rate file' }],
    };
  }
  const quotes = header.slice(1);
  const seen = new Set<string>();
  quotes.forEach((code, i) => {
    if (minorUnitOf(code) === undefined && !/^[A-Z]{3}$/.test(code))
      problems.push({ field: `line 1, column ${i + 2}`, reason: `"${code}" is not a currency code` });
    else if (code === 'EUR')
      problems.push({ field: `line 1, column ${i + 2}`, reason: 'EUR is the base of the file, not a quote' });
    else if (seen.has(code)) problems.push({ field: `line 1, column ${i + 2}`, reason: `${code} appears twice` });
    seen.add(code);
  });
  const rates: ParsedRate[] = [];
  const dates = new Map<number, number>();
  for (let n = 1; n < lines.length; n++) {
    if (lines[n].trim() === '') continue;
    const where = `line ${n + 1}`;
    const cells = cellsOf(lines[n]);
    if (cells.length !== header.length) {
      problems.push({ field: where, reason: `has ${cells.length} cells, the header ${header.length}` });
      continue;
    }
    const asOf = parseDate(cells[0]);
    if (!asOf) {
      problems.push({
        field: `${where}, column 1`,
        reason: `"${cells[0]}" is not a date such as 2026-12-04 or 04 December 2026`,
      });
      continue;
    }
    const earlier = dates.get(asOf.getTime());
    if (earlier !== undefined)
      problems.push({ field: `${where}, column 1`, reason: `${cells[0]} is also on line ${earlier}` });
    dates.set(asOf.getTime(), n + 1);
    cells.slice(1).forEach((cell, i) => {
      if (cell === 'N/A' || cell === '') return;
      const problem = rateProblem(cell);
      if (problem) problems.push({ field: `${where}, column ${i + 2} (${quotes[i]})`, reason: `"${cell}" ${problem}` });
      else rates.push({ base: 'EUR', quote: quotes[i], rate: cell, asOf });
    });
  }
  // Currencies ISO no longer lists (the historical file has CYP, DEM, ...) are skipped, not refused: they are
  // not invoiceable, so no conversion can ask for them.
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, rates: rates.filter((r) => minorUnitOf(r.quote) !== undefined), days: dates.size };
}
