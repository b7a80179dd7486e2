-- 3rd parties and commerce: orders with a state machine, bills of materials
-- compared with the inventory twins of a space, and binding a delivered
-- product to its design (scenarios 7.1.1, 7.1.2; REQ-MV-06, REQ-MV-07,
-- REQ-SI-03, REQ-SI-04). Services come from the spatial files. See
-- docs/third-parties.md. PostGIS is named @postgis@, as in 90_spatial.sql.

CREATE OR REPLACE FUNCTION dtmv.convert_quantity(quantity numeric, from_unit text, to_unit text) RETURNS numeric
LANGUAGE plpgsql STABLE STRICT
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	f record;
	t record;
BEGIN
	SELECT * INTO f FROM dtmv.units u WHERE u.unit = lower(from_unit);
	SELECT * INTO t FROM dtmv.units u WHERE u.unit = lower(to_unit);
	IF f IS NULL OR t IS NULL THEN
		RAISE EXCEPTION 'unknown unit "%"', CASE WHEN f IS NULL THEN from_unit ELSE to_unit END
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Units: ' || (SELECT string_agg(u.unit, ', ' ORDER BY u.dimension, u.factor) FROM dtmv.units u) || '.';
	END IF;
	IF f.dimension <> t.dimension THEN
		RAISE EXCEPTION 'cannot convert % (%) to % (%)', from_unit, f.dimension, to_unit, t.dimension
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN quantity * f.factor / t.factor;
END
$$;
COMMENT ON FUNCTION dtmv.convert_quantity(numeric, text, text) IS
	'a quantity in another unit of the same dimension (NULL for NULL); 22023 for an unknown unit or another dimension';

CREATE OR REPLACE FUNCTION dtmv.create_bom(name text, lines jsonb, kind text DEFAULT 'recipe', servings integer DEFAULT 1)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	id bigint;
BEGIN
	PERFORM dtmv._require_acting_allows('admin', 'create recipes');
	IF jsonb_typeof(lines) IS DISTINCT FROM 'array' OR jsonb_array_length(lines) = 0 THEN
		RAISE EXCEPTION 'lines are a non-empty JSON array of {"item", "quantity", "unit"}'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO dtmv.boms (name, kind, servings, created_by)
		VALUES (create_bom.name, create_bom.kind, create_bom.servings, dtmv._require_subject())
		RETURNING bom_id INTO id;
	INSERT INTO dtmv.bom_lines (bom_id, item, quantity, unit)
	SELECT id, l ->> 'item', (l ->> 'quantity')::numeric, lower(l ->> 'unit')
	  FROM jsonb_array_elements(lines) l;
	RETURN id;
END
$$;
COMMENT ON FUNCTION dtmv.create_bom(text, jsonb, text, integer) IS
	'a bill of materials from [{"item", "quantity", "unit"}, ...], for a number of servings (scenario 7.1.2)';

