-- Orders placed at another system (a shop's) for users of this one
-- (federation, docs/federation.md "Orders through a shop's system"): the
-- order lives there; its id here comes from the same sequence as local
-- orders, so that dtmv.order_details(id) and dtmv.advance_order(id) know
-- where to ask. The customer's request_key is kept here too: a retry finds
-- the order here, or, if the answer was lost, the other system finds it by
-- the same key.
CREATE TABLE dtmv.remote_orders (
	order_id bigint PRIMARY KEY,
	system_no integer NOT NULL REFERENCES dtmv.systems ON DELETE CASCADE,
	remote_order_id bigint NOT NULL,
	customer bigint NOT NULL REFERENCES dtmv.subjects ON DELETE CASCADE,
	request_key text NOT NULL,
	placed_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	UNIQUE (customer, system_no, request_key)
);
COMMENT ON TABLE dtmv.remote_orders IS
	'orders placed at another system (a shop''s) for users of this one: local id, system, id there and the request key (REQ-SI-03)';
ALTER TABLE dtmv.remote_orders ENABLE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('dtmv.remote_orders', '');
