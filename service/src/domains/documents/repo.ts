// Documents' own SQL: the few things no other domain's repo reads for them.
import type { TenantScope } from '../../platform/db.ts';

/**
 * The invoice's FX conversion record (`fx` jsonb, written by the currency domain), read through to_jsonb so the
 * document works before and after that column exists.
 */
export async function findFx({ db, tenantId }: TenantScope, invoiceId: string): Promise<Record<string, string> | null> {
  const [row] =
    await db`select to_jsonb(i) -> 'fx' as fx from invoices i where i.tenant_id = ${tenantId} and i.id = ${invoiceId}`;
  const fx = row?.fx;
  return fx && typeof fx === 'object' ? (fx as Record<string, string>) : null;
}

export async function findTenantName({ db, tenantId }: TenantScope): Promise<string> {
  const [row] = await db`select name from tenants where tenant_id = ${tenantId}`;
  return row?.name ?? '';
}
