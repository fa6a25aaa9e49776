-- The outbox read by kind: results and orders (with deadlines of seconds) go before the bulk of
-- stations and statuses, e.g. while a new superior gets the whole city.
CREATE INDEX superior_outbox_kind_due ON superior_outbox (superior_id, kind, state, next_ms);
