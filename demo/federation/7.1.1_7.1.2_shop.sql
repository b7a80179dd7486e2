-- Scenarios 7.1.1 (a product designed in the virtual world, delivered in
-- the physical world) and 7.1.2 (ordering ingredients for a recipe) across
-- systems: alice, at the metaverse system mv1, orders from a shop's system;
-- the shop delivers into her home's twin system and binds the chair it
-- made to her design there, with only the rights she granted it
-- (REQ-MV-05..07, REQ-SI-02a, REQ-SI-03, REQ-SI-04; docs/federation.md,
-- "Orders through a shop's system"). Played after systems.sql.
\echo
\echo '################ 7.1.1 and 7.1.2 orders from mv1 through a shop''s system, delivered at home'
\echo '--- at the shop: its services; its order desk lets the shop act for it at home'
\c postgres - :host :shop_port
SELECT dtmv.register_service(:shop_no, 'Groceries in an hour', 'supply') AS grocer \gset
SELECT dtmv.register_service(:shop_no, 'Furniture made to your design', 'manufacturing') AS maker \gset
SET ROLE shop_orders;
SELECT dtmv.delegate('home', 'discover,read,control') \g /dev/null

\echo '--- at home: alice''s flat, her pantry and what is in it, her chair design; what she grants'
\c postgres - :host :home_port
SET ROLE home_alice;
SELECT dtmv.create_space('Alice''s flat', 'site', anchor_lon => 4.8357, anchor_lat => 45.7640, anchor_alt => 180) AS flat \gset
SELECT dtmv.create_space('Pantry', 'room', :flat) AS pantry \gset
SELECT dtmv.create_space('Hall', 'room', :flat) AS hall \gset
SELECT count(dtmv.place(dtmv.create_twin('food', i ->> 'item', i), :pantry, ST_MakePoint(1, 1, 1))) AS in_the_pantry
  FROM jsonb_array_elements('[{"item": "flour", "quantity": 0.2, "unit": "kg"},
                              {"item": "milk", "quantity": 0.5, "unit": "l"},
                              {"item": "eggs", "quantity": 2, "unit": "pieces"}]') i;
SELECT dtmv.create_twin('box', 'Jewellery box') AS box \gset
SELECT dtmv.place(:'box', :hall, ST_MakePoint(0, 1, 1)) \g /dev/null
SELECT dtmv.create_twin('chair', 'Reading chair', '{"design": {"seat_height_cm": 44, "wood": "oak"}}',
						model_uri => 'models/reading-chair-v2.glb') AS chair \gset
-- her metaverse self reads the flat, fills the pantry (control: she may
-- have things delivered there) and administers the chair; the shop's
-- desk controls the pantry (deliveries become twins there) and the chair
-- (it binds the product it makes to it); nothing else
SELECT dtmv.grant_space(:flat, 'alice@mv1', 'read') \g /dev/null
SELECT dtmv.grant_space(:pantry, 'alice@mv1', 'control') \g /dev/null
SELECT dtmv.grant(:'chair', 'alice@mv1', 'admin') \g /dev/null
SELECT dtmv.grant_space(:pantry, 'orders@shop', 'control') \g /dev/null
SELECT dtmv.grant(:'chair', 'orders@shop', 'control') \g /dev/null

\echo '--- at mv1: alice browses the shop''s services'
\c postgres - :host :mv_port
SET ROLE mv1_alice;
SELECT dtmv.delegate('home', 'discover,read,sync,admin') \g /dev/null
SELECT dtmv.delegate('shop', 'discover,read,admin') \g /dev/null
SELECT service_id, name FROM dtmv.services_of(:shop_no) ORDER BY service_id;

\echo '--- 7.1.2 at mv1: she picks crepes for 8; what her pantry at home lacks'
SELECT dtmv.create_bom('Crepes', '[{"item": "flour", "quantity": 250, "unit": "g"},
                                   {"item": "milk", "quantity": 500, "unit": "ml"},
                                   {"item": "eggs", "quantity": 4, "unit": "pc"},
                                   {"item": "butter", "quantity": 50, "unit": "g"}]', servings => 4) AS crepes \gset
