import { describe, expect, it } from 'vitest';
import { parseEcbCsv } from './ecb.ts';

describe('parseEcbCsv', () => {
  it('reads the historical layout, skipping N/A cells and currencies ISO no longer lists', () => {
    const file = 'Date,USD,JPY,CYP,KWD,\n2026-03-31,1.0834,157.83,N/A,0.3334,\n2026-03-30,1.0811,N/A,0.5853,,\n';
    const parsed = parseEcbCsv(file);
    expect(parsed).toEqual({
      ok: true,
      days: 2,
      rates: [
        { base: 'EUR', quote: 'USD', rate: '1.0834', asOf: new Date('2026-03-31T00:00:00Z') },
        { base: 'EUR', quote: 'JPY', rate: '157.83', asOf: new Date('2026-03-31T00:00:00Z') },
        { base: 'EUR', quote: 'KWD', rate: '0.3334', asOf: new Date('2026-03-31T00:00:00Z') },
        { base: 'EUR', quote: 'USD', rate: '1.0811', asOf: new Date('2026-03-30T00:00:00Z') },
      ],
    });
  });

  it('reads the daily layout (long date, spaces after commas)', () => {
    const parsed = parseEcbCsv('Date, USD, JPY, \n04 December 2026, 1.0534, 158.12, \n');
    expect(parsed).toMatchObject({
      ok: true,
      days: 1,
      rates: [
        { quote: 'USD', rate: '1.0534', asOf: new Date('2026-12-04T00:00:00Z') },
        { quote: 'JPY', rate: '158.12' },
      ],
    });
  });

  it('names every problem by line and column, and gives no rates', () => {
    const file = [
      'Date,USD,JPY,usd,USD',
      '2026-03-31,1.08,157',
      '2026-02-30,1.08,157,1,1',
      '2026-03-29,-1.08,abc,1,1',
      '2026-03-28,0,1e3,1,1',
      '2026-03-31,1.08,157,1,1',
    ].join('\n');
    const parsed = parseEcbCsv(file);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.problems).toEqual([
      { field: 'line 1, column 4', reason: '"usd" is not a currency code' },
      { field: 'line 1, column 5', reason: 'USD appears twice' },
      { field: 'line 2', reason: 'has 3 cells, the header 5' },
      { field: 'line 3, column 1', reason: '"2026-02-30" is not a date such as 2026-12-04 or 04 December 2026' },
      { field: 'line 4, column 2 (USD)', reason: expect.stringContaining('"-1.08" must be a decimal') },
      { field: 'line 4, column 3 (JPY)', reason: expect.stringContaining('"abc" must be a decimal') },
      { field: 'line 5, column 2 (USD)', reason: '"0" must be greater than zero' },
      { field: 'line 5, column 3 (JPY)', reason: expect.stringContaining('"1e3" must be a decimal') },
    ]);
  });

  it('refuses a file that is not an ECB file, and a date given twice', () => {
    expect(parseEcbCsv('hello,world\n1,2')).toMatchObject({ ok: false, problems: [{ field: 'line 1' }] });
    expect(parseEcbCsv('Date,USD\n2026-03-31,1.08\n2026-03-31,1.09\n')).toEqual({
      ok: false,
      problems: [{ field: 'line 3, column 1', reason: '2026-03-31 is also on line 2' }],
    });
  });
});
