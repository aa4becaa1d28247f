-- A minimum commitment per contract term: over `term_periods` consecutive billing periods from the subscription's
-- start, usage net of discounts below `term_minimum_spend` is trued up at the close of the term's last period.
ALTER TABLE plans ADD COLUMN term_minimum_spend numeric(38, 9) CHECK (term_minimum_spend > 0);
ALTER TABLE plans ADD COLUMN term_periods integer CHECK (term_periods BETWEEN 2 AND 120);
ALTER TABLE plans ADD CONSTRAINT plans_term_commitment_check CHECK ((term_minimum_spend IS NULL) = (term_periods IS NULL));
