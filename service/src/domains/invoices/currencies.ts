// Kept for importers of the invoices domain: the ISO 4217 table lives in the currency domain.
export { minorUnitOf } from '../currency/iso4217.ts';
