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

-- What a bill of materials needs that the inventory of a space lacks. The
-- inventory is the twins placed in the space (or below it) that the caller
-- may read, whose properties say {"item", "quantity", "unit"}.
CREATE OR REPLACE FUNCTION dtmv.missing_items(bom bigint, space bigint, servings integer DEFAULT NULL)
RETURNS TABLE (item text, needed numeric, have numeric, missing numeric, unit text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	b record;
	probe bigint[];
	veto bigint[];
BEGIN
	SELECT x.probe, x.veto INTO probe, veto FROM dtmv._acting_keys() x WHERE x.r = 1;	-- read
	SELECT * INTO b FROM dtmv.boms x WHERE x.bom_id = missing_items.bom;
	IF b IS NULL THEN
		RAISE EXCEPTION 'bill of materials % does not exist', bom USING ERRCODE = 'undefined_object';
	END IF;
	IF coalesce(servings, b.servings) <= 0 THEN
		RAISE EXCEPTION 'servings must be positive' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN QUERY
		WITH need AS (
			SELECT l.item, l.quantity * coalesce(servings, b.servings) / b.servings AS qty, l.unit
			  FROM dtmv.bom_lines l WHERE l.bom_id = b.bom_id
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
								WHERE missing_items.space IN (SELECT a.space_id FROM dtmv._space_ancestry(d.space_id) a))
			   AND r.acl && probe AND NOT r.acl && veto
			 GROUP BY n.item
		)
		SELECT n.item, round(n.qty, 6), round(s.qty, 6), round(greatest(n.qty - s.qty, 0), 6), n.unit
		  FROM need n JOIN stock s USING (item)
		 WHERE round(n.qty - s.qty, 6) > 0	-- what it shows, so that a shortfall shown is never 0
		 ORDER BY n.item;
END
$$;
COMMENT ON FUNCTION dtmv.missing_items(bigint, bigint, integer) IS
	'what a bill of materials (scaled to servings) needs beyond the inventory twins of a space the caller may read, with unit conversion (scenario 7.1.2)';

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
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	IF delivery IS NULL THEN
		RETURN;
	END IF;
	IF jsonb_typeof(delivery) <> 'object' THEN
		RAISE EXCEPTION 'a delivery is a JSON object {"address", "space", "position"}'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF delivery ? 'space' THEN
		IF jsonb_typeof(delivery -> 'space') IS DISTINCT FROM 'number' OR (delivery ->> 'space') !~ '^[0-9]{1,18}$' THEN
			RAISE EXCEPTION 'a delivery''s space is a space id' USING ERRCODE = 'invalid_parameter_value';
		END IF;
		PERFORM dtmv._site_of((delivery ->> 'space')::bigint);	-- 42704 for no such space
		PERFORM dtmv._require_space_control((delivery ->> 'space')::bigint, 'have things delivered into');
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
	'internal: 22023 for a malformed delivery, 42704 for no such space, 42501 without control on it';

