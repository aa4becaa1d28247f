// Pure: a customer's or tenant's tax id checked for its country's format (check digits included) with `stdnum`
// (a port of python-stdnum), and an id of another country told apart from a malformed one.
import { stdnum } from 'stdnum';

interface Validator {
  validate(value: string): { isValid: boolean; compact?: string };
}

const modules = stdnum as unknown as Record<string, Record<string, Validator>>;

/** The tax id (VAT, GST, business number) formats accepted per country, first the usual one. */
const formats: Record<string, { name: string; validators: Validator[]; prefix?: string }> = {
  AT: { name: 'UID (VAT)', validators: [modules.AT.uid], prefix: 'AT' },
  BE: { name: 'VAT', validators: [modules.BE.vat], prefix: 'BE' },
  BG: { name: 'VAT', validators: [modules.BG.vat], prefix: 'BG' },
  HR: { name: 'OIB (VAT)', validators: [modules.HR.oib], prefix: 'HR' },
  CY: { name: 'VAT', validators: [modules.CY.vat], prefix: 'CY' },
  CZ: { name: 'DIČ (VAT)', validators: [modules.CZ.dic], prefix: 'CZ' },
  DK: { name: 'CVR (VAT)', validators: [modules.DK.cvr], prefix: 'DK' },
  EE: { name: 'KMKR (VAT)', validators: [modules.EE.kmkr], prefix: 'EE' },
  FI: { name: 'ALV (VAT)', validators: [modules.FI.alv], prefix: 'FI' },
  FR: { name: 'TVA (VAT)', validators: [modules.FR.tva], prefix: 'FR' },
  DE: { name: 'USt-IdNr. (VAT)', validators: [modules.DE.vat], prefix: 'DE' },
  GR: { name: 'VAT', validators: [modules.GR.vat], prefix: 'EL' },
  HU: { name: 'ANUM (VAT)', validators: [modules.HU.anum], prefix: 'HU' },
  IE: { name: 'VAT', validators: [modules.IE.vat], prefix: 'IE' },
  IT: { name: 'Partita IVA (VAT)', validators: [modules.IT.iva], prefix: 'IT' },
  LV: { name: 'PVN (VAT)', validators: [modules.LV.pvn], prefix: 'LV' },
  LT: { name: 'PVM (VAT)', validators: [modules.LT.pvm], prefix: 'LT' },
  LU: { name: 'TVA (VAT)', validators: [modules.LU.tva], prefix: 'LU' },
  MT: { name: 'VAT', validators: [modules.MT.vat], prefix: 'MT' },
  NL: { name: 'BTW (VAT)', validators: [modules.NL.btw], prefix: 'NL' },
  PL: { name: 'NIP (VAT)', validators: [modules.PL.nip], prefix: 'PL' },
  PT: { name: 'NIF (VAT)', validators: [modules.PT.nif], prefix: 'PT' },
  RO: { name: 'CIF (VAT)', validators: [modules.RO.cif], prefix: 'RO' },
  SK: { name: 'IČ DPH (VAT)', validators: [modules.SK.dph], prefix: 'SK' },
  SI: { name: 'DDV (VAT)', validators: [modules.SI.ddv], prefix: 'SI' },
  ES: { name: 'NIF (VAT)', validators: [modules.ES.nif], prefix: 'ES' },
  SE: { name: 'VAT', validators: [modules.SE.vat], prefix: 'SE' },
  GB: { name: 'VAT', validators: [modules.GB.vat], prefix: 'GB' },
  CH: { name: 'UID/MWST', validators: [modules.CH.vat, modules.CH.uid], prefix: 'CHE' },
  NO: { name: 'MVA (organisasjonsnummer)', validators: [modules.NO.mva, modules.NO.orgnr], prefix: 'NO' },
  AU: { name: 'ABN', validators: [modules.AU.abn] },
  NZ: { name: 'GST/IRD number', validators: [modules.NZ.ird] },
  CA: { name: 'Business Number (GST/HST)', validators: [modules.CA.bn, modules.CA.gst] },
  JP: { name: 'Corporate Number (T-number)', validators: [modules.JP.cn] },
  SG: { name: 'GST registration number / UEN', validators: [modules.SG.uen] },
  IN: { name: 'GSTIN', validators: [modules.IN.gstin] },
};

export type TaxIdCheck =
  | { ok: true; normalized: string; formatChecked: boolean }
  | { ok: false; code: 'tax_id_malformed' | 'tax_id_of_another_country'; reason: string };

const compact = (value: string) => value.toUpperCase().replace(/[\s.\-/]/g, '');

function validates(country: string, value: string): boolean {
  const format = formats[country];
  if (!format) return false;
  // Japanese qualified-invoice numbers are the corporate number behind a "T".
  const candidate = country === 'JP' && /^T\d{13}$/.test(value) ? value.slice(1) : value;
  return format.validators.some((v) => {
    try {
      return v.validate(candidate).isValid;
    } catch {
      return false;
    }
  });
}

/**
 * Checks a tax id for the customer's (or tenant's) country. An id carrying another country's prefix, or one that
 * is valid only in another country's format, is refused as another country's: a German customer with a French VAT
 * id is a mistake to fix, not a business to reverse-charge. Countries without a known format are accepted as given
 * (`formatChecked` false).
 */
export function checkTaxId(country: string, value: string): TaxIdCheck {
  const id = compact(value);
  if (id.length === 0) return { ok: false, code: 'tax_id_malformed', reason: 'is empty' };
  const own = formats[country];
  const prefixed = /^[A-Z]{2}/.test(id) ? id.slice(0, 2) : undefined;
  const prefixCountry = prefixed === 'EL' ? 'GR' : prefixed;
  if (
    prefixCountry &&
    prefixCountry !== country &&
    prefixCountry in formats &&
    formats[prefixCountry].prefix &&
    validates(prefixCountry, id)
  ) {
    return {
      ok: false,
      code: 'tax_id_of_another_country',
      reason: `is a ${prefixCountry} tax id, but the customer is in ${country}`,
    };
  }
  if (!own) return { ok: true, normalized: id, formatChecked: false };
  if (validates(country, id))
    return {
      ok: true,
      normalized: own.prefix && !id.startsWith(own.prefix.slice(0, 2)) ? `${own.prefix}${id}` : id,
      formatChecked: true,
    };
  const other = Object.keys(formats).find(
    (c) =>
      c !== country && (formats[c].prefix ? id.startsWith(formats[c].prefix!.slice(0, 2)) : true) && validates(c, id),
  );
  if (other && formats[other].prefix)
    return {
      ok: false,
      code: 'tax_id_of_another_country',
      reason: `is a ${other} tax id, but the customer is in ${country}`,
    };
  return {
    ok: false,
    code: 'tax_id_malformed',
    reason: `is not a valid ${country} ${own.name} (format or check digits)`,
  };
}
