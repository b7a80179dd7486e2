-- Orders through a shop's system (federation; docs/federation.md "Orders
-- through a shop's system"; scenarios 7.1.1, 7.1.2; REQ-SI-02a, REQ-SI-03,
-- REQ-SI-04): a user of this system browses the services of a 3rd-party
-- system and places orders there, as herself (name@this system there),
-- through dtmv._remote; the order lives there and has an id here too
-- (dtmv.remote_orders), as a remote sync request does.

GRANT SELECT ON dtmv.remote_orders TO dtmv_user;
DROP POLICY IF EXISTS remote_orders_own ON dtmv.remote_orders;
CREATE POLICY remote_orders_own ON dtmv.remote_orders FOR SELECT TO dtmv_user
	USING (customer = ANY (dtmv._own_subjects()));
COMMENT ON POLICY remote_orders_own ON dtmv.remote_orders IS 'a user sees the orders placed elsewhere for her';

-- Where a call that names a system runs: NULL for none, this database's
-- own systems, and systems registered without a link (a 3rd party whose
-- services are in this database); else that system; 42704 for a system
-- that is not registered here.
CREATE OR REPLACE FUNCTION dtmv._route_system(system integer) RETURNS integer
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	s record;
BEGIN
	IF system IS NULL THEN
		RETURN NULL;
	END IF;
	SELECT x.is_local, x.fdw_server INTO s FROM dtmv.systems x WHERE x.system_no = _route_system.system;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'system % is not registered here', system USING ERRCODE = 'undefined_object';
	END IF;
	RETURN CASE WHEN s.is_local OR s.fdw_server IS NULL THEN NULL ELSE system END;
END
$$;
COMMENT ON FUNCTION dtmv._route_system(integer) IS
	'internal: NULL for a call on this database (no system, a local one, or one registered without a link), else the system to run it at; 42704 for an unregistered one';

-- The services a system offers: those registered here for it, or, for a
-- system reached through a link, those it lists itself (its own only).
CREATE OR REPLACE FUNCTION dtmv.services_of(system integer) RETURNS SETOF dtmv.services
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	there integer := dtmv._route_system(system);
BEGIN
	IF there IS NULL THEN
		RETURN QUERY SELECT * FROM dtmv.services s WHERE s.system_no = services_of.system ORDER BY s.service_id;
		RETURN;
	END IF;
	RETURN QUERY
		SELECT (r.s).* FROM (
			SELECT v::dtmv.services AS s
			  FROM dtmv._remote(there, pg_catalog.format('SELECT s::text FROM dtmv.services_of(%L) s', there)) v
			OFFSET 0) r
		 WHERE (r.s).system_no = there;	-- a system answers for its own services only
END
$$;
COMMENT ON FUNCTION dtmv.services_of(integer) IS
	'the services a 3rd-party system offers: registered here, or asked there for a system reached through a link (REQ-MV-05, REQ-SI-03)';

-- place_order at another system, as the acting user. Designs go with what
-- she may know of them (checked here: admin on each, asked at the design's
-- own system if another). Repeated on a link that died (the request key
-- makes it safe): a retry with the same key returns the order recorded
-- here, or, if the answer was lost, the one the other system has for that
-- key.
CREATE OR REPLACE FUNCTION dtmv._remote_place_order(system integer, service bigint, items jsonb, request_key text,
													delivery jsonb)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	me bigint := dtmv._require_subject();
	id bigint;
	sent jsonb;
	there bigint;
