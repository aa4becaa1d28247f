-- Invoice emails: an invoice finalized with an amount due is mailed to its customer, when the customer has an
-- email and the tenant has not turned them off. The outbox row is written by the statement that records the
-- invoice.finalized notification (so in the finalizing transaction, once per invoice: the row's id is the
-- notification's); its subject, body and PDF are composed when it is delivered.
ALTER TABLE billing_settings ADD COLUMN invoice_emails boolean NOT NULL DEFAULT true;
GRANT UPDATE (invoice_emails) ON billing_settings TO tariff_app;

ALTER TABLE email_outbox ADD COLUMN invoice_id uuid;
ALTER TABLE email_outbox ALTER COLUMN subject DROP NOT NULL, ALTER COLUMN body DROP NOT NULL;
ALTER TABLE email_outbox ADD CONSTRAINT email_outbox_composed
  CHECK (invoice_id IS NOT NULL OR (subject IS NOT NULL AND body IS NOT NULL));

CREATE FUNCTION invoice_emails_from_notifications() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO email_outbox (tenant_id, id, to_address, invoice_id, created_at)
  SELECT n.tenant_id, n.id, c.email, (n.payload ->> 'invoice_id')::uuid, n.created_at
  FROM new_notifications n
  JOIN customers c ON c.tenant_id = n.tenant_id AND c.id = n.customer_id
  LEFT JOIN billing_settings s ON s.tenant_id = n.tenant_id
  WHERE n.type = 'invoice.finalized' AND n.payload ->> 'kind' = 'invoice'
    AND c.email IS NOT NULL AND coalesce(s.invoice_emails, true);
  RETURN NULL;
END
$$;
CREATE TRIGGER notifications_invoice_emails AFTER INSERT ON notifications
  REFERENCING NEW TABLE AS new_notifications FOR EACH STATEMENT EXECUTE FUNCTION invoice_emails_from_notifications();
