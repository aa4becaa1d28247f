// Kept for importers of the invoices domain: the ISO 4217 table lives in the currency domain.
export { minorUnitOf } from '@tariff/openapi/schemas/iso4217';
