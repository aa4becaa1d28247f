-- The double-entry ledger (append-only, balanced per transaction), credit grants whose balances the kernel
-- draws down at rating time, and each customer's depletion policy.

-- One account per code: "grant:<grant id>", "receivable:<customer id>", "revenue:usage:USD", ... (see
-- service/src/domains/ledger/accounts.ts). An account holds one currency.
CREATE TABLE ledger_accounts (
  tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
  code text NOT NULL CHECK (length(code) BETWEEN 1 AND 200),
  kind text NOT NULL CHECK (kind IN ('asset', 'liability', 'revenue', 'expense')),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  -- The customer the account belongs to (grants, receivables); null for the tenant's own accounts.
  customer_id uuid,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, code),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);

CREATE TABLE ledger_transactions (
  tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
  id uuid NOT NULL,
  kind text NOT NULL CHECK (kind IN ('grant_issued', 'usage_drawdown', 'grant_voided', 'grant_expired',
                                     'invoice_finalized', 'invoice_paid', 'invoice_voided')),
  customer_id uuid,
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  -- What caused it: an event's transaction_id, a grant id, an invoice id.
  reference text NOT NULL,
  description text,
  -- Business time (an event's timestamp, an invoice's finalization); recorded_at is when it was written.
  occurred_at timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
CREATE INDEX ledger_transactions_customer_idx ON ledger_transactions (tenant_id, customer_id, recorded_at, id);
CREATE INDEX ledger_transactions_reference_idx ON ledger_transactions (tenant_id, reference);

-- Signed amounts: debits positive, credits negative. The entries of a transaction sum to zero.
CREATE TABLE ledger_entries (
  tenant_id uuid NOT NULL,
  transaction_id uuid NOT NULL,
  line smallint NOT NULL CHECK (line >= 0),
  account text NOT NULL,
  amount numeric(38, 9) NOT NULL CHECK (amount <> 0),
  PRIMARY KEY (tenant_id, transaction_id, line),
  FOREIGN KEY (tenant_id, transaction_id) REFERENCES ledger_transactions (tenant_id, id),
  FOREIGN KEY (tenant_id, account) REFERENCES ledger_accounts (tenant_id, code)
);
CREATE INDEX ledger_entries_account_idx ON ledger_entries (tenant_id, account);

-- Every INSERT statement must post whole, balanced transactions in one currency. Checked per statement on the
-- rows it inserted, so an unbalanced posting fails the statement whoever wrote it.
CREATE FUNCTION ledger_check_balanced() RETURNS trigger
  LANGUAGE plpgsql AS $$
DECLARE
  bad record;
BEGIN
  SELECT p.transaction_id, sum(p.amount) AS total, count(DISTINCT a.currency) AS currencies INTO bad
  FROM posted p JOIN ledger_accounts a ON a.tenant_id = p.tenant_id AND a.code = p.account
  GROUP BY p.tenant_id, p.transaction_id
  HAVING sum(p.amount) <> 0 OR count(DISTINCT a.currency) > 1
  LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'ledger transaction % does not balance (sum %, % currencies)', bad.transaction_id, bad.total, bad.currencies
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
  REFERENCING NEW TABLE AS posted FOR EACH STATEMENT EXECUTE FUNCTION ledger_check_balanced();

-- A grant of credit to a customer. `balance` is what is left; it always equals the negated balance of the
-- grant's ledger account "grant:<id>" (tests check it), and is kept here so rating reads one row per grant.
CREATE TABLE credit_grants (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL,
  -- Creation order, the kernel's last tie-break between grants (created_at ties under a frozen clock).
  seq bigint GENERATED ALWAYS AS IDENTITY,
  customer_id uuid NOT NULL,
  kind text NOT NULL CHECK (kind IN ('prepaid', 'promotional', 'goodwill')),
  name text,
  reason text,
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  amount numeric(38, 9) NOT NULL CHECK (amount > 0),
  balance numeric(38, 9) NOT NULL CHECK (balance >= 0 AND balance <= amount),
  priority integer NOT NULL,
  effective_at timestamptz,
  expires_at timestamptz,
  scope_cards text[],
  scope_event_types text[],
  scope_meters text[],
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'voided', 'expired')),
  created_at timestamptz NOT NULL,
  created_by text NOT NULL,
  ended_at timestamptz,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
  CHECK (expires_at IS NULL OR effective_at IS NULL OR expires_at > effective_at),
  CHECK ((status = 'active') = (ended_at IS NULL))
);
CREATE INDEX credit_grants_customer_idx ON credit_grants (tenant_id, customer_id, seq);

-- Per-customer wallet settings; a customer without a row overages.
CREATE TABLE customer_wallets (
  tenant_id uuid NOT NULL,
  customer_id uuid NOT NULL,
  on_depletion text NOT NULL CHECK (on_depletion IN ('overage', 'block')),
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, customer_id),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);

-- Credits drawn by the period's events: with `amount` (what is left to bill) it gives the period's spend.
ALTER TABLE customer_periods ADD COLUMN credits_applied numeric(38, 9) NOT NULL DEFAULT 0;
GRANT UPDATE (credits_applied) ON customer_periods TO tariff_app;

SELECT enable_tenant_isolation('ledger_accounts');
SELECT enable_tenant_isolation('ledger_transactions');
SELECT enable_tenant_isolation('ledger_entries');
SELECT enable_tenant_isolation('credit_grants');
SELECT enable_tenant_isolation('customer_wallets');

-- The ledger is append-only for the service: corrections are new, reversing transactions.
GRANT SELECT, INSERT ON ledger_accounts TO tariff_app;
GRANT SELECT, INSERT ON ledger_transactions TO tariff_app;
GRANT SELECT, INSERT ON ledger_entries TO tariff_app;
GRANT SELECT, INSERT, UPDATE (balance, status, ended_at) ON credit_grants TO tariff_app;
GRANT SELECT, INSERT, UPDATE (on_depletion, updated_at) ON customer_wallets TO tariff_app;
