import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkSpec, renderAll, type LayoutSpec } from './generate.ts';
import { CONSTANTS, ENUMS, STRUCTS } from './spec.ts';

const spec: LayoutSpec = { structs: STRUCTS, enums: ENUMS, constants: CONSTANTS };

describe('the generated memory layout', () => {
  it('is what the spec gives: regenerating changes neither committed file', () => {
    for (const { path, text } of renderAll()) expect(readFileSync(path, 'utf8'), path).toBe(text);
  });

  it('comes from a consistent spec', () => {
    expect(checkSpec(spec)).toEqual([]);
  });

  it('refuses a spec whose fields overlap, straddle their alignment or leave the record', () => {
    const charge = STRUCTS.find((s) => s.prefix === 'CHARGE')!;
    const broken: LayoutSpec = {
      ...spec,
      structs: [
        {
          ...charge,
          fields: [
            ...charge.fields,
            { name: 'shadow', at: 20, kind: 'i32' }, // inside CHARGE.per
            { name: 'crooked', at: 66, kind: 'i32' }, // not 4-aligned, and inside CHARGE.minimum
            { name: 'beyond', at: 72, kind: 'i64' }, // past the 72-byte record
          ],
        },
      ],
    };
    const problems = checkSpec(broken);
    expect(problems).toContain('CHARGE.shadow: byte 20 is also per');
    expect(problems).toContain('CHARGE.crooked: offset 66 is not aligned to its 4-byte i32');
    expect(problems).toContain('CHARGE.beyond: bytes 72-79 fall outside the 72-byte record');
    expect(() => renderAll(broken)).toThrow(/spec\.ts is inconsistent/);
  });

  it('refuses two constants with one name', () => {
    const problems = checkSpec({
      ...spec,
      constants: [...CONSTANTS, { name: 'CHARGE_SIZE', kind: 'i32', value: 1, doc: 'clash' }],
    });
    expect(problems).toContain('CHARGE_SIZE: the constant CHARGE_SIZE is defined twice');
  });
});
