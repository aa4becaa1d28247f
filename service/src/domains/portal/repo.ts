// Portal brands' SQL (migration 055).
import crypto from 'node:crypto';
import type { TenantScope } from '../../platform/db.ts';

export interface Brand {
  customerId: string | null;
  displayName: string | null;
  logoUrl: string | null;
  accentColor: string | null;
  updatedAt: Date;
}

export async function upsertBrand({ db, tenantId }: TenantScope, brand: Brand): Promise<void> {
  await db`
    insert into portal_brands (tenant_id, id, customer_id, display_name, logo_url, accent_color, updated_at)
    values (${tenantId}, ${crypto.randomUUID()}, ${brand.customerId}, ${brand.displayName}, ${brand.logoUrl}, ${brand.accentColor}, ${brand.updatedAt})
    on conflict (tenant_id, customer_id) do update set
      display_name = excluded.display_name, logo_url = excluded.logo_url, accent_color = excluded.accent_color, updated_at = excluded.updated_at`;
}

/** The brands of these owners (customer ids; null: the tenant's own). */
export async function findBrands({ db, tenantId }: TenantScope, customerIds: (string | null)[]): Promise<Brand[]> {
  const ids = customerIds.filter((id): id is string => id !== null);
  const rows = await db`
    select customer_id, display_name, logo_url, accent_color, updated_at from portal_brands
    where tenant_id = ${tenantId} and (customer_id = any(${ids}::uuid[]) ${customerIds.includes(null) ? db`or customer_id is null` : db``})`;
  return rows.map((r) => ({
    customerId: r.customer_id,
    displayName: r.display_name,
    logoUrl: r.logo_url,
    accentColor: r.accent_color,
    updatedAt: r.updated_at,
  }));
}