-- What lines of a bill of materials (already scaled) need that the
-- inventory of a space lacks. The inventory is the twins placed in the space
-- (or below it) that the caller may read, whose properties say {"item",
-- "quantity", "unit"}. Public, so that another system asks it with the
-- lines of a recipe it holds (dtmv.missing_items(..., system)).
CREATE OR REPLACE FUNCTION dtmv.missing_from(lines jsonb, space bigint)
RETURNS TABLE (item text, needed numeric, have numeric, missing numeric, unit text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	probe bigint[];
	veto bigint[];
BEGIN
	SELECT x.probe, x.veto INTO probe, veto FROM dtmv._acting_keys() x WHERE x.r = 1;	-- read
	IF jsonb_typeof(lines) IS DISTINCT FROM 'array' OR jsonb_array_length(lines) = 0
	   OR EXISTS (SELECT 1 FROM jsonb_array_elements(lines) l
				   WHERE jsonb_typeof(l -> 'item') IS DISTINCT FROM 'string'
					  OR jsonb_typeof(l -> 'quantity') IS DISTINCT FROM 'number'
					  OR NOT EXISTS (SELECT 1 FROM dtmv.units u WHERE u.unit = lower(l ->> 'unit'))) THEN
		RAISE EXCEPTION 'lines are a non-empty JSON array of {"item", "quantity", "unit"} with known units'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN QUERY
		WITH need AS (
			SELECT l ->> 'item' AS item, (l ->> 'quantity')::numeric AS qty, lower(l ->> 'unit') AS unit
			  FROM jsonb_array_elements(lines) l
		), stock AS (
			-- A twin whose quantity is not a number or whose unit is unknown or
			-- of another dimension counts for nothing rather than failing the call.
			SELECT n.item, coalesce(sum(CASE WHEN jsonb_typeof(r.properties -> 'quantity') = 'number'
											  AND EXISTS (SELECT 1 FROM dtmv.units f JOIN dtmv.units t USING (dimension)
														   WHERE f.unit = lower(r.properties ->> 'unit') AND t.unit = n.unit)
										 THEN dtmv.convert_quantity((r.properties ->> 'quantity')::numeric,
																	r.properties ->> 'unit', n.unit) END), 0) AS qty
			  FROM need n
			  LEFT JOIN (dtmv.twin_positions p JOIN dtmv.twin_registry r ON r.id = p.twin)
				ON r.properties ->> 'item' = n.item
			   AND p.space IN (SELECT d.space_id FROM dtmv.spaces d	-- the space and those below it
								WHERE missing_from.space IN (SELECT a.space_id FROM dtmv._space_ancestry(d.space_id) a))
			   AND r.acl && probe AND NOT r.acl && veto
			 GROUP BY n.item
		)
		SELECT n.item, round(n.qty, 6), round(s.qty, 6), round(greatest(n.qty - s.qty, 0), 6), n.unit
		  FROM need n JOIN stock s USING (item)
		 WHERE round(n.qty - s.qty, 6) > 0	-- what it shows, so that a shortfall shown is never 0
		 ORDER BY n.item;
END
$$;
COMMENT ON FUNCTION dtmv.missing_from(jsonb, bigint) IS
	'what lines [{"item", "quantity", "unit"}] need beyond the inventory twins of a space the caller may read, with unit conversion; how another system asks for the shortfall of its recipe (scenario 7.1.2)';

-- What a bill of materials (scaled to servings) needs beyond a space's
-- inventory; with system, the space is one of that system, which is asked
-- (as the acting user) with the recipe's lines: the recipe is here, the
-- pantry there (federation).
CREATE OR REPLACE FUNCTION dtmv.missing_items(bom bigint, space bigint, servings integer DEFAULT NULL,
											  system integer DEFAULT NULL)
RETURNS TABLE (item text, needed numeric, have numeric, missing numeric, unit text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	b record;
	lines jsonb;
	there integer := dtmv._route_system(system);
BEGIN
	SELECT * INTO b FROM dtmv.boms x WHERE x.bom_id = missing_items.bom;
	IF b IS NULL THEN
		RAISE EXCEPTION 'bill of materials % does not exist', bom USING ERRCODE = 'undefined_object';
	END IF;
	IF coalesce(servings, b.servings) <= 0 THEN
		RAISE EXCEPTION 'servings must be positive' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT jsonb_agg(jsonb_build_object('item', l.item, 'quantity', l.quantity * coalesce(servings, b.servings) / b.servings,
										'unit', l.unit) ORDER BY l.item)
	  INTO lines FROM dtmv.bom_lines l WHERE l.bom_id = b.bom_id;
	IF there IS NULL THEN
		RETURN QUERY SELECT * FROM dtmv.missing_from(lines, space);
	ELSE
		RETURN QUERY SELECT * FROM dtmv._remote_missing(there, lines, space);
	END IF;
END
$$;
COMMENT ON FUNCTION dtmv.missing_items(bigint, bigint, integer, integer) IS
	'what a bill of materials (scaled to servings) needs beyond the inventory twins of a space the caller may read, with unit conversion; with system, a space of that system, asked there as the acting user (scenario 7.1.2)';

CREATE OR REPLACE FUNCTION dtmv._order_event(order_id bigint, kind text) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	o record;
BEGIN
	SELECT * INTO o FROM dtmv.orders x WHERE x.order_id = _order_event.order_id;
	RETURN dtmv._append_event(NULL, o.customer, kind,
							  jsonb_build_object('order', o.order_id, 'status', o.status, 'service', o.service_id));
END
$$;
COMMENT ON FUNCTION dtmv._order_event(bigint, text) IS 'internal: tell the customer about an order, as an event addressed to it';

-- A delivery is {"address": text, "space": id, "position": [x, y, z]}, each
-- optional. Checked when the order is placed, so that delivering it cannot
-- fail later: the space must exist and the customer control it (delivered
-- items become twins placed there), the position be three numbers.
CREATE OR REPLACE FUNCTION dtmv._require_delivery(delivery jsonb) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	there integer;
BEGIN
	IF delivery IS NULL THEN
		RETURN;
	END IF;
	IF jsonb_typeof(delivery) <> 'object' THEN
		RAISE EXCEPTION 'a delivery is a JSON object {"address", "space", "position"}'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF delivery ? 'system' THEN	-- a space of another twin system (federation)
		IF jsonb_typeof(delivery -> 'system') IS DISTINCT FROM 'number' OR (delivery ->> 'system') !~ '^[0-9]{1,10}$' THEN
			RAISE EXCEPTION 'a delivery''s system is a system number' USING ERRCODE = 'invalid_parameter_value';
		END IF;
		there := dtmv._route_system((delivery ->> 'system')::bigint::integer);	-- 42704 if not registered
		IF there IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dtmv.systems s WHERE s.system_no = there AND s.kind = 'twin') THEN
			RAISE EXCEPTION 'a delivery''s system is a twin system' USING ERRCODE = 'invalid_parameter_value';
		END IF;
	END IF;
	IF delivery ? 'space' THEN
		IF jsonb_typeof(delivery -> 'space') IS DISTINCT FROM 'number' OR (delivery ->> 'space') !~ '^[0-9]{1,18}$' THEN
			RAISE EXCEPTION 'a delivery''s space is a space id' USING ERRCODE = 'invalid_parameter_value';
		END IF;
		-- a space of another system is that system's to check, when the
		-- provider delivers there (dtmv.deliver_items)
		IF there IS NULL THEN
			PERFORM dtmv._site_of((delivery ->> 'space')::bigint);	-- 42704 for no such space
			PERFORM dtmv._require_space_control((delivery ->> 'space')::bigint, 'have things delivered into');
		END IF;
	END IF;
	IF delivery ? 'position' AND (jsonb_typeof(delivery -> 'position') IS DISTINCT FROM 'array'
								  OR jsonb_array_length(delivery -> 'position') <> 3
								  OR EXISTS (SELECT 1 FROM jsonb_array_elements(delivery -> 'position') e
											  WHERE jsonb_typeof(e) <> 'number' OR abs(e::text::numeric) > 1e7)) THEN
		RAISE EXCEPTION 'a delivery''s position is [x, y, z] in metres in the space''s site frame'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
END
$$;
COMMENT ON FUNCTION dtmv._require_delivery(jsonb) IS
	'internal: 22023 for a malformed delivery, 42704 for no such space or system, 42501 without control on a space of this system';

CREATE OR REPLACE FUNCTION dtmv.place_order(service bigint, items jsonb, request_key text, delivery jsonb DEFAULT '{}',
											system integer DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	me bigint := dtmv._require_subject();
	id bigint;
	it jsonb;
	n integer := 0;
	design dtmv.twin_id;
	elsewhere integer;
BEGIN
	PERFORM dtmv._require_acting_allows('admin', 'place orders');
	IF request_key IS NULL OR request_key = '' THEN
		RAISE EXCEPTION 'a request key is required, so that a retried order is not placed twice'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF dtmv._route_system(system) IS NOT NULL THEN	-- a service of another system: the order lives there
		RETURN dtmv._remote_place_order(system, service, items, request_key, delivery);
	END IF;
	SELECT o.order_id INTO id FROM dtmv.orders o WHERE o.customer = me AND o.request_key = place_order.request_key;
	IF id IS NOT NULL THEN
		RETURN id;	-- the same request again: the same order
	END IF;
	IF NOT EXISTS (SELECT 1 FROM dtmv.services v WHERE v.service_id = service) THEN
		RAISE EXCEPTION 'service % does not exist', service USING ERRCODE = 'undefined_object';
	END IF;
	IF jsonb_typeof(items) IS DISTINCT FROM 'array' OR jsonb_array_length(items) = 0 THEN
		RAISE EXCEPTION 'items are a non-empty JSON array of {"design"} or {"item", "quantity", "unit"}'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM dtmv._require_delivery(delivery);
	-- A retry racing the first call waits for it here, then finds its order.
	INSERT INTO dtmv.orders AS o (service_id, customer, request_key, delivery)
		VALUES (service, me, request_key, coalesce(delivery, '{}'))
		ON CONFLICT ON CONSTRAINT orders_customer_request_key_key DO NOTHING
		RETURNING o.order_id INTO id;
	IF id IS NULL THEN
		SELECT o.order_id INTO STRICT id FROM dtmv.orders o WHERE o.customer = me AND o.request_key = place_order.request_key;
		RETURN id;
	END IF;
	FOR it IN SELECT * FROM jsonb_array_elements(items) LOOP
		n := n + 1;
		design := (it ->> 'design')::dtmv.twin_id;
		-- a design as it is now is what the provider builds: later changes
		-- to the twin are the customer's alone. One of another system comes
		-- as the customer's system describes it (as_ordered): that system
		-- checked that she administers it (federation).
		elsewhere := dtmv._route(design);
		INSERT INTO dtmv.order_items (order_id, line, design, remote_design, item, quantity, unit, design_as_ordered)
			VALUES (id, n, CASE WHEN elsewhere IS NULL THEN design END, CASE WHEN elsewhere IS NOT NULL THEN design END,
					it ->> 'item', coalesce((it ->> 'quantity')::numeric, 1), lower(coalesce(it ->> 'unit', 'pc')),
					CASE WHEN design IS NULL THEN NULL
						 WHEN elsewhere IS NULL THEN dtmv._design_as_ordered(design)
						 ELSE dtmv._described_design(it) END);
	END LOOP;
	PERFORM dtmv._order_event(id, 'order_placed');
	RETURN id;
END
$$;
COMMENT ON FUNCTION dtmv.place_order(bigint, jsonb, text, jsonb, integer) IS
	'order from a 3rd-party service: designs the caller administers, or catalogue items; the same request_key again returns the same order; with system, a service of that system, where the order is placed as the acting user (REQ-MV-07, REQ-SI-03)';

-- A design as the provider builds it; 42501 without admin on it. A twin of
-- another system is asked there (twin_info, as the acting user).
CREATE OR REPLACE FUNCTION dtmv._design_as_ordered(design dtmv.twin_id) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	info jsonb;
BEGIN
	IF dtmv._route(design) IS NULL THEN
		PERFORM dtmv._require_rights(design, 'admin');
		SELECT jsonb_build_object('name', t.name, 'kind', t.kind, 'properties', t.properties, 'model_uri', t.model_uri)
		  INTO info FROM dtmv.twin_registry t WHERE t.id = design;
		RETURN info;
	END IF;
	info := dtmv.twin_info(design);
	IF NOT 'admin' = ANY (pg_catalog.string_to_array(info ->> 'rights', ',')) THEN
		RAISE EXCEPTION 'permission denied: admin right on twin % is required', design
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = pg_catalog.format('Its system gives %s the rights %s there.', dtmv.whoami(), info ->> 'rights'),
				  HINT = 'One orders only designs one administers.';
	END IF;
	RETURN jsonb_build_object('name', info -> 'name', 'kind', info -> 'kind', 'properties', info -> 'properties',
							  'model_uri', info -> 'model_uri');
END
$$;
COMMENT ON FUNCTION dtmv._design_as_ordered(dtmv.twin_id) IS
	'internal: a design''s name, kind, properties and model, as the provider builds it; 42501 without admin on it; one of another system asked there';

-- An order item's design of another system, as the customer's system
-- described it ({"design", "as_ordered": {"name", "kind", "properties",
-- "model_uri"}}).
CREATE OR REPLACE FUNCTION dtmv._described_design(it jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	IF jsonb_typeof(it -> 'as_ordered') IS DISTINCT FROM 'object' OR jsonb_typeof(it -> 'as_ordered' -> 'name') IS DISTINCT FROM 'string' THEN
		RAISE EXCEPTION 'a design of another system is ordered with "as_ordered": {"name", "kind", "properties", "model_uri"}'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'dtmv.place_order(..., system => ...) at the customer''s own system sends it.';
	END IF;
	RETURN jsonb_build_object('name', it -> 'as_ordered' -> 'name', 'kind', it -> 'as_ordered' -> 'kind',
							  'properties', coalesce(it -> 'as_ordered' -> 'properties', '{}'),
							  'model_uri', it -> 'as_ordered' -> 'model_uri');
END
$$;
COMMENT ON FUNCTION dtmv._described_design(jsonb) IS
	'internal: the design of another system an order item names, as the customer''s system described it; 22023 without one';

-- Inventory twins {"item", "quantity", "unit"} || extra of an owner, placed
-- in a space at a position [x, y, z] (the origin if none). The one way
-- deliveries become twins, here (_stock_delivery) or for another system's
-- provider (deliver_items).
CREATE OR REPLACE FUNCTION dtmv._stock_items(owner bigint, space bigint, location jsonb, items jsonb, extra jsonb)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	pos @postgis@.geometry := @postgis@.ST_MakePoint(coalesce((location ->> 0)::float8, 0),
													 coalesce((location ->> 1)::float8, 0),
													 coalesce((location ->> 2)::float8, 0));
	i jsonb;
	t dtmv.twin_id;
	n integer := 0;
BEGIN
	FOR i IN SELECT e FROM jsonb_array_elements(items) e LOOP
		t := dtmv._new_twin(owner, 'inventory', i ->> 'item',
							jsonb_build_object('item', i ->> 'item', 'quantity', (i ->> 'quantity')::numeric,
											   'unit', i ->> 'unit') || extra);
		INSERT INTO dtmv.twin_positions (twin, site, space, position, cell)
		VALUES (t, (SELECT s.site FROM dtmv.spaces s WHERE s.space_id = _stock_items.space), space, pos, dtmv._cell(pos));
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION dtmv._stock_items(bigint, bigint, jsonb, jsonb, jsonb) IS
	'internal: inventory twins of an owner placed in a space at a location [x, y, z], one per item {"item", "quantity", "unit"}, their properties completed with extra';

-- Delivered catalogue items become inventory twins of the customer, in the
-- space the delivery names ({"space": id, "position": [x, y, z]}); in a
-- space of another twin system ({"system": n, ...}), that system makes them
-- when the provider, acting there as its own user, delivers them
-- (dtmv.deliver_items): refused there, the order is not delivered.
CREATE OR REPLACE FUNCTION dtmv._stock_delivery(order_id bigint) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	o record;
	target bigint;
	there integer;
	items jsonb;
BEGIN
	SELECT * INTO o FROM dtmv.orders x WHERE x.order_id = _stock_delivery.order_id;
	target := (o.delivery ->> 'space')::bigint;
	there := dtmv._route_system((o.delivery ->> 'system')::integer);
	SELECT jsonb_agg(jsonb_build_object('item', i.item, 'quantity', i.quantity, 'unit', i.unit) ORDER BY i.line)
	  INTO items FROM dtmv.order_items i WHERE i.order_id = o.order_id AND i.item IS NOT NULL;
	IF target IS NULL OR items IS NULL THEN
		RETURN 0;	-- delivered elsewhere than a mapped space, or nothing to stock
	END IF;
	IF there IS NOT NULL THEN
		RETURN (SELECT v::integer FROM dtmv._remote(there, pg_catalog.format(
					'SELECT dtmv.deliver_items(%L, %L::jsonb, %L, %L::jsonb, %L)::text',
					target, items, 'order ' || o.order_id, o.delivery -> 'position',
					(SELECT s.name FROM dtmv.subjects s WHERE s.subject_id = o.customer))) v);
	END IF;
	IF NOT EXISTS (SELECT 1 FROM dtmv.spaces s WHERE s.space_id = target) THEN
		RETURN 0;	-- the space is gone
	END IF;
	IF NOT dtmv._space_right(target, 4, dtmv._subjects_of(o.customer)) THEN
		RETURN 0;	-- the customer no longer controls that space: delivered, and no inventory twin is made
	END IF;
	RETURN dtmv._stock_items(o.customer, target, o.delivery -> 'position', items, jsonb_build_object('order', o.order_id));
END
$$;
COMMENT ON FUNCTION dtmv._stock_delivery(bigint) IS
	'internal: delivered catalogue items become inventory twins of the customer in the delivery''s space, or are delivered into a space of another twin system, there (scenario 7.1.2)';

-- A provider delivers items into a space it may control (a 3rd party's
-- user, acting through its system's link: the site's creator granted it
-- control there), for a customer who may control it too (her name here,
-- as the provider knows her: alice@mv1; as in one database, where the
-- customer needs control on the space she has things delivered to: the
-- provider's grant alone let any of its customers fill the space): they
-- become inventory twins of the site's creator, once per delivery
-- reference and provider (a repeated call makes nothing).
CREATE OR REPLACE FUNCTION dtmv.deliver_items(space bigint, items jsonb, delivery text, location jsonb, customer text)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	owner bigint;
	mark jsonb;
BEGIN
	PERFORM dtmv._require_acting_allows('control', 'deliver items');
	mark := jsonb_build_object('delivery', delivery, 'delivered_by', dtmv.whoami());
	IF delivery IS NULL OR delivery = '' THEN
		RAISE EXCEPTION 'a delivery reference is required, so that a repeated delivery makes nothing twice'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF jsonb_typeof(items) IS DISTINCT FROM 'array' OR jsonb_array_length(items) = 0
	   OR EXISTS (SELECT 1 FROM jsonb_array_elements(items) i
				   WHERE jsonb_typeof(i -> 'item') IS DISTINCT FROM 'string' OR i ->> 'item' = ''
					  OR jsonb_typeof(i -> 'quantity') IS DISTINCT FROM 'number' OR (i ->> 'quantity')::numeric <= 0
					  OR NOT EXISTS (SELECT 1 FROM dtmv.units u WHERE u.unit = i ->> 'unit')) THEN
		RAISE EXCEPTION 'items are a non-empty JSON array of {"item", "quantity", "unit"} with positive quantities and known units'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- 42704 for no such space, 42501 without control on it, 22023 for a bad position
	PERFORM dtmv._require_delivery(jsonb_build_object('space', space)
								   || CASE WHEN location IS NULL THEN '{}' ELSE jsonb_build_object('position', location) END);
	IF NOT coalesce(dtmv._space_right(deliver_items.space, 4,
									   dtmv._subjects_of((SELECT s.subject_id FROM dtmv.subjects s WHERE s.name = customer))), false)
	   OR NOT EXISTS (SELECT 1 FROM dtmv.subjects s WHERE s.name = customer) THEN
		RAISE EXCEPTION 'permission denied: the customer may not have things delivered into space %', space
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = pg_catalog.format('Subject %L lacks control on that space here.', customer);
	END IF;
	PERFORM 1 FROM dtmv.spaces s WHERE s.space_id = deliver_items.space FOR NO KEY UPDATE;	-- one delivery at a time
	SELECT site.created_by INTO owner
	  FROM dtmv.spaces s JOIN dtmv.spaces site ON site.space_id = s.site WHERE s.space_id = deliver_items.space;
	IF owner IS NULL THEN
		RAISE EXCEPTION 'the site of space % has no creator to deliver to', space USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	IF EXISTS (SELECT 1 FROM dtmv.twin_registry r
				WHERE r.created_by = owner AND r.kind = 'inventory' AND r.properties @> mark) THEN
		RETURN 0;	-- delivered already
	END IF;
	RETURN dtmv._stock_items(owner, space, location, items, mark);
END
$$;
COMMENT ON FUNCTION dtmv.deliver_items(bigint, jsonb, text, jsonb, text) IS
	'a provider with control on a space delivers items [{"item", "quantity", "unit"}] there for a customer (her subject''s name here) who has control on it too (42501 otherwise): inventory twins of the site''s creator, once per delivery reference; how a shop''s system delivers into a home of another system (scenario 7.1.2, REQ-SI-04)';

-- The parts the acting subject plays in an order: 'customer', 'provider'
-- (the operator of the service's system), or both; 42501 if none, so that
-- an order one is not party to looks like one that does not exist.
CREATE OR REPLACE FUNCTION dtmv._order_parties(order_id bigint) RETURNS text[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	subs bigint[] := dtmv._own_subjects();	-- none for a service not delegated read
	parties text[];
BEGIN
	SELECT array_remove(ARRAY[CASE WHEN o.customer = ANY (subs) THEN 'customer' END,
							  CASE WHEN s.operator_subject = ANY (subs) THEN 'provider' END], NULL)
	  INTO parties
	  FROM dtmv.orders o JOIN dtmv.services v USING (service_id) JOIN dtmv.systems s ON s.system_no = v.system_no
	 WHERE o.order_id = _order_parties.order_id;
	IF coalesce(cardinality(parties), 0) = 0 THEN
		RAISE EXCEPTION 'permission denied: order % is neither yours nor your service''s', order_id
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN parties;
END
$$;
COMMENT ON FUNCTION dtmv._order_parties(bigint) IS
	'internal: customer and/or provider, the parts the acting subject plays in an order; 42501 if none';

CREATE OR REPLACE FUNCTION dtmv.advance_order(order_id bigint, status text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	parties text[];
	o record;
	party text;
	ro dtmv.remote_orders := dtmv._remote_order(order_id);
BEGIN
	IF ro.order_id IS NOT NULL THEN	-- an order placed at another system: moved there
		PERFORM FROM dtmv._remote(ro.system_no, pg_catalog.format('SELECT dtmv.advance_order(%L, %L)::text',
																	ro.remote_order_id, status));
		RETURN;
	END IF;
	parties := dtmv._order_parties(order_id);
	PERFORM dtmv._require_acting_allows('admin', 'change orders');
	IF status IS NULL THEN
		RAISE EXCEPTION 'a status is required' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT * INTO o FROM dtmv.orders x WHERE x.order_id = advance_order.order_id FOR UPDATE;
	IF o.status = advance_order.status THEN
		RETURN;	-- already there: a retried step changes nothing
	END IF;
	SELECT t.party INTO party FROM dtmv.order_transitions t
	 WHERE t.from_status = o.status AND t.to_status = advance_order.status;
	IF party IS NULL THEN
		RAISE EXCEPTION 'an order cannot go from % to %', o.status, status
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = coalesce('From ' || o.status || ' it can go to: '
								  || (SELECT string_agg(t.to_status || ' (' || t.party || ')', ', ' ORDER BY t.to_status)
										FROM dtmv.order_transitions t WHERE t.from_status = o.status) || '.',
								  'It is final.');
	END IF;
	IF NOT party = ANY (parties) THEN
		RAISE EXCEPTION 'permission denied: only the % moves an order from % to %', party, o.status, status
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	UPDATE dtmv.orders x SET status = advance_order.status, updated_at = now() WHERE x.order_id = advance_order.order_id;
	IF advance_order.status = 'delivered' THEN
		PERFORM dtmv._stock_delivery(order_id);
	END IF;
	PERFORM dtmv._order_event(order_id, 'order_' || status);
END
$$;
COMMENT ON FUNCTION dtmv.advance_order(bigint, text) IS
	'move an order along its state machine (dtmv.order_transitions), by the party allowed to; each step is an event to the customer';

CREATE OR REPLACE FUNCTION dtmv.order_missing(bom bigint, space bigint, service bigint, request_key text,
								   servings integer DEFAULT NULL, delivery jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	items jsonb;
BEGIN
	PERFORM dtmv._require_acting_allows('admin', 'place orders');
	SELECT jsonb_agg(jsonb_build_object('item', m.item, 'quantity', m.missing, 'unit', m.unit) ORDER BY m.item)
	  INTO items FROM dtmv.missing_items(bom, space, servings) m;
	IF items IS NULL THEN
		RETURN NULL;	-- nothing is missing
	END IF;
	RETURN dtmv.place_order(service, items, request_key, delivery);
END
$$;
COMMENT ON FUNCTION dtmv.order_missing(bigint, bigint, bigint, text, integer, jsonb) IS
	'order, in one call, what a bill of materials needs beyond a space''s inventory; NULL if nothing is missing (scenario 7.1.2)';

-- What a party to an order may know of it: for the provider, the design it
-- must build and the delivery address, and nothing else of the customer's
-- twins (REQ-SI-04).
-- VOLATILE, to see what the statement made before it (50_rights.sql, has_right).
CREATE OR REPLACE FUNCTION dtmv.order_details(order_id bigint) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	o record;
	-- the design, as ordered, for the customer always, and for the provider
	-- while it has it to build (not once the order is delivered, cancelled
	-- or rejected)
	designs_shown boolean;
	ro dtmv.remote_orders := dtmv._remote_order(order_id);
BEGIN
	IF ro.order_id IS NOT NULL THEN	-- an order placed at another system: as it is there
		RETURN dtmv._remote_order_details(ro);
	END IF;
	designs_shown := 'customer' = ANY (dtmv._order_parties(order_id));
	SELECT * INTO o FROM dtmv.orders x WHERE x.order_id = order_details.order_id;
	designs_shown := designs_shown OR o.status IN ('placed', 'confirmed', 'in_production', 'shipped');
	RETURN jsonb_build_object(
		'order', o.order_id, 'service', o.service_id, 'status', o.status, 'delivery', o.delivery,
		'items', (SELECT jsonb_agg(CASE WHEN i.item IS NOT NULL
										THEN jsonb_build_object('item', i.item, 'quantity', i.quantity, 'unit', i.unit)
										ELSE jsonb_build_object('design', coalesce(i.design, i.remote_design), 'quantity', i.quantity)
											 || CASE WHEN designs_shown THEN coalesce(i.design_as_ordered, '{}') ELSE '{}' END
								   END ORDER BY i.line)
					FROM dtmv.order_items i
				   WHERE i.order_id = o.order_id));
END
$$;
COMMENT ON FUNCTION dtmv.order_details(bigint) IS
	'an order as its customer or provider may know it: items, and for designs what must be built (name, kind, properties, 3D model) as they were when it was ordered; the provider sees those only while the order is active (REQ-SI-04)';

CREATE OR REPLACE FUNCTION dtmv.bind_product(design dtmv.twin_id, serial text) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	there integer := dtmv._route(design);
BEGIN
	IF there IS NOT NULL THEN	-- a design of another system: bound there, as the acting user
		RETURN (SELECT v::bigint FROM dtmv._remote(there, pg_catalog.format('SELECT dtmv.bind_product(%L, %L)::text',
																			   design, serial), false) v);
	END IF;
	IF EXISTS (SELECT 1 FROM dtmv.remote_users r JOIN dtmv.systems s USING (system_no)
				WHERE r.subject_id = dtmv.current_subject() AND s.kind = 'third_party') THEN
		-- a 3rd party of another system (its user, through its link) binds
		-- the product it made to a design whose administrator gave it
		-- control on it: the order is at that system, not here
		PERFORM dtmv._lock_twin_for(design, 'control');
	ELSE
		PERFORM dtmv._lock_twin_for(design, 'admin');	-- the twin's lock before its rows
		PERFORM dtmv._require_delivered(design);
	END IF;
	-- through the customer's gateway, pending until that gateway confirms it
	PERFORM dtmv._bind(design, serial, dtmv._usable_gateway(NULL, design));
	RETURN dtmv._append_event(design, NULL, 'product_bound', jsonb_build_object('serial', serial));
END
$$;
COMMENT ON FUNCTION dtmv.bind_product(dtmv.twin_id, text) IS
	'bind the delivered physical product (its serial number) to the design it was made from, which from then on is its twin (scenario 7.1.1); by the design''s administrator once an order for it is delivered to her, or by a 3rd party of another system with control on the design; a design of another system is bound there; returns the event''s entry number';

-- 55000 unless an order for the design was delivered to the acting subject.
CREATE OR REPLACE FUNCTION dtmv._require_delivered(design dtmv.twin_id) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM dtmv.orders o JOIN dtmv.order_items i USING (order_id)
					WHERE i.design = _require_delivered.design AND o.status = 'delivered'
					  AND o.customer = ANY (dtmv.current_subjects())) THEN
		RAISE EXCEPTION 'design % has not been delivered to you', design
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'A design is bound to its product once an order for it is delivered.';
	END IF;
END
$$;
COMMENT ON FUNCTION dtmv._require_delivered(dtmv.twin_id) IS
	'internal: 55000 unless an order for the design was delivered to the acting subject';
GRANT SELECT ON dtmv.units, dtmv.boms, dtmv.bom_lines, dtmv.orders, dtmv.order_items, dtmv.order_transitions TO dtmv_user;

DROP POLICY IF EXISTS units_public ON dtmv.units;
CREATE POLICY units_public ON dtmv.units FOR SELECT TO dtmv_user USING (true);
COMMENT ON POLICY units_public ON dtmv.units IS 'units are public';

DROP POLICY IF EXISTS order_transitions_public ON dtmv.order_transitions;
CREATE POLICY order_transitions_public ON dtmv.order_transitions FOR SELECT TO dtmv_user USING (true);
COMMENT ON POLICY order_transitions_public ON dtmv.order_transitions IS 'the state machine is public';

DROP POLICY IF EXISTS boms_public ON dtmv.boms;
CREATE POLICY boms_public ON dtmv.boms FOR SELECT TO dtmv_user USING (true);
COMMENT ON POLICY boms_public ON dtmv.boms IS 'recipes and instructions are public';

DROP POLICY IF EXISTS bom_lines_public ON dtmv.bom_lines;
CREATE POLICY bom_lines_public ON dtmv.bom_lines FOR SELECT TO dtmv_user USING (true);
COMMENT ON POLICY bom_lines_public ON dtmv.bom_lines IS 'recipes and instructions are public';

DROP POLICY IF EXISTS orders_parties ON dtmv.orders;
CREATE POLICY orders_parties ON dtmv.orders FOR SELECT TO dtmv_user
	USING (customer = ANY ((SELECT dtmv._own_subjects())::bigint[])
		   OR EXISTS (SELECT 1 FROM dtmv.services v JOIN dtmv.systems s ON s.system_no = v.system_no
					   WHERE v.service_id = orders.service_id
						 AND s.operator_subject = ANY ((SELECT dtmv._own_subjects())::bigint[])));
COMMENT ON POLICY orders_parties ON dtmv.orders IS 'an order is visible to its customer and to the operator of its service';

DROP POLICY IF EXISTS order_items_parties ON dtmv.order_items;
CREATE POLICY order_items_parties ON dtmv.order_items FOR SELECT TO dtmv_user
	USING (EXISTS (SELECT 1 FROM dtmv.orders o WHERE o.order_id = order_items.order_id));
COMMENT ON POLICY order_items_parties ON dtmv.order_items IS 'the items of the orders one may see';
