-- The entitlement check's state (budgets/check-cache.ts) states its amounts' currency: the customer's rating
-- currency, its latest price book's (customers/repo.ts ratingCurrencySql). Assigning a book can change it (the
-- first book, in another currency than the customer's billing one), so an assignment drops the customer's state
-- like a change to the other tables the check reads (migration 019). Assignments are only ever inserted.
CREATE TRIGGER customer_price_books_check_inserted AFTER INSERT ON customer_price_books
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION check_state_changed();
