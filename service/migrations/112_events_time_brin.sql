-- Events by time, for reads of a whole period of every customer at once (a simulation's month): a BRIN index over
-- occurred_at. Ingestion appends events in about their time order, so each range of table pages covers a short span
-- of time and a month is one sequential range of the table, where the (customer, time) index would read it
-- customer by customer, about one page at random per event. A BRIN index costs ingestion next to nothing: an insert
-- into a page range not yet summarized does not touch it, and summaries are made by vacuum.
CREATE INDEX events_time_brin_idx ON events USING brin (occurred_at);
