-- Grants denominated in credits: the customer bought or was given `credit_amount` credits at `credit_rate`
-- (currency per credit); `amount` and `balance` stay in the currency (what the kernel draws and the ledger holds).
ALTER TABLE credit_grants ADD COLUMN credit_amount numeric(38, 9) CHECK (credit_amount > 0);
ALTER TABLE credit_grants ADD COLUMN credit_rate numeric(38, 9) CHECK (credit_rate > 0);
ALTER TABLE credit_grants ADD CONSTRAINT credit_grants_credit_units_check CHECK ((credit_amount IS NULL) = (credit_rate IS NULL));
