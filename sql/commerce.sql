-- 3rd parties and commerce (scenarios 7.1.1, 7.1.2; REQ-MV-05..07, REQ-SI-03, REQ-SI-04).
SET search_path = public, dtmv;
\set SHOW_CONTEXT never
CREATE ROLE regress_co_alice LOGIN IN ROLE dtmv_user;
CREATE ROLE regress_co_bob LOGIN IN ROLE dtmv_user;
CREATE ROLE regress_co_shop LOGIN IN ROLE dtmv_user;
CREATE ROLE regress_co_maker LOGIN IN ROLE dtmv_user;
SELECT count(*) FROM (VALUES
	(dtmv.create_subject('co_alice', 'regress_co_alice')),
	(dtmv.create_subject('co_bob', 'regress_co_bob')),
	(dtmv.create_subject('co_grocer', 'regress_co_shop', 'system')),
	(dtmv.create_subject('co_maker', 'regress_co_maker', 'system'))) s;
SELECT dtmv.register_system('co grocer', 'third_party', 5001, operator => 'co_grocer');
SELECT dtmv.register_system('co furniture maker', 'third_party', 5002, operator => 'co_maker');
SELECT dtmv.register_service(5001, 'Groceries delivered', 'supply') AS grocer \gset
SELECT dtmv.register_service(5002, 'Made to measure', 'manufacturing') AS maker \gset

-- Units convert within a dimension only.
SELECT dtmv.convert_quantity(0.2, 'kg', 'g') AS g, dtmv.convert_quantity(750, 'ml', 'l') AS l;
SELECT dtmv.convert_quantity(1, 'kg', 'l');
SELECT dtmv.convert_quantity(1, 'stone', 'g');

-- Scenario 7.1.2: alice's kitchen (pantry and fridge twins) and a recipe for 4.
SET ROLE regress_co_alice;
SELECT dtmv.create_space('co home', 'site', anchor_lon => 2.35, anchor_lat => 48.85, anchor_alt => 35) AS home \gset
SELECT dtmv.create_space('co kitchen', 'room', :home) AS kitchen \gset
SELECT dtmv.place(dtmv.create_twin('food', i ->> 'item', i), :kitchen, ST_MakePoint(1, 1, 1))
  FROM jsonb_array_elements('[{"item": "flour", "quantity": 0.2, "unit": "kg"},
							  {"item": "milk", "quantity": 250, "unit": "ml"},
							  {"item": "milk", "quantity": 0.25, "unit": "l"},
							  {"item": "eggs", "quantity": 6, "unit": "pieces"}]') i;
SELECT dtmv.create_bom('crepes', '[{"item": "flour", "quantity": 250, "unit": "g"},
								   {"item": "milk", "quantity": 0.5, "unit": "l"},
								   {"item": "eggs", "quantity": 4, "unit": "pc"},
								   {"item": "butter", "quantity": 50, "unit": "g"}]', servings => 4) AS crepes \gset
-- For 4: need 250 g flour, have 0.2 kg: order 50 g; milk 0.5 l = 250 ml + 0.25 l: enough.
SELECT * FROM dtmv.missing_items(:crepes, :home);
-- For 8 servings everything doubles: need 500 g flour, have 0.2 kg: order 300 g.
SELECT * FROM dtmv.missing_items(:crepes, :home, servings => 8);
-- Bob cannot read alice's kitchen: to him, everything is missing.
SET ROLE regress_co_bob;
SELECT item, missing FROM dtmv.missing_items(:crepes, :home, servings => 8);
-- Nor may he have things delivered into it: delivered items become twins
-- placed there, which takes control on the space.
\set VERBOSITY sqlstate
SELECT dtmv.place_order(:grocer, '[{"item": "flour", "quantity": 1, "unit": "kg"}]', 'into-alice',
						delivery => jsonb_build_object('space', :kitchen));
\set VERBOSITY default
-- Ordering the missing items is one call, and a retry does not order twice.
SET ROLE regress_co_alice;
SELECT dtmv.order_missing(:crepes, :home, :grocer, 'crepes-2026-11-23', servings => 8,
						  delivery => jsonb_build_object('address', '12 rue des Lilas', 'space', :kitchen,
														 'position', '[1, 1, 1]'::jsonb)) AS groceries \gset
SELECT dtmv.order_missing(:crepes, :home, :grocer, 'crepes-2026-11-23', servings => 8) = :groceries AS same_order;
SELECT line, item, quantity, unit FROM dtmv.order_items WHERE order_id = :groceries ORDER BY line;

