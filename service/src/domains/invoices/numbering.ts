// The one place invoice numbers are allocated: an invoice is issued by its customer's reseller parent (numbered
// from that reseller's own gapless sequence, with its prefix, the reseller frozen on it as the seller) or, for
// every other customer, by the tenant (its tenant-wide sequence, INV-). Numbers are taken in the finalizing
// transaction, so a rollback returns them.
import type { TenantScope } from '../../platform/db.ts';
import { issuersOf, takeResellerInvoiceNumbers, type Issuer } from '../brands/service.ts';
import { documentNumber } from './build.ts';
import * as repo from './repo.ts';

export interface IssuedNumber {
  /** The reseller that issues the invoice; null: the tenant. */
  issuerId: string | null;
  issuer: Issuer | null;
  sequence: bigint;
  number: string;
}

/**
 * Numbers for invoices of these customers, in the order given (a customer may appear more than once): each issuer's
 * invoices get consecutive numbers in that order. Sequences are locked tenant first, then resellers by id, the
 * same order in every transaction.
 */
export async function allocateInvoiceNumbers(scope: TenantScope, customerIds: string[]): Promise<IssuedNumber[]> {
  const issuers = await issuersOf(scope, customerIds);
  const byIssuer = new Map<string | null, number[]>();
  customerIds.forEach((customerId, i) => {
    const issuerId = issuers.get(customerId)?.customer_id ?? null;
    byIssuer.set(issuerId, [...(byIssuer.get(issuerId) ?? []), i]);
  });
  const order = [...byIssuer.keys()].sort((a, b) => (a === null ? -1 : b === null ? 1 : a < b ? -1 : a > b ? 1 : 0));
  const result: IssuedNumber[] = new Array(customerIds.length);
  for (const issuerId of order) {
    const positions = byIssuer.get(issuerId)!;
    const first =
      issuerId === null
        ? await repo.takeInvoiceNumbers(scope, positions.length)
        : await takeResellerInvoiceNumbers(scope, issuerId, positions.length);
    positions.forEach((position, k) => {
      const issuer = issuerId === null ? null : issuers.get(customerIds[position])!;
      const sequence = first + BigInt(k);
      result[position] = {
        issuerId,
        issuer,
        sequence,
        number: documentNumber(issuer?.invoice_prefix ?? 'INV', sequence),
      };
    });
  }
  return result;
}
