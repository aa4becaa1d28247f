// Kept for importers of the invoices domain: the ISO 4217 table is the contract's (openapi/src/schemas/iso4217.ts).
export { minorUnitOf } from '@tariff/openapi/schemas/iso4217';