-- The state machine: each step by its party, illegal steps refused, each step an event.
SELECT dtmv.event_horizon() AS start \gset
SELECT dtmv.advance_order(:groceries, 'confirmed');             -- the provider confirms, not alice
SET ROLE regress_co_shop;
SELECT dtmv.advance_order(:groceries, 'delivered');             -- not from placed
SELECT dtmv.advance_order(:groceries, 'confirmed');
SELECT dtmv.advance_order(:groceries, 'confirmed');             -- a retried step: no change
SELECT dtmv.advance_order(:groceries, 'shipped');
SELECT dtmv.advance_order(:groceries, 'cancelled');             -- too late
SELECT dtmv.advance_order(:groceries, 'delivered');
SELECT dtmv.advance_order(:groceries, 'placed');                -- final
-- The grocer sees its order (and the delivery address), nothing of alice's home.
SELECT status, delivery ->> 'address' AS address FROM dtmv.orders;
SELECT count(*) AS home_twins_grocer_sees FROM dtmv.twins;
SELECT count(*) AS grocer_sees_missing FROM dtmv.missing_items(:crepes, :home) WHERE have > 0;
SET ROLE regress_co_alice;
SELECT kind, payload ->> 'status' AS status FROM dtmv.events_since(:start) ORDER BY id;
-- The delivered items are now inventory twins in alice's kitchen: nothing is missing.
SELECT name, properties ->> 'quantity' AS quantity, properties ->> 'unit' AS unit
  FROM dtmv.twins WHERE kind = 'inventory' ORDER BY name;
SELECT count(*) AS still_missing FROM dtmv.missing_items(:crepes, :home, servings => 8);
-- A delivery is checked when the order is placed (so that delivering cannot
-- fail later), and the customer's control on its space again when delivered.
\set VERBOSITY sqlstate
SELECT dtmv.place_order(:grocer, '[{"item": "salt"}]', 'bad-1', delivery => '{"space": 999999}');            -- 42704
SELECT dtmv.place_order(:grocer, '[{"item": "salt"}]', 'bad-2', delivery => '{"space": "kitchen"}');         -- 22023
SELECT dtmv.place_order(:grocer, '[{"item": "salt"}]', 'bad-3',
						delivery => jsonb_build_object('space', :kitchen, 'position', '["abc", 1, 1]'::jsonb));  -- 22023
SELECT dtmv.place_order(:grocer, '[{"item": "salt"}]', 'bad-4', delivery => '[1]');                          -- 22023
SELECT dtmv.place_order(:grocer, NULL, 'bad-5');                                                             -- 22023
SELECT dtmv.place_order(:grocer, '[{"item": "salt", "quantity": "NaN", "unit": "g"}]', 'bad-6');             -- 23514
SELECT dtmv.create_bom('nothing', NULL);                                                                     -- 22023
SELECT dtmv.advance_order(:groceries, NULL);                                                                 -- 22004
\set VERBOSITY default
SELECT count(*) AS no_bad_order_kept FROM dtmv.orders WHERE request_key LIKE 'bad-%';
SELECT dtmv.grant_space(:kitchen, 'co_bob', 'control');
SET ROLE regress_co_bob;
SELECT dtmv.place_order(:grocer, '[{"item": "pepper", "quantity": 10, "unit": "g"}]', 'bob-pepper',
						delivery => jsonb_build_object('space', :kitchen, 'position', '[1, 2, 1]'::jsonb)) AS bob_order \gset
SET ROLE regress_co_alice;
SELECT dtmv.clear_space_rights(:kitchen, 'co_bob');
SET ROLE regress_co_shop;
SELECT dtmv.advance_order(:bob_order, s) FROM unnest(ARRAY['confirmed', 'shipped', 'delivered']) s;
RESET ROLE;
SELECT o.status, count(r.id) AS pepper_placed_in_alice_kitchen
  FROM dtmv.orders o LEFT JOIN dtmv.twin_registry r ON r.properties ->> 'order' = o.order_id::text
 WHERE o.order_id = :bob_order GROUP BY o.status;
DELETE FROM dtmv.orders WHERE order_id = :bob_order;    -- the rest of this file counts orders
-- Another customer sees none of alice's orders; the maker none of the grocer's.
SET ROLE regress_co_bob;
SELECT count(*) AS bob_sees_orders FROM dtmv.orders;
SET ROLE regress_co_maker;
SELECT count(*) AS maker_sees_orders FROM dtmv.orders;
SET ROLE regress_co_bob;
SELECT dtmv.advance_order(:groceries, 'cancelled');

-- Scenario 7.1.1: alice designs a chair, orders it made, and binds the delivered one.
SET ROLE regress_co_alice;
SELECT dtmv.create_twin('chair', 'My chair design', '{"design": {"legs": 4, "wood": "oak"}}',
						model_uri => 'models/chair-v3.glb') AS chair \gset
