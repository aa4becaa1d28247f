// Inputs of the customer portal: issuing its links and embed tokens, its brand, and the portal's own reads.
import { z } from 'zod';
import { text } from './text.ts';
import { externalId } from './customers.ts';

/** Longest life of a portal link (sent by mail or chat, opened soon). */
export const maxLinkSeconds = 7 * 86_400;
/** Longest life of an embed token (put in the tenant's own page, renewed by its backend). */
export const maxEmbedSeconds = 365 * 86_400;

/** POST /v1/customers/:id/portal_links's body (the customer is the path's). */
export const portalLinkBody = z.strictObject({
  /** Seconds until the link stops working: 60 to 7 days, default 1 hour. */
  expires_in: z.number().int().min(60).max(maxLinkSeconds).default(3600),
});
export const createPortalLinkInput = portalLinkBody.extend({ customer_id: externalId });
export type CreatePortalLinkInput = z.infer<typeof createPortalLinkInput>;

/** POST /v1/customers/:id/portal_tokens's body. */
export const embedTokenBody = z.strictObject({
  /** Seconds until the token stops working: 60 to 365 days, default 30 days. */
  expires_in: z
    .number()
    .int()
    .min(60)
    .max(maxEmbedSeconds)
    .default(30 * 86_400),
});
export const createEmbedTokenInput = embedTokenBody.extend({ customer_id: externalId });
export type CreateEmbedTokenInput = z.infer<typeof createEmbedTokenInput>;

const httpsUrl = text(2048).refine((value) => URL.canParse(value) && new URL(value).protocol === 'https:', {
  message: 'must be an https URL',
});

/** Absent fields stay; null clears. */
export const setBrandInput = z.strictObject({
  /** A reseller whose end users see this brand; absent: the tenant's own brand. */
  customer_id: externalId.optional(),
  display_name: text(200, { trim: true }).nullable().optional(),
  logo_url: httpsUrl.nullable().optional(),
  accent_color: text(7)
    .regex(/^#[0-9a-f]{6}$/, 'must be #rrggbb in lower case')
    .nullable()
    .optional(),
});
export type SetBrandInput = z.infer<typeof setBrandInput>;

export const getBrandInput = z.strictObject({ customer_id: externalId.optional() });

export const portalInvoicesInput = z.strictObject({
  limit: z.number().int().min(1).max(100).default(20),
  /** Id of the last invoice of the previous page. */
  starting_after: z.uuid().optional(),
});

export const portalInvoiceInput = z.strictObject({ id: z.uuid() });
