// The customer portal part of the OpenAPI document: the tenant's backend issues a customer's portal link (to
// send) or embed token (for its own page). Merged into document.ts like webhooks.ts.
import { embedTokenBody, portalLinkBody } from './schemas/portal.ts';
import { type Operation, type Schema, fromZod, instant, object, string, described } from './schema.ts';

const customerId = {
  name: 'id',
  in: 'path' as const,
  schema: string,
  required: true,
  description: "The customer's external id.",
};
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
};
