# Orders through a shop's system (scenarios 7.1.1 and 7.1.2 across systems;
# REQ-SI-02a, REQ-SI-03, REQ-SI-04; docs/federation.md "Orders through a
# shop's system"). Three clusters: the home's twin system (alice's flat, her
# pantry, her chair design, her front door), the metaverse system mv1 where
# alice is a user, and a shop (a 3rd-party system) with its services. At
# mv1 alice browses the shop's services, asks what her recipe lacks in her
# pantry at home, and orders it and her chair at the shop; the shop delivers
# into her pantry and binds the chair at home, with exactly the rights she
# granted it there. A user without rights sees nothing; a link killed
# mid-order leaves nothing half done and a retry with the same key makes
# one order; the shop cannot exceed what alice granted.
use strict;
use warnings;

use DtmvTest;
use DtmvFederation;
use PostgreSQL::Test::Utils;
use Test::More;

my $home = new_dtmv_node('shop_home');
my $mv   = new_dtmv_node('shop_mv');
my $shop = new_dtmv_node('shop_shop');

my %no = (
	home => local_system_no($home, 'twin'),
	mv1  => local_system_no($mv, 'metaverse'),
	shop => 880077);

# The shop's own database: its order desk (the subject "orders", the login
# orders_desk) operates the system "shop" and its services.
$shop->safe_psql('postgres', qq{
CREATE ROLE orders_desk LOGIN IN ROLE dtmv_user;
SELECT dtmv.create_subject('orders', 'orders_desk', 'system');
SELECT dtmv.register_system('shop', 'third_party', $no{shop}, operator => 'orders');
});
my $grocer = $shop->safe_psql('postgres',
	q{SELECT dtmv.register_service(880077, 'Groceries in an hour', 'supply')});
my $maker = $shop->safe_psql('postgres',
	q{SELECT dtmv.register_service(880077, 'Furniture made to your design', 'manufacturing')});

# Links: mv1 calls home and the shop; the shop calls home.
accept_link($home, name => 'mv1',  kind => 'metaverse',   no => $no{mv1},  login => 'mv1_link');
accept_link($home, name => 'shop', kind => 'third_party', no => $no{shop}, login => 'shop_link');
accept_link($shop, name => 'mv1',  kind => 'metaverse',   no => $no{mv1},  login => 'mv1_link');
prepare_caller($mv, 'mv_admin');
prepare_caller($shop, 'shop_admin');
link_to($mv, admin => 'mv_admin', target => $home, name => 'home', kind => 'twin', no => $no{home},
	login => 'mv1_link');
link_to($mv, admin => 'mv_admin', target => $shop, name => 'shop', kind => 'third_party', no => $no{shop},
	login => 'mv1_link');
link_to($shop, admin => 'shop_admin', target => $home, name => 'home', kind => 'twin', no => $no{home},
	login => 'shop_link');

# The order desk lets its system act for it at home: at home it is
# orders@shop, with what alice grants it there.
sql_as($shop, 'orders_desk', q{SELECT dtmv.delegate('home', 'discover,read,control')});

# At mv1: alice and bob, who use home and the shop through mv1; erin, who
# lets mv1 act for her at neither.
$mv->safe_psql('postgres', q{
CREATE ROLE alice LOGIN IN ROLE dtmv_user;
CREATE ROLE bob LOGIN IN ROLE dtmv_user;
CREATE ROLE erin LOGIN IN ROLE dtmv_user;
SELECT dtmv.create_subject('alice', 'alice');
SELECT dtmv.create_subject('bob', 'bob');
SELECT dtmv.create_subject('erin', 'erin');
});
for my $user ('alice', 'bob')
{
	sql_as($mv, $user, q{
SELECT dtmv.delegate('home', 'discover,read,sync,admin');
SELECT dtmv.delegate('shop', 'discover,read,admin');
});
}