BEGIN
	SELECT r.order_id INTO id FROM dtmv.remote_orders r
	 WHERE r.customer = me AND r.system_no = _remote_place_order.system AND r.request_key = _remote_place_order.request_key;
	IF FOUND THEN
		RETURN id;	-- the same request again: the same order
	END IF;
	IF jsonb_typeof(items) IS DISTINCT FROM 'array' OR jsonb_array_length(items) = 0 THEN
		RAISE EXCEPTION 'items are a non-empty JSON array of {"design"} or {"item", "quantity", "unit"}'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT jsonb_agg(CASE WHEN i ? 'design'
						  THEN i || jsonb_build_object('as_ordered', dtmv._design_as_ordered((i ->> 'design')::dtmv.twin_id))
						  ELSE i END ORDER BY n)
	  INTO sent FROM jsonb_array_elements(items) WITH ORDINALITY AS x(i, n);
	SELECT v::bigint INTO there
	  FROM dtmv._remote(system, pg_catalog.format('SELECT dtmv.place_order(%L, %L::jsonb, %L, %L::jsonb)::text',
												  service, sent, request_key, delivery)) v;
	-- a retry racing this call waits here, then finds what it recorded
	INSERT INTO dtmv.remote_orders AS r (order_id, system_no, remote_order_id, customer, request_key)
		VALUES (pg_catalog.nextval('dtmv.orders_order_id_seq'), system, there, me, request_key)
		ON CONFLICT ON CONSTRAINT remote_orders_customer_system_no_request_key_key DO NOTHING
		RETURNING r.order_id INTO id;
	IF id IS NULL THEN
		SELECT r.order_id INTO STRICT id FROM dtmv.remote_orders r
		 WHERE r.customer = me AND r.system_no = _remote_place_order.system AND r.request_key = _remote_place_order.request_key;
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION dtmv._remote_place_order(integer, bigint, jsonb, text, jsonb) IS
	'internal: dtmv.place_order at another system as the acting user, idempotent by request key here and there; the order''s id here';

-- The order placed elsewhere that an id here stands for, if the acting
-- subject placed it (NULL otherwise: the local functions then refuse it as
-- any order one is not party to).
CREATE OR REPLACE FUNCTION dtmv._remote_order(order_id bigint) RETURNS dtmv.remote_orders
LANGUAGE sql STABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
	SELECT r.* FROM dtmv.remote_orders r
	 WHERE r.order_id = _remote_order.order_id AND r.customer = dtmv.current_subject()
$$;
COMMENT ON FUNCTION dtmv._remote_order(bigint) IS
	'internal: the row of dtmv.remote_orders for an order id here, if the acting subject placed it';

-- order_details at the order's system: its answer, with the ids here.
CREATE OR REPLACE FUNCTION dtmv._remote_order_details(ro dtmv.remote_orders) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	info jsonb := (SELECT v::jsonb FROM dtmv._remote(ro.system_no, pg_catalog.format('SELECT dtmv.order_details(%L)::text',
																					  ro.remote_order_id)) v);
BEGIN
	IF (info ->> 'order') IS DISTINCT FROM ro.remote_order_id::text THEN
		RAISE EXCEPTION 'system % answered order_details of order % with another order', ro.system_no, ro.remote_order_id
			USING ERRCODE = 'protocol_violation';
	END IF;
	RETURN info || jsonb_build_object('order', ro.order_id, 'system', ro.system_no, 'order_there', ro.remote_order_id);
END
$$;
COMMENT ON FUNCTION dtmv._remote_order_details(dtmv.remote_orders) IS
	'internal: dtmv.order_details at the system where an order was placed, as the acting user; the order''s id here, its system and its id there added';

-- missing_from at another system (the space is there), as the acting user.
CREATE OR REPLACE FUNCTION dtmv._remote_missing(system integer, lines jsonb, space bigint)
RETURNS TABLE (item text, needed numeric, have numeric, missing numeric, unit text)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
	SELECT x.item, x.needed, x.have, x.missing, x.unit
	  FROM dtmv._remote(system, pg_catalog.format('SELECT pg_catalog.to_jsonb(m)::text FROM dtmv.missing_from(%L::jsonb, %L) m',
												  lines, space)) v,
		   pg_catalog.jsonb_to_record(v::jsonb) AS x(item text, needed numeric, have numeric, missing numeric, unit text)
$$;
COMMENT ON FUNCTION dtmv._remote_missing(integer, jsonb, bigint) IS
	'internal: dtmv.missing_from at another system, as the acting user';
