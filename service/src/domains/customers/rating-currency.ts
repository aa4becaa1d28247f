// The rating currency as an SQL fragment, for the repos of every domain that states spend in it.

/**
 * SQL: the currency customer `c` is rated in: its latest price book's (a customer's books share one currency:
 * customers/service.ts requireRatingCurrency), else its own billing currency.
 */
export const ratingCurrencySql = `coalesce((select b.currency from customer_price_books a join price_books b on b.tenant_id = a.tenant_id and b.id = a.price_book_id
  where a.tenant_id = c.tenant_id and a.customer_id = c.id order by a.effective_from desc limit 1), c.currency)`;
