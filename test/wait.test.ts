import { describe, expect, it } from 'vitest';
import { eventually } from './wait.ts';

describe('eventually', () => {
  it('returns the first value that is not undefined, null or false, probing until then', async () => {
    let probes = 0;
    const values = [undefined, null, false, 0, 1] as const;
    expect(await eventually('a value', () => values[probes++], { intervalMs: 1 })).toBe(0);
    expect(probes).toBe(4);
  });

  it('fails naming what never happened, once past its limit', async () => {
    let probes = 0;
    await expect(
      eventually('the queue drained', () => (probes++, false), { limitMs: 30, intervalMs: 5 }),
    ).rejects.toThrow('the queue drained: still not the case after 30 ms');
    expect(probes).toBeGreaterThan(1);
  });

  it('fails at once when the probe throws', async () => {
    let probes = 0;
    await expect(
      eventually('x', () => {
        probes++;
        throw new Error('failed job');
      }),
    ).rejects.toThrow('failed job');
    expect(probes).toBe(1);
  });
});