SELECT dtmv.place_order(:maker, jsonb_build_array(jsonb_build_object('design', :'chair')), 'chair-1') AS chair_order \gset
SET ROLE regress_co_bob;
\set VERBOSITY sqlstate
SELECT dtmv.place_order(:maker, jsonb_build_array(jsonb_build_object('design', :'chair')), 'steal');   -- 42501
\set VERBOSITY default
-- The details of an order placed earlier in the same statement (a STABLE
-- order_details read the statement's snapshot and did not find it).
SET ROLE regress_co_alice;
SELECT dtmv.order_details(dtmv.place_order(:maker, jsonb_build_array(jsonb_build_object('design', :'chair')), 'chair-read-at-once')) -> 'status' AS placed_and_read;
-- The maker sees the design it must build (not as a twin it may discover).
SET ROLE regress_co_maker;
SELECT jsonb_pretty((dtmv.order_details(:chair_order) -> 'items' -> 0) - 'design') AS what_to_build,
       dtmv.order_details(:chair_order) -> 'status' AS status;
SELECT count(*) AS twins_maker_sees FROM dtmv.twins;
-- alice changes her design after ordering: the maker sees it as it was
-- ordered, and only while the order is active (issue 14)
SET ROLE regress_co_alice;
SELECT dtmv.update_twin(:'chair', name => 'My next chair', properties => '{"design": {"legs": 3}}');
SET ROLE regress_co_maker;
SELECT (dtmv.order_details(:chair_order) -> 'items' -> 0) ->> 'name' AS name_as_ordered,
       (dtmv.order_details(:chair_order) -> 'items' -> 0) -> 'properties' AS properties_as_ordered;
SELECT dtmv.advance_order(:chair_order, s) FROM unnest('{confirmed,in_production,shipped,delivered}'::text[]) s;
SELECT (dtmv.order_details(:chair_order) -> 'items' -> 0) - 'design' AS maker_once_delivered;
SET ROLE regress_co_alice;
SELECT (dtmv.order_details(:chair_order) -> 'items' -> 0) ->> 'name' AS alice_sees_what_she_ordered;
SET ROLE regress_co_maker;
SET ROLE regress_co_alice;
SELECT dtmv.bind_product(:'chair', 'CHAIR-0042') > 0 AS bound;
SELECT physical_binding FROM dtmv.twin_states WHERE twin = :'chair';
SELECT dtmv.grant(:'chair', 'co_alice', 'sync');
SELECT dtmv.request_sync(:'chair') > 0 AS sync_works_on_the_product;
SELECT dtmv.create_twin('lamp', 'Not ordered') AS lamp \gset
\set VERBOSITY sqlstate
SELECT dtmv.bind_product(:'lamp', 'LAMP-1');                     -- never delivered: 55000
\set VERBOSITY default
RESET ROLE;

-- Every illegal transition is refused (55000), whoever tries it: for each
-- status an order can be in and each status it cannot go to from there,
-- both the customer and the provider try.
CREATE SCHEMA regress_commerce;
GRANT USAGE ON SCHEMA regress_commerce TO PUBLIC;
CREATE FUNCTION regress_commerce.try_step(o bigint, s text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	PERFORM dtmv.advance_order(o, s);
	RETURN 'moved';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE;
END $$;
-- One order per status, made directly by the table owner for the test.
CREATE TABLE regress_commerce.status_orders (status text, order_id bigint);
GRANT SELECT ON regress_commerce.status_orders TO PUBLIC;
WITH made AS (
	INSERT INTO dtmv.orders (service_id, customer, request_key, status)
	SELECT :grocer, (SELECT subject_id FROM dtmv.subjects WHERE name = 'co_alice'), 'illegal-' || st, st
	  FROM unnest('{placed,confirmed,in_production,shipped,delivered,cancelled,rejected}'::text[]) st
	RETURNING status, order_id)
INSERT INTO regress_commerce.status_orders SELECT * FROM made;
CREATE VIEW regress_commerce.illegal_steps AS
SELECT o.order_id, o.status AS from_status, t AS to_status
  FROM regress_commerce.status_orders o,
	   unnest('{placed,confirmed,in_production,shipped,delivered,cancelled,rejected}'::text[]) t
 WHERE t <> o.status
   AND NOT EXISTS (SELECT 1 FROM dtmv.order_transitions x WHERE x.from_status = o.status AND x.to_status = t);
GRANT SELECT ON regress_commerce.illegal_steps TO PUBLIC;
SET ROLE regress_co_alice;
SELECT count(*) AS illegal_steps_tried,
	   count(*) FILTER (WHERE regress_commerce.try_step(order_id, to_status) <> '55000') AS not_refused
  FROM regress_commerce.illegal_steps;
SET ROLE regress_co_shop;
SELECT count(*) AS illegal_steps_tried,
	   count(*) FILTER (WHERE regress_commerce.try_step(order_id, to_status) <> '55000') AS not_refused
  FROM regress_commerce.illegal_steps;
RESET ROLE;
SELECT count(*) AS statuses_unchanged FROM regress_commerce.status_orders s JOIN dtmv.orders o USING (order_id)
 WHERE o.status = s.status;
