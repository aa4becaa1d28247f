-- The per-statement balance check of ledger_entries (migration 005) joined the inserted rows to the tenant's
-- accounts. With no statistics for the transition table, the planner nested the two: every posted row compared
-- with every account of the tenant (one or more per customer), so a period close of 500 invoices at 500 customers
-- made 751,500 comparisons (0.3 s), and the cost grew with the tenant's customers. Each row's account is now read
-- by its key (the primary key), so the check costs the rows it checks. The rule is unchanged: every transaction
-- posted by the statement sums to zero in one currency.
CREATE OR REPLACE FUNCTION ledger_check_balanced() RETURNS trigger
  LANGUAGE plpgsql AS $$
DECLARE
  bad record;
BEGIN
  SELECT p.transaction_id, sum(p.amount) AS total, count(DISTINCT p.currency) AS currencies INTO bad
  FROM (
    SELECT posted.tenant_id, posted.transaction_id, posted.amount,
           (SELECT a.currency FROM ledger_accounts a WHERE a.tenant_id = posted.tenant_id AND a.code = posted.account) AS currency
    FROM posted
  ) p
  GROUP BY p.tenant_id, p.transaction_id
  HAVING sum(p.amount) <> 0 OR count(DISTINCT p.currency) > 1
  LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'ledger transaction % does not balance (sum %, % currencies)', bad.transaction_id, bad.total, bad.currencies
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END
$$;