# At home: alice's flat, made by her own login there (alice_home); her
# pantry with what is in it, her hall with the front door, her chair design.
$home->safe_psql('postgres', q{
CREATE ROLE alice_home LOGIN IN ROLE dtmv_user;
SELECT dtmv.create_subject('alice', 'alice_home');
SELECT dtmv.create_remote_user('alice', 'mv1');
SELECT dtmv.create_remote_user('bob', 'mv1');
SELECT dtmv.create_remote_user('orders', 'shop');
});
my $flat = sql_as($home, 'alice_home',
	q{SELECT dtmv.create_space('Alice''s flat', 'site', anchor_lon => 4.8357, anchor_lat => 45.7640, anchor_alt => 180)});
my $pantry = sql_as($home, 'alice_home', qq{SELECT dtmv.create_space('Pantry', 'room', $flat)});
my $hall   = sql_as($home, 'alice_home', qq{SELECT dtmv.create_space('Hall', 'room', $flat)});
sql_as($home, 'alice_home', qq{
SELECT dtmv.place(dtmv.create_twin('food', i ->> 'item', i), $pantry, ST_MakePoint(1, 1, 1))
  FROM jsonb_array_elements('[{"item": "flour", "quantity": 0.2, "unit": "kg"},
                              {"item": "milk", "quantity": 0.5, "unit": "l"},
                              {"item": "eggs", "quantity": 2, "unit": "pieces"}]') i;
});
my $door = sql_as($home, 'alice_home', q{SELECT dtmv.create_twin('door', 'Front door')});
sql_as($home, 'alice_home', qq{SELECT dtmv.place('$door', $hall, ST_MakePoint(0, 0, 1))});
my $chair = sql_as($home, 'alice_home',
	q{SELECT dtmv.create_twin('chair', 'Reading chair', '{"design": {"seat_height_cm": 44, "wood": "oak"}}',
	                          model_uri => 'models/reading-chair-v2.glb')});
# What she grants: her metaverse self reads the flat and administers the
# chair; the shop's desk controls the pantry (deliveries become twins there)
# and the chair (it binds the product it makes). Nothing else.
sql_as($home, 'alice_home', qq{
SELECT dtmv.grant_space($flat, 'alice\@mv1', 'read');
SELECT dtmv.grant_space($pantry, 'alice\@mv1', 'control');
SELECT dtmv.grant('$chair', 'alice\@mv1', 'admin');
SELECT dtmv.grant_space($pantry, 'orders\@shop', 'control');
SELECT dtmv.grant('$chair', 'orders\@shop', 'control');
});