CREATE OR REPLACE FUNCTION dtmv.place_order(service bigint, items jsonb, request_key text, delivery jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	me bigint := dtmv._require_subject();
	id bigint;
	it jsonb;
	n integer := 0;
BEGIN
	PERFORM dtmv._require_acting_allows('admin', 'place orders');
	IF request_key IS NULL OR request_key = '' THEN
		RAISE EXCEPTION 'a request key is required, so that a retried order is not placed twice'
			USING ERRCODE = 'invalid_parameter_value';
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
		IF it ? 'design' THEN
			PERFORM dtmv._require_rights((it ->> 'design')::dtmv.twin_id, 'admin');
		END IF;
		-- a design as it is now is what the provider builds: later changes
		-- to the twin are the customer's alone
		INSERT INTO dtmv.order_items (order_id, line, design, item, quantity, unit, design_as_ordered)
			SELECT id, n, (it ->> 'design')::dtmv.twin_id, it ->> 'item',
				   coalesce((it ->> 'quantity')::numeric, 1), lower(coalesce(it ->> 'unit', 'pc')),
				   (SELECT jsonb_build_object('name', t.name, 'kind', t.kind, 'properties', t.properties,
											  'model_uri', t.model_uri)
					  FROM dtmv.twin_registry t WHERE t.id = (it ->> 'design')::dtmv.twin_id);
	END LOOP;
	PERFORM dtmv._order_event(id, 'order_placed');
	RETURN id;
END
$$;
COMMENT ON FUNCTION dtmv.place_order(bigint, jsonb, text, jsonb) IS
	'order from a 3rd-party service: designs the caller administers, or catalogue items; the same request_key again returns the same order (REQ-MV-07)';

-- Delivered catalogue items become inventory twins of the customer, in the
-- space the delivery names ({"space": id, "position": [x, y, z]}).
CREATE OR REPLACE FUNCTION dtmv._stock_delivery(order_id bigint) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	o record;
	i record;
	target bigint;
	pos @postgis@.geometry;
	t dtmv.twin_id;
	n integer := 0;
BEGIN
	SELECT * INTO o FROM dtmv.orders x WHERE x.order_id = _stock_delivery.order_id;
	target := (o.delivery ->> 'space')::bigint;
	IF target IS NULL OR NOT EXISTS (SELECT 1 FROM dtmv.spaces s WHERE s.space_id = target) THEN
		RETURN 0;	-- delivered elsewhere than a mapped space
	END IF;
	IF NOT dtmv._space_right(target, 4, dtmv._subjects_of(o.customer)) THEN
		RETURN 0;	-- the customer no longer controls that space: delivered, and no inventory twin is made
	END IF;
	pos := @postgis@.ST_MakePoint(coalesce((o.delivery -> 'position' ->> 0)::float8, 0),
						coalesce((o.delivery -> 'position' ->> 1)::float8, 0),
						coalesce((o.delivery -> 'position' ->> 2)::float8, 0));
	FOR i IN SELECT * FROM dtmv.order_items x WHERE x.order_id = o.order_id AND x.item IS NOT NULL ORDER BY x.line LOOP
		t := dtmv._new_twin(o.customer, 'inventory', i.item,
							jsonb_build_object('item', i.item, 'quantity', i.quantity, 'unit', i.unit,
											   'order', o.order_id));
		INSERT INTO dtmv.twin_positions (twin, site, space, position, cell)
		VALUES (t, (SELECT s.site FROM dtmv.spaces s WHERE s.space_id = target), target, pos, dtmv._cell(pos));
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION dtmv._stock_delivery(bigint) IS
	'internal: delivered catalogue items become inventory twins of the customer in the delivery''s space (scenario 7.1.2)';

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
	parties text[] := dtmv._order_parties(order_id);
	o record;
	party text;
BEGIN
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
BEGIN
	designs_shown := 'customer' = ANY (dtmv._order_parties(order_id));
	SELECT * INTO o FROM dtmv.orders x WHERE x.order_id = order_details.order_id;
	designs_shown := designs_shown OR o.status IN ('placed', 'confirmed', 'in_production', 'shipped');
	RETURN jsonb_build_object(
		'order', o.order_id, 'service', o.service_id, 'status', o.status, 'delivery', o.delivery,
		'items', (SELECT jsonb_agg(CASE WHEN i.design IS NULL
										THEN jsonb_build_object('item', i.item, 'quantity', i.quantity, 'unit', i.unit)
										ELSE jsonb_build_object('design', i.design, 'quantity', i.quantity)
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
BEGIN
	PERFORM dtmv._lock_twin_for(design, 'admin');	-- the twin's lock before its rows
	IF NOT EXISTS (SELECT 1 FROM dtmv.orders o JOIN dtmv.order_items i USING (order_id)
					WHERE i.design = bind_product.design AND o.status = 'delivered'
					  AND o.customer = ANY (dtmv.current_subjects())) THEN
		RAISE EXCEPTION 'design % has not been delivered to you', design
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'A design is bound to its product once an order for it is delivered.';
	END IF;
	-- through the customer's gateway, pending until that gateway confirms it
	PERFORM dtmv._bind(design, serial, dtmv._usable_gateway(NULL, design));
	RETURN dtmv._append_event(design, NULL, 'product_bound', jsonb_build_object('serial', serial));
END
$$;
COMMENT ON FUNCTION dtmv.bind_product(dtmv.twin_id, text) IS
	'bind the delivered physical product (its serial number) to the design it was made from, which from then on is its twin (scenario 7.1.1); returns the event''s entry number';
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
