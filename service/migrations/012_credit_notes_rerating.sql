-- Credit notes (reversing all or part of a finalized invoice, numbered per tenant without gaps in their own
-- sequence), re-ratings (a retroactive price-book version: preview, approval, application) and invoice
-- adjustments (amounts that belong to a closed period, billed on the customer's next invoice).

CREATE TABLE reratings (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL,
  price_book_id uuid NOT NULL,
  -- The retroactive version's effective_from: periods with events at or after it are replayed whole.
  effective_from timestamptz NOT NULL,
  -- The book's version count with the new version: what the preview and the application rate with.
  book_versions integer NOT NULL CHECK (book_versions >= 1),
  -- pending -> previewed (job) -> approved (API) -> applied (job); failed when the application cannot run.
  status text NOT NULL CHECK (status IN ('pending', 'previewed', 'approved', 'applied', 'failed')),
  preview jsonb,
  result jsonb,
  error text,
  created_at timestamptz NOT NULL,
  created_by text NOT NULL,
  previewed_at timestamptz,
  approved_at timestamptz,
  approved_by text,
  applied_at timestamptz,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, price_book_id) REFERENCES price_books (tenant_id, id)
);

CREATE TABLE credit_notes (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL,
  invoice_id uuid NOT NULL,
  customer_id uuid NOT NULL,
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  minor_unit smallint NOT NULL CHECK (minor_unit BETWEEN 0 AND 4),
  -- Per tenant, its own sequence (CN-000001), taken in the issuing transaction: no gaps.
  sequence bigint NOT NULL,
  number text NOT NULL,
  reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
  origin text NOT NULL CHECK (origin IN ('manual', 'rerating')),
  rerating_id uuid,
  -- What the customer is credited (positive), the sum of the rounded lines, and the exact sum.
  total numeric(38, 9) NOT NULL CHECK (total > 0),
  total_exact numeric(38, 9) NOT NULL,
  created_at timestamptz NOT NULL,
  created_by text NOT NULL,
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT credit_notes_sequence_unique UNIQUE (tenant_id, sequence),
  FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
  FOREIGN KEY (tenant_id, rerating_id) REFERENCES reratings (tenant_id, id),
  CHECK ((origin = 'rerating') = (rerating_id IS NOT NULL))
);
CREATE INDEX credit_notes_invoice_idx ON credit_notes (tenant_id, invoice_id);

CREATE TABLE credit_note_lines (
  tenant_id uuid NOT NULL,
  credit_note_id uuid NOT NULL,
  line integer NOT NULL CHECK (line >= 0),
  -- The invoice line it credits; null for a line the re-rating found only in the new build.
  invoice_line integer,
  -- The invoice line's kind: which revenue stream the credit reverses.
  kind text NOT NULL,
  description text NOT NULL,
  -- Credited amounts: positive lowers what the customer owes (a re-rating can raise one line, e.g. a true-up).
  amount_exact numeric(38, 9) NOT NULL,
  amount numeric(38, 9) NOT NULL,
  details jsonb,
  PRIMARY KEY (tenant_id, credit_note_id, line),
  FOREIGN KEY (tenant_id, credit_note_id) REFERENCES credit_notes (tenant_id, id)
);

CREATE TABLE credit_note_sequences (
  tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
  last_number bigint NOT NULL,
  PRIMARY KEY (tenant_id)
);

-- Amounts that belong to a period whose invoice is final: billed as adjustment lines on the customer's next
-- invoice (the one finalized next), which records itself here.
CREATE TABLE invoice_adjustments (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL,
  customer_id uuid NOT NULL,
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  source text NOT NULL CHECK (source IN ('late_event', 'rerating')),
  -- The late event's transaction_id, or the re-rating's id.
  reference text NOT NULL,
  description text NOT NULL,
  -- Shown on the line: the late event's own timestamp, or the start of the re-rated period.
  occurred_at timestamptz NOT NULL,
  period_start timestamptz NOT NULL,
  stream text NOT NULL CHECK (stream IN ('usage', 'subscription', 'minimum_commitment')),
  amount numeric(38, 9) NOT NULL,
  invoice_id uuid,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
  FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id)
);
CREATE INDEX invoice_adjustments_pending_idx ON invoice_adjustments (tenant_id, customer_id) WHERE invoice_id IS NULL;
-- Invoice builds leave out the events billed as adjustments.
CREATE INDEX invoice_adjustments_reference_idx ON invoice_adjustments (tenant_id, reference);

ALTER TABLE invoice_lines DROP CONSTRAINT invoice_lines_kind_check;
ALTER TABLE invoice_lines ADD CONSTRAINT invoice_lines_kind_check
  CHECK (kind IN ('base_fee', 'usage', 'allowance', 'discount', 'commitment', 'credit', 'minimum_true_up', 'sla_credit', 'progressive_billing', 'adjustment'));

ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_kind_check;
ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_kind_check
  CHECK (kind IN ('grant_issued', 'usage_drawdown', 'grant_voided', 'grant_expired', 'invoice_finalized', 'invoice_paid', 'invoice_voided',
                  'credit_note_issued', 'rerating_credit_returned'));

SELECT enable_tenant_isolation('reratings');
SELECT enable_tenant_isolation('credit_notes');
SELECT enable_tenant_isolation('credit_note_lines');
SELECT enable_tenant_isolation('credit_note_sequences');
SELECT enable_tenant_isolation('invoice_adjustments');

GRANT SELECT, INSERT, UPDATE (status, preview, result, error, previewed_at, approved_at, approved_by, applied_at, updated_at) ON reratings TO tariff_app;
-- Credit notes are immutable once issued.
GRANT SELECT, INSERT ON credit_notes TO tariff_app;
GRANT SELECT, INSERT ON credit_note_lines TO tariff_app;
GRANT SELECT, INSERT, UPDATE (last_number) ON credit_note_sequences TO tariff_app;
GRANT SELECT, INSERT, UPDATE (invoice_id) ON invoice_adjustments TO tariff_app;

-- Re-ratings waiting for their preview or their application (keys only, across tenants: the billing tick).
CREATE FUNCTION billing_due_reratings(p_limit integer)
  RETURNS TABLE (tenant_id uuid, rerating_id uuid, status text)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$
    SELECT r.tenant_id, r.id, r.status FROM public.reratings r
    WHERE r.status IN ('pending', 'approved')
    ORDER BY r.created_at, r.tenant_id, r.id
    LIMIT p_limit
  $$;
REVOKE ALL ON FUNCTION billing_due_reratings(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION billing_due_reratings(integer) TO tariff_app;

DO $$
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('CREATE POLICY billing_scheduler ON reratings FOR SELECT TO %I USING (true)', current_user);
  END IF;
END
$$;
