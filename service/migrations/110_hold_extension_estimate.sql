-- An extension with an estimate prices every level of the hold again (issue 18): the estimate and the card that
-- priced it change with it.
GRANT UPDATE (estimate, card) ON holds TO tariff_app;