# The recipe is at mv1: a dish alice picked in the metaverse.
my $crepes = sql_as($mv, 'alice', q{
SELECT dtmv.create_bom('Crepes', '[{"item": "flour", "quantity": 250, "unit": "g"},
                                   {"item": "milk", "quantity": 500, "unit": "ml"},
                                   {"item": "eggs", "quantity": 4, "unit": "pc"},
                                   {"item": "butter", "quantity": 50, "unit": "g"}]', servings => 4)});

my ($state, $msg, $out, $took, $err);

# --- browsing the shop's services from mv1 (REQ-MV-05, REQ-SI-03)
(undef, undef, $out) = attempt($mv, 'alice',
	"SELECT string_agg(service_id || ':' || name, ', ' ORDER BY service_id) FROM dtmv.services_of($no{shop});");
is($out, "$grocer:Groceries in an hour, $maker:Furniture made to your design",
	"alice browses the shop's services from mv1");

# --- scenario 7.1.2: what the recipe lacks in her pantry at home
(undef, undef, $out) = attempt($mv, 'alice',
	"SELECT string_agg(item || ' ' || missing::float8 || ' ' || unit, ', ' ORDER BY item)"
	  . " FROM dtmv.missing_items($crepes, $pantry, servings => 8, system => $no{home});");
is($out, 'butter 100 g, eggs 6 pc, flour 300 g, milk 500 ml',
	'missing_items at mv1 counts the inventory twins of her pantry at home');
(undef, undef, $out) = attempt($mv, 'bob',
	"SELECT string_agg(item || ' ' || have::float8, ', ' ORDER BY item)"
	  . " FROM dtmv.missing_items($crepes, $pantry, servings => 8, system => $no{home});");
is($out, 'butter 0, eggs 0, flour 0, milk 0', "bob, without rights at home, sees nothing of alice's pantry");

my $groceries_sql = qq{SELECT dtmv.place_order($grocer,
	(SELECT jsonb_agg(jsonb_build_object('item', item, 'quantity', missing, 'unit', unit))
	   FROM dtmv.missing_items($crepes, $pantry, servings => 8, system => $no{home})),
	'crepes-for-8', jsonb_build_object('system', $no{home}, 'space', $pantry, 'position', '[1, 2, 1]'::jsonb),
	system => $no{shop});};

# --- the link killed mid-order (the shop's backend, waiting there): nothing
# half done, and the retry with the same key places one order
my $tmp = PostgreSQL::Test::Utils::tempdir;
my $lock = $shop->background_psql('postgres');
$lock->query_safe('BEGIN; LOCK TABLE dtmv.orders IN ACCESS EXCLUSIVE MODE;');
my ($waiting, $killed) = kill_link_while_waiting($mv, 'alice', $groceries_sql, $shop, 'mv1_link');
is($waiting, '1', "alice's order waits at the shop");
like($killed, qr/ERROR:\s+08006: lost the connection to system "shop"/,
	'the link killed mid-place_order: 08006 naming the shop');
$lock->query_safe('COMMIT;');
$lock->quit;
is($shop->safe_psql('postgres', 'SELECT count(*) FROM dtmv.orders'), '0', '... no order at the shop');
is($mv->safe_psql('postgres', 'SELECT count(*) FROM dtmv.remote_orders'), '0', '... none recorded at mv1');

# --- the answer lost: the order committed at the shop, mv1's session killed
# before it recorded it; the retry with the same key finds the shop's order
$lock = $mv->background_psql('postgres');
$lock->query_safe('BEGIN; LOCK TABLE dtmv.remote_orders IN EXCLUSIVE MODE;');
my $call = start_as($mv, 'alice', "$tmp/lost", 'psql', '-X', '-v', 'VERBOSITY=verbose', '-c', $groceries_sql);
is( wait_for_value($mv,
		q{SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT dtmv.place_order%' AND wait_event_type = 'Lock'}, '1', 10),
	'1', 'a second try: placed at the shop, mv1 waits to record it');
is($shop->safe_psql('postgres', q{SELECT count(*) FROM dtmv.orders WHERE request_key = 'crepes-for-8'}),
	'1', '... the order is at the shop');
$mv->safe_psql('postgres',
	q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT dtmv.place_order%' AND wait_event_type = 'Lock'});
$call->finish;
$lock->query_safe('COMMIT;');
$lock->quit;
is($mv->safe_psql('postgres', 'SELECT count(*) FROM dtmv.remote_orders'), '0', '... its answer lost at mv1');
($state, $msg, $out) = attempt($mv, 'alice', $groceries_sql);
like($out, qr/^\d+$/, 'the retry with the same key gives an order id at mv1');
my $groceries = $out;
is($shop->safe_psql('postgres', q{SELECT count(*) FROM dtmv.orders}), '1', '... and one order at the shop');
(undef, undef, $out) = attempt($mv, 'alice', $groceries_sql);
is($out, $groceries, 'placing again with the same key returns the same order');

# --- the order's status, from mv1, as the customer may see it
(undef, undef, $out) = attempt($mv, 'alice',
	"SELECT d ->> 'status', d ->> 'order', jsonb_array_length(d -> 'items') FROM dtmv.order_details($groceries) d;");
is($out, "placed|$groceries|4", 'alice reads her order at the shop from mv1: placed, 4 items');
($state) = attempt($mv, 'bob', "SELECT dtmv.order_details($groceries);");
is($state, '42501', "bob may not read alice's order");
(undef, undef, $out) = attempt($mv, 'bob', 'SELECT count(*) FROM dtmv.remote_orders;');
is($out, '0', '... nor see it among the orders placed elsewhere');
($state, $msg) = attempt($mv, 'erin',
	"SELECT dtmv.place_order($grocer, '[{\"item\": \"salt\"}]', 'erin-1', system => $no{shop});");
is($state, '42501', 'erin, who did not let mv1 act for her at the shop, cannot order there');
like($msg, qr/permission denied to act at system "shop"/, '... naming the system');

# --- the shop sees the order, not alice's twins; it confirms and delivers
# into her pantry at home, acting there as orders@shop
my $shop_order = $shop->safe_psql('postgres', 'SELECT order_id FROM dtmv.orders');
(undef, undef, $out) = attempt($shop, 'orders_desk',
	"SELECT (dtmv.order_details($shop_order) -> 'delivery' ->> 'space')::bigint = $pantry;");
is($out, 't', 'the shop sees where to deliver');
sql_as($shop, 'orders_desk', qq{SELECT dtmv.advance_order($shop_order, s) FROM unnest('{confirmed,shipped,delivered}'::text[]) s});
is( $home->safe_psql('postgres', qq{
SELECT string_agg(r.name || ':' || s.name, ', ' ORDER BY r.name)
  FROM dtmv.twin_registry r JOIN dtmv.twin_positions p ON p.twin = r.id JOIN dtmv.subjects s ON s.subject_id = r.created_by
 WHERE r.kind = 'inventory' AND p.space = $pantry}),
	'butter:alice, eggs:alice, flour:alice, milk:alice',
	"delivered: inventory twins of alice in her pantry at home");
(undef, undef, $out) = attempt($mv, 'alice', "SELECT dtmv.order_details($groceries) ->> 'status';");
is($out, 'delivered', 'alice sees it delivered from mv1');
(undef, undef, $out) = attempt($mv, 'alice',
	"SELECT count(*) FROM dtmv.missing_items($crepes, $pantry, servings => 8, system => $no{home});");
is($out, '0', 'nothing is missing any more');

# --- scenario 7.1.1: her chair design, made by the shop and bound at home
(undef, undef, $out) = attempt($mv, 'alice', qq{
SELECT dtmv.place_order($maker, jsonb_build_array(jsonb_build_object('design', '$chair'::text)), 'chair-1',
                        '{"address": "3 quai Saint-Antoine"}', system => $no{shop});});
like($out, qr/^\d+$/, 'alice orders her chair design (a twin at home) from mv1');
my $chair_order = $out;
($state) = attempt($mv, 'bob', qq{
SELECT dtmv.place_order($maker, jsonb_build_array(jsonb_build_object('design', '$chair'::text)), 'steal',
                        system => $no{shop});});
is($state, '42501', "bob cannot order alice's design");
$shop_order = $shop->safe_psql('postgres', q{SELECT order_id FROM dtmv.orders WHERE request_key = 'chair-1'});
(undef, undef, $out) = attempt($shop, 'orders_desk',
	"SELECT i ->> 'design', i ->> 'name', i -> 'properties' -> 'design' ->> 'wood', i ->> 'model_uri'"
	  . " FROM jsonb_array_elements(dtmv.order_details($shop_order) -> 'items') i;");
is($out, "$chair|Reading chair|oak|models/reading-chair-v2.glb", 'the shop sees the design it must build');
sql_as($shop, 'orders_desk',
	qq{SELECT dtmv.advance_order($shop_order, s) FROM unnest('{confirmed,in_production,shipped,delivered}'::text[]) s});
(undef, undef, $out) = attempt($shop, 'orders_desk', "SELECT dtmv.bind_product('$chair', 'OAKCO-RC-000731') > 0;");
is($out, 't', 'the shop binds the chair it made to the design at home');
(undef, undef, $out) = attempt($mv, 'alice', "SELECT dtmv.twin_info('$chair') ->> 'physical_binding';");
is($out, 'OAKCO-RC-000731', 'alice sees the chair bound, from mv1');
(undef, undef, $out) = attempt($mv, 'alice', "SELECT dtmv.order_details($chair_order) ->> 'status';");
is($out, 'delivered', '... and the order delivered');

# --- the shop cannot exceed what alice granted (REQ-SI-04)
($state) = attempt($shop, 'orders_desk', "SELECT dtmv.twin_info('$door');");
is($state, '42501', "the shop cannot read alice's front door at home");
($state) = attempt($shop, 'orders_desk', "SELECT dtmv.bind_product('$door', 'X-1');");
is($state, '42501', '... nor bind anything to it');
(undef, undef, $out) = attempt($shop, 'orders_desk',
	"SELECT count(*) FILTER (WHERE id = '$door'), count(*) FILTER (WHERE kind = 'inventory') FROM dtmv.search_twins(system => $no{home});");
is($out, '0|4', '... it finds her pantry (what it may control) and not her door');
# an order that names her hall (where it may not deliver) is not delivered
(undef, undef, $out) = attempt($mv, 'alice',
	"SELECT dtmv.place_order($grocer, '[{\"item\": \"salt\", \"quantity\": 1, \"unit\": \"kg\"}]', 'salt-hall',"
	  . " jsonb_build_object('system', $no{home}, 'space', $hall), system => $no{shop});");
$shop_order = $shop->safe_psql('postgres', q{SELECT order_id FROM dtmv.orders WHERE request_key = 'salt-hall'});
($state) = attempt($shop, 'orders_desk',
	"SELECT dtmv.advance_order($shop_order, s) FROM unnest('{confirmed,shipped,delivered}'::text[]) s;");
is($state, '42501', 'delivering into her hall, where the shop may not: 42501 from home');
is($shop->safe_psql('postgres', "SELECT status FROM dtmv.orders WHERE order_id = $shop_order"),
	'placed', '... and the order is not delivered (the whole step rolled back)');
is($home->safe_psql('postgres', "SELECT count(*) FROM dtmv.twin_positions WHERE space = $hall"),
	'1', '... nothing was made in her hall');
# bob orders into alice's pantry (the shop may deliver there, bob may not):
# home refuses the delivery for him, and nothing is made there (review)
(undef, undef, $out) = attempt($mv, 'bob',
	"SELECT dtmv.place_order($grocer, '[{\"item\": \"flour\", \"quantity\": 99, \"unit\": \"kg\"}]', 'bob-fills',"
	  . " jsonb_build_object('system', $no{home}, 'space', $pantry), system => $no{shop});");
$shop_order = $shop->safe_psql('postgres', q{SELECT order_id FROM dtmv.orders WHERE request_key = 'bob-fills'});
($state, $msg) = attempt($shop, 'orders_desk',
	"SELECT dtmv.advance_order($shop_order, s) FROM unnest('{confirmed,shipped,delivered}'::text[]) s;");
is($state, '42501', "bob's order delivered into alice's pantry: 42501 from home (the customer lacks control there)");
is($home->safe_psql('postgres', q{SELECT count(*) FROM dtmv.twin_registry WHERE kind = 'inventory' AND properties ->> 'quantity' = '99'}),
	'0', '... and no flour of bob\'s is in her pantry');
# a compromised shop: its link login claims every right; it still holds
# only alice's grants
($state) = attempt($home, 'shop_link',
	"BEGIN;\nSELECT dtmv.act_for_link('orders', 'discover,read,interact,sync,control,admin');\n"
	  . "SELECT dtmv.twin_info('$door');\nCOMMIT;");
is($state, '42501', "the shop's link, claiming every right, still cannot read the door");
($state) = attempt($home, 'shop_link',
	"BEGIN;\nSELECT dtmv.act_for_link('orders', 'discover,read,interact,sync,control,admin');\n"
	  . "SELECT dtmv.grant('$chair', 'orders\@shop', 'admin');\nCOMMIT;");
is($state, '42501', '... nor give itself more on the chair');
($state) = attempt($home, 'shop_link',
	"BEGIN;\nSELECT dtmv.act_for_link('alice', 'read');\nSELECT dtmv.twin_info('$chair');\nCOMMIT;");
is($state, '42501', '... and, naming alice, it is alice\@shop, who holds nothing of hers');

done_testing();
