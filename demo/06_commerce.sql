-- Scenarios 1 and 2 (7.1.1, 7.1.2): a chair designed in the virtual world is
-- made and delivered; a recipe's missing ingredients are ordered and
-- delivered into the kitchen (REQ-MV-05..07, REQ-SI-03, REQ-SI-04).
\set SHOW_CONTEXT never
SET search_path = public, dtmv;
CREATE ROLE demo_grocer LOGIN IN ROLE dtmv_user;
CREATE ROLE demo_maker LOGIN IN ROLE dtmv_user;
SET ROLE demo_admin;
SELECT dtmv.create_subject('Fresh Grocer', 'demo_grocer', 'system');
SELECT dtmv.create_subject('Oak & Co furniture', 'demo_maker', 'system');
SELECT dtmv.register_system('Fresh Grocer', 'third_party', 880001, operator => 'Fresh Grocer');
SELECT dtmv.register_system('Oak & Co', 'third_party', 880002, operator => 'Oak & Co furniture');
SELECT dtmv.register_service(880001, 'Groceries in an hour', 'supply') AS grocer \gset
SELECT dtmv.register_service(880002, 'Furniture made to your design', 'manufacturing') AS maker \gset
RESET ROLE;

\echo '--- scenario 2 (7.1.2): alice picks a dish; her kitchen''s twins mirror what is in the fridge'
SET ROLE demo_alice;
SELECT dtmv.create_space('Alice''s flat', 'site', anchor_lon => 4.8357, anchor_lat => 45.7640, anchor_alt => 180) AS flat \gset
SELECT dtmv.create_space('Kitchen', 'room', :flat) AS kitchen \gset
SELECT dtmv.place(dtmv.create_twin('food', i ->> 'item', i), :kitchen, ST_MakePoint(2, 1, 1))
  FROM jsonb_array_elements('[{"item": "flour", "quantity": 0.2, "unit": "kg"},
							  {"item": "milk", "quantity": 0.5, "unit": "l"},
							  {"item": "eggs", "quantity": 6, "unit": "pieces"}]') i;
SELECT dtmv.create_bom('Crepes', '[{"item": "flour", "quantity": 250, "unit": "g"},
								   {"item": "milk", "quantity": 500, "unit": "ml"},
								   {"item": "eggs", "quantity": 4, "unit": "pc"},
								   {"item": "butter", "quantity": 50, "unit": "g"}]', servings => 4) AS crepes \gset
\echo '--- crepes for 8: what is missing, with units converted'
SELECT * FROM dtmv.missing_items(:crepes, :flat, servings => 8);
\echo '--- one call orders it all (a retry would return the same order)'
SELECT dtmv.order_missing(:crepes, :flat, :grocer, 'crepes-for-8', servings => 8,
						  delivery => jsonb_build_object('address', '3 quai Saint-Antoine', 'space', :kitchen,
														 'position', '[2, 1, 1]'::jsonb)) AS groceries \gset
\echo '--- the grocer sees the order and the address, not alice''s kitchen; it confirms and delivers'
SET ROLE demo_grocer;
SELECT status, delivery ->> 'address' AS address, jsonb_pretty(dtmv.order_details(:groceries) -> 'items') AS items
  FROM dtmv.orders;
SELECT count(*) AS kitchen_twins_the_grocer_sees FROM dtmv.twins;
SELECT dtmv.advance_order(:groceries, s) FROM unnest('{confirmed,shipped,delivered}'::text[]) s;
\echo '--- alice was told at every step, and the groceries are now twins in her kitchen'
SET ROLE demo_alice;
SELECT kind, payload ->> 'status' AS status FROM dtmv.events WHERE kind LIKE 'order%' ORDER BY event_id;
SELECT count(*) AS still_missing FROM dtmv.missing_items(:crepes, :flat, servings => 8);

\echo '--- scenario 1 (7.1.1): alice designs a chair in the virtual world and has it made'
SELECT dtmv.create_twin('chair', 'Reading chair', '{"design": {"seat_height_cm": 44, "wood": "oak"}}',
						model_uri => 'models/reading-chair-v2.glb') AS chair \gset
SELECT dtmv.place_order(:maker, jsonb_build_array(jsonb_build_object('design', :'chair')), 'chair-2026-11',
						delivery => '{"address": "3 quai Saint-Antoine"}') AS chair_order \gset
SET ROLE demo_maker;
SELECT jsonb_pretty(dtmv.order_details(:chair_order)) AS what_the_maker_sees;
SELECT dtmv.advance_order(:chair_order, s) FROM unnest('{confirmed,in_production,shipped,delivered}'::text[]) s;
\echo '--- delivered: alice binds the real chair (its serial) to her design, which is now its twin'
SET ROLE demo_alice;
SELECT dtmv.bind_product(:'chair', 'OAKCO-RC-000731') > 0 AS bound;
SELECT dtmv.request_sync(:'chair') AS sync_request;
SELECT physical_binding FROM dtmv.twin_states WHERE twin = :'chair';
RESET ROLE;
