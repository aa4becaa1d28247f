import { describe, expect, it } from 'vitest';
import { checkTaxId } from './tax-ids.ts';

describe('tax id formats', () => {
  it.each([
    ['DE', 'DE136695976', 'DE136695976'],
    ['DE', '136 695 976', 'DE136695976'],
    ['FR', 'FR40303265045', 'FR40303265045'],
    ['GR', 'EL094259216', 'EL094259216'],
    ['AT', 'ATU13585627', 'ATU13585627'],
    ['NL', 'NL004495445B01', 'NL004495445B01'],
    ['GB', 'GB980780684', 'GB980780684'],
    ['CH', 'CHE-116.281.710 MWST', 'CHE116281710MWST'],
    ['NO', '974760673MVA', 'NO974760673MVA'],
    ['AU', '51 824 753 556', '51824753556'],
    ['NZ', '49-091-850', '49091850'],
    ['CA', '123456782RT0001', '123456782RT0001'],
    ['JP', 'T5835678256246', 'T5835678256246'],
    ['SG', '197401143C', '197401143C'],
    ['IN', '27AAPFU0939F1ZV', '27AAPFU0939F1ZV'],
  ])('accepts a %s id %s as %s', (country, id, normalized) => {
    expect(checkTaxId(country, id)).toEqual({ ok: true, normalized, formatChecked: true });
  });

  it.each([
    ['DE', 'DE136695977', 'tax_id_malformed'],
    ['DE', 'hello', 'tax_id_malformed'],
    ['AU', '51 824 753 557', 'tax_id_malformed'],
    ['IN', '27AAPFU0939F1ZA', 'tax_id_malformed'],
    ['DE', 'FR40303265045', 'tax_id_of_another_country'],
    ['AU', 'DE136695976', 'tax_id_of_another_country'],
    ['FR', 'GB980780684', 'tax_id_of_another_country'],
  ])("refuses a %s customer's id %s: %s", (country, id, code) => {
    expect(checkTaxId(country, id)).toMatchObject({ ok: false, code });
  });

  it('accepts ids of countries without a known format as given, unchecked', () => {
    expect(checkTaxId('US', '12-3456789')).toEqual({ ok: true, normalized: '123456789', formatChecked: false });
  });
});