SELECT item, missing, unit FROM dtmv.missing_items(:crepes, :pantry, servings => 8, system => :home_no) ORDER BY item;
SELECT dtmv.place_order(:grocer,
		(SELECT jsonb_agg(jsonb_build_object('item', item, 'quantity', missing, 'unit', unit))
		   FROM dtmv.missing_items(:crepes, :pantry, servings => 8, system => :home_no)),
		'crepes-for-8', jsonb_build_object('system', :home_no, 'space', :pantry), system => :shop_no) AS groceries \gset
SELECT demo.expect(dtmv.order_details(:groceries) ->> 'status' = 'placed', 'alice''s order waits at the shop');

\echo '--- at the shop: the desk confirms, ships and delivers, into her pantry at home'
\c postgres - :host :shop_port
SET ROLE shop_orders;
SELECT order_id AS shop_order FROM dtmv.orders WHERE request_key = 'crepes-for-8' \gset
SELECT dtmv.advance_order(:shop_order, s) FROM unnest('{confirmed,shipped,delivered}'::text[]) s \g /dev/null

\echo '--- at mv1: delivered; nothing is missing any more'
\c postgres - :host :mv_port
SET ROLE mv1_alice;
SELECT demo.expect(dtmv.order_details(:groceries) ->> 'status' = 'delivered', 'alice sees her groceries delivered, from mv1');
SELECT demo.expect(NOT EXISTS (SELECT FROM dtmv.missing_items(:crepes, :pantry, servings => 8, system => :home_no)),
				   'her pantry at home now holds all the crepes need');

\echo '--- 7.1.1 at mv1: she orders her chair design, a twin at home, from the shop'
SELECT dtmv.place_order(:maker, jsonb_build_array(jsonb_build_object('design', :'chair'::text)), 'chair-1',
						'{"address": "3 quai Saint-Antoine"}', system => :shop_no) AS chair_order \gset
\echo '--- at the shop: what to build; made, shipped, delivered; the chair bound to her design at home'
\c postgres - :host :shop_port
SET ROLE shop_orders;
SELECT order_id AS shop_order FROM dtmv.orders WHERE request_key = 'chair-1' \gset
SELECT i ->> 'name' AS design, i -> 'properties' -> 'design' AS spec, i ->> 'model_uri' AS model
  FROM jsonb_array_elements(dtmv.order_details(:shop_order) -> 'items') i;
SELECT dtmv.advance_order(:shop_order, s) FROM unnest('{confirmed,in_production,shipped,delivered}'::text[]) s \g /dev/null
SELECT demo.expect(dtmv.bind_product(:'chair', 'OAKCO-RC-000731') > 0, 'the shop binds the chair it made to her design at home');
\echo '--- the shop holds only what alice granted it'
SELECT demo.expect(EXISTS (SELECT FROM dtmv.search_twins(system => :home_no) WHERE id = :'chair')
				   AND NOT EXISTS (SELECT FROM dtmv.search_twins(system => :home_no) WHERE id = :'box'),
				   'the shop finds her chair at home, not her jewellery box');
\set ON_ERROR_STOP 0
\set VERBOSITY terse
SELECT dtmv.twin_info(:'box');
\set VERBOSITY default
\set ON_ERROR_STOP 1

\echo '--- at mv1: her chair is bound, her order delivered'
\c postgres - :host :mv_port
SET ROLE mv1_alice;
SELECT demo.expect(dtmv.twin_info(:'chair') ->> 'physical_binding' = 'OAKCO-RC-000731', 'alice sees her chair bound, from mv1');
SELECT demo.expect(dtmv.order_details(:chair_order) ->> 'status' = 'delivered', 'and its order delivered');
RESET ROLE;
