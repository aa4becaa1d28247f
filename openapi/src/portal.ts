// The customer portal part of the OpenAPI document: the tenant's backend issues a customer's portal link (to
// send) or embed token (for its own page). Merged into document.ts like webhooks.ts.
import { resellerBrandBody } from './schemas/brands.ts';
import { embedTokenBody, portalLinkBody } from './schemas/portal.ts';
import {
  type Operation,
  type Schema,
  described,
  fromZod,
  instant,
  nullable,
  object,
  string,
  customerId,
} from './schema.ts';

const boolean: Schema = { type: 'boolean' };
const integer: Schema = { type: 'integer' };

const token = described(
  string,
  "Signed (HS256, the tenant's key) over the tenant, the customer and the expiry: it opens that customer's portal only, read-only, until it expires. Sent by the portal page as `Authorization: Bearer <token>`.",
);

export const portalSchemas: Record<string, Schema> = {
  PortalLink: object({
    customer_id: string,
    url: described(string, 'The portal page with the token in its fragment (never sent to a server by the browser).'),
    token,
    expires_at: instant,
  }),
  PortalToken: object({ customer_id: string, token, expires_at: instant }),
  ResellerBrand: object({
    customer_id: described(string, "The reseller's external id."),
    display_name: nullable(string),
    logo_url: nullable(string),
    accent_color: nullable(string),
    legal_name: nullable(described(string, "The seller's name on its children's invoices (else the display name).")),
    address: nullable(string),
    country: nullable(string),
    region: nullable(string),
    tax_ids: { type: 'array', items: object({ jurisdiction: string, tax_id: string }) },
    tax_registrations: described(
      { type: 'array', items: object({ jurisdiction: string, tax_id: nullable(string) }) },
      "Where it collects tax on its children's invoices (none: it charges none).",
    ),
    prices_include_tax: boolean,
    logo: nullable(
      described(
        object({ media_type: string, width: integer, height: integer, bytes: integer, digest: string }),
        'The logo printed on its invoices (uploaded as `logo`, base64).',
      ),
    ),
    invoice_prefix: described(string, "Its children's invoices are numbered PREFIX-000001, ... from its own sequence."),
    currency: nullable(described(string, 'The currency of the children it creates when they name none.')),
    reply_to: nullable(string),
    stripe_account: nullable(described(string, 'Its Stripe account (Connect): its children pay into it.')),
    updated_at: nullable(instant),
  }),
};

const rule =
  'Needs a key that may write customers. The token is not stored; the audit log records who issued access to which customer until when.';

export const portalRoutes: Record<string, Record<string, Operation>> = {
  '/v1/customers/{id}/portal_links': {
    post: {
      summary: "A signed, expiring link to the customer's portal (up to 7 days)",
      operationId: 'createPortalLink',
      description: rule,
      body: fromZod(portalLinkBody),
      ok: [201, 'PortalLink'],
      params: [customerId],
    },
  },
  '/v1/customers/{id}/portal_tokens': {
    post: {
      summary: "A token to embed the customer's portal in the tenant's own page (up to 365 days)",
      operationId: 'createPortalToken',
      description: rule,
      body: fromZod(embedTokenBody),
      ok: [201, 'PortalToken'],
      params: [customerId],
    },
  },
  '/v1/customers/{id}/brand': {
    get: {
      summary: "A reseller's brand: its portal look and its seller profile for its children's invoices",
      operationId: 'getResellerBrand',
      description: 'Needs a key that may read customers. 422 not_a_reseller for a customer that is not a reseller.',
      ok: [200, 'ResellerBrand'],
      params: [customerId],
    },
    put: {
      summary: "Sets a reseller's brand (absent fields stay, null clears)",
      operationId: 'setResellerBrand',
      description:
        "Needs a key that may write customers. The reseller then issues its children's invoices: numbered from its own sequence with its prefix, printed with its legal name, address, tax ids, logo and reply-to, collected through its Stripe account. Tax ids are checked against their jurisdiction's format and check digits.",
      body: fromZod(resellerBrandBody),
      ok: [200, 'ResellerBrand'],
      params: [customerId],
    },
  },
};
