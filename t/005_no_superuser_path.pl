# No path to superuser (issue 14, item 3): objects planted in a schema that a
# non-superuser can write never run inside dtmv's privileged functions, nor
# get bound into dtmv's stored expressions, and dtmv works with PostGIS in a
# schema of its own.
#
# Two databases, each with traps planted before dtmv is installed (so that
# the install script, too, meets them) and a full round of spatial and
# commerce calls made afterwards by ordinary users:
#   owned: owned by mallory, a non-superuser. PostGIS is in public, which
#          PostgreSQL 15 lets the database owner write; mallory plants there.
#   old:   public writable by everyone (as in databases from before 15), and
#          PostGIS in schema gis; eve, a mere login, plants in public.
# Each trap records who ran it (public.sightings), tries to make its planter
# a superuser when it runs as one, and otherwise does the job it shadows, so
# that the calls work either way.
use strict;
use warnings;

use DtmvTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = new_dtmv_node('superuser_path', create => 0);

# SQL as a role (undef: the superuser) in a database, with a search_path that
# puts no writable schema before pg_catalog: the calls the test makes itself
# never reach a trap, so any sighting is dtmv's doing.
sub q_as
{
	my ($db, $role, $sql) = @_;
	my $set = 'SET search_path = pg_catalog, dtmv;';
	$set .= " SET ROLE $role;" if defined $role;
	return $node->safe_psql($db, "$set\n$sql");
}

# The traps, planted in public by PLANTER; G is PostGIS's schema. Each
# shadows something a dtmv function uses (its name, through a writable
# schema on its search_path, or an overload that matches the call's
# argument types better than the one meant), or something the install
# script binds into a stored expression.
sub traps
{
	my ($planter, $g) = @_;
	return <<"EOF";
CREATE TABLE public.sightings (trap text, ran_as name, superuser boolean);
GRANT SELECT, INSERT ON public.sightings TO PUBLIC;
CREATE FUNCTION public.spy(trap text) RETURNS void LANGUAGE plpgsql AS \$\$
DECLARE
	su boolean := (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) current_user);
BEGIN
	INSERT INTO public.sightings VALUES (trap, current_user, su);
	IF su THEN
		EXECUTE 'ALTER ROLE $planter SUPERUSER';
	END IF;
END
\$\$;
-- acl overlaps (dtmv's rights test, in SQL and in a policy)
CREATE FUNCTION public.trap_overlap(a bigint[], b bigint[]) RETURNS boolean LANGUAGE plpgsql AS \$\$
BEGIN PERFORM public.spy('&&(bigint[], bigint[])'); RETURN pg_catalog.arrayoverlap(a, b); END
\$\$;
CREATE OPERATOR public.&& (LEFTARG = bigint[], RIGHTARG = bigint[], FUNCTION = public.trap_overlap);
-- a column compared with a literal of another type (CHECK constraints)
CREATE FUNCTION public.trap_ge(a double precision, b integer) RETURNS boolean LANGUAGE plpgsql AS \$\$
BEGIN PERFORM public.spy('>=(double precision, integer)'); RETURN a OPERATOR(pg_catalog.>=) b::double precision; END
\$\$;
CREATE OPERATOR public.>= (LEFTARG = double precision, RIGHTARG = integer, FUNCTION = public.trap_ge);
-- overloads that match a call better than pg_catalog's or PostGIS's
CREATE FUNCTION public.cardinality(a double precision[]) RETURNS integer LANGUAGE plpgsql AS \$\$
BEGIN PERFORM public.spy('cardinality(double precision[])'); RETURN pg_catalog.cardinality(a); END
\$\$;
CREATE FUNCTION public.jsonb_build_object(k1 text, v1 text, k2 text, v2 bigint, k3 text, v3 jsonb)
RETURNS jsonb LANGUAGE plpgsql AS \$\$
BEGIN
	PERFORM public.spy('jsonb_build_object(text, text, text, bigint, text, jsonb)');
	RETURN pg_catalog.jsonb_build_object(k1, v1, k2, v2, k3, v3);
END
\$\$;
CREATE FUNCTION public.st_rotate(g $g.geometry, a double precision, x integer, y integer)
RETURNS $g.geometry LANGUAGE plpgsql AS \$\$
BEGIN
	PERFORM public.spy('st_rotate(geometry, double precision, integer, integer)');
	RETURN $g.st_rotate(g, a, x::double precision, y::double precision);
END
\$\$;
EOF
}

# One more trap, for numeric > integer (the CHECK of dtmv.units, which the
# install script fills). Through release 0.1 (test/run-tests.sh --via 0.1,
# which sets DTMV_VIA), CREATE EXTENSION runs 0.1's install script first, as
# it was released: its INSERT into units runs this trap, as the superuser,
# before the update can do anything. So there it is planted after the
# install.
sub numeric_trap
{
	return <<"EOF";
CREATE FUNCTION public.trap_gt(a numeric, b integer) RETURNS boolean LANGUAGE plpgsql AS \$\$
BEGIN PERFORM public.spy('>(numeric, integer)'); RETURN a OPERATOR(pg_catalog.>) b::numeric; END
\$\$;
CREATE OPERATOR public.> (LEFTARG = numeric, RIGHTARG = integer, FUNCTION = public.trap_gt);
EOF
}

# Plants the traps as PLANTER in DB (G: PostGIS's schema), installs dtmv.
sub plant_and_install
{
	my ($db, $planter, $g) = @_;
	my $via = defined $ENV{DTMV_VIA};
	$node->safe_psql($db,
		"SET ROLE $planter;\n" . traps($planter, $g) . ($via ? '' : numeric_trap()));
	$node->safe_psql($db, 'CREATE EXTENSION dtmv');
	$node->safe_psql($db, "SET ROLE $planter;\n" . numeric_trap()) if $via;
	return;
}

# Every spatial and commerce call an ordinary user makes, in a database
# prepared by PREPARE (roles and traps); G is PostGIS's schema. Each result
# is compared with what it must be.
sub play
{
	my ($db, $g) = @_;
	my $mk = "$g.ST_MakePoint";

	q_as($db, 'carol', <<"EOF");
SELECT dtmv.create_subject('alice', 'alice');
SELECT dtmv.create_subject('shop', 'shop', 'system');
SELECT dtmv.register_system('Shop', 'third_party', 900001, operator => 'shop');
EOF
	my $site = q_as($db, 'alice',
		"SELECT dtmv.create_space('Plant', 'site', anchor_lon => 4.8357, anchor_lat => 45.764, anchor_alt => 172, heading => 15)"
	);
	my $hall = q_as($db, 'alice',
		"SELECT dtmv.create_space('Hall', 'floor', $site, z_min => 0, z_max => 6, outline => $g.ST_MakeEnvelope(0, 0, 40, 20, 0))"
	);
	ok($site > 0 && $hall > 0, "$db: create_space makes a site and a floor");
	my $robot = q_as($db, 'alice',
		"SELECT dtmv.create_twin('robot', 'Robot', physical_binding => 'R-1')");
	q_as($db, 'alice',
		"SELECT dtmv.place('$robot', $hall, $mk(2, 2, 0.9), '{90, 0, 0}', dtmv.footprint_box(1, 1, 2))"
	);
	is( q_as(
			$db, 'alice',
			"SELECT concat_ws(' ', round($g.ST_X(p)::numeric, 3), round($g.ST_Y(p)::numeric, 3), round($g.ST_Z(p)::numeric, 3))"
			  . " FROM dtmv.to_local($site, dtmv.to_wgs84($site, $mk(100, 0, 0))) p"),
		'100.000 0.000 0.000',
		"$db: to_wgs84 and back with to_local");
	q_as($db, 'alice', <<"EOF");
SELECT dtmv.grant_space($site, 'shop', 'discover');
SELECT dtmv.revoke_space($hall, 'shop', 'read');
SELECT dtmv.clear_space_rights($hall, 'shop');
SELECT dtmv.submit_capture($hall, $mk(12, 4, 1.4), 'media/1.jpg', '{R-1,PRESS-9}');
EOF
	is(q_as($db, 'alice', "SELECT dtmv.build_map($hall)"),
		'2', "$db: build_map places the robot and creates a twin");
	q_as($db, 'alice',
		"SELECT dtmv.confirm_twin(t.id, 'press', 'Press') FROM dtmv.twins t WHERE t.kind = 'unconfirmed'"
	);
	is( q_as(
			$db, 'alice',
			"SELECT string_agg(f -> 'properties' ->> 'name', ',' ORDER BY f -> 'properties' ->> 'name')"
			  . " FROM jsonb_array_elements(dtmv.spatial_map($hall) -> 'features') f"),
		'Press,Robot',
		"$db: spatial_map");
	q_as($db, 'alice',
		"SELECT dtmv.sync_location('$robot', $mk(16, 6, 0.9))");
	my $service = q_as($db, 'carol',
		"SELECT dtmv.register_service(900001, 'Care', 'maintenance', $site, $g.ST_MakeEnvelope(0, 0, 40, 20, 0), 0, 6)"
	);
	is(q_as($db, 'alice', "SELECT name FROM dtmv.services_at($hall, $mk(18, 6, 0.9))"),
		'Care', "$db: services_at");
	is( q_as(
			$db, 'alice',
			"SELECT string_agg(name || ':' || round(coalesce(distance, -1)::numeric, 1), ',')"
			  . " FROM dtmv.localize($hall, $mk(17, 6, 1.6), 20, 5)"),
		'Robot:1.2,Press:5.4,Care:-1.0',
		"$db: localize");
	my $bom = q_as($db, 'alice',
		qq{SELECT dtmv.create_bom('Kit', '[{"item": "bolt", "quantity": 10, "unit": "pc"}]')});
	is(q_as($db, 'alice', "SELECT item || ':' || missing FROM dtmv.missing_items($bom, $site)"),
		'bolt:10.000000', "$db: missing_items");
	my $order = q_as($db, 'alice',
		qq{SELECT dtmv.order_missing($bom, $site, $service, 'kit-1', delivery => '{"space": $hall, "position": [1, 1, 0]}')}
	);
	q_as($db, 'shop',
		"SELECT dtmv.advance_order($order, s) FROM unnest('{confirmed,shipped,delivered}'::text[]) s");
	is(q_as($db, 'alice', "SELECT count(*) FROM dtmv.missing_items($bom, $site)"),
		'0', "$db: the delivery became inventory in the hall");
	return;
}

# What must hold afterwards in a database, whatever the code did: no trap
# ran, as anyone; PLANTER is no superuser; nothing of dtmv is bound to a
# trap; no function of dtmv has a schema on its search_path that a
# non-superuser may write or owns.
sub verify
{
	my ($db, $planter) = @_;
	is( $node->safe_psql($db,
			"SELECT string_agg(DISTINCT trap || ' as ' || ran_as || CASE WHEN superuser THEN ' (superuser)' ELSE '' END, '; ') FROM public.sightings"
		),
		'',
		"$db: no planted object ran");
	is($node->safe_psql($db, "SELECT rolsuper FROM pg_roles WHERE rolname = '$planter'"),
		'f', "$db: $planter is no superuser");
	is( $node->safe_psql($db, <<'EOF'),
WITH planted_procs AS (
	SELECT p.oid FROM pg_proc p
	 WHERE p.pronamespace = 'public'::regnamespace AND p.prosrc LIKE '%public.spy(%'
), planted AS (
	SELECT 'pg_proc'::regclass AS classid, oid FROM planted_procs
	UNION ALL
	SELECT 'pg_operator'::regclass, o.oid FROM pg_operator o WHERE o.oprcode::oid IN (SELECT oid FROM planted_procs)
)
SELECT string_agg(DISTINCT x.type || ' ' || x.identity, '; ')
  FROM pg_depend d JOIN planted p ON p.classid = d.refclassid AND p.oid = d.refobjid
 CROSS JOIN LATERAL pg_identify_object(d.classid, d.objid, d.objsubid) x
 WHERE NOT EXISTS (SELECT 1 FROM planted q WHERE q.classid = d.classid AND q.oid = d.objid)
EOF
		'',
		"$db: no stored expression of dtmv is bound to a planted object");
	is( $node->safe_psql($db, <<'EOF'),
SELECT string_agg(DISTINCT p.oid::regprocedure || ' searches ' || s, '; ')
  FROM pg_proc p, LATERAL unnest(p.proconfig) c,
	   LATERAL regexp_split_to_table(substring(c FROM '^search_path=(.*)$'), ',\s*') s
	   LEFT JOIN pg_namespace n ON n.nspname = trim(both '"' FROM s)
 WHERE p.pronamespace = 'dtmv'::regnamespace AND s <> 'pg_temp'
   AND (n.oid IS NULL
		OR NOT (SELECT r.rolsuper FROM pg_roles r WHERE r.oid = n.nspowner)
		OR EXISTS (SELECT 1 FROM pg_roles r
					WHERE NOT r.rolsuper AND has_schema_privilege(r.oid, n.oid, 'CREATE')))
EOF
		'',
		"$db: no function of dtmv searches a schema a non-superuser may write");
	is( $node->safe_psql($db, <<'EOF'),
SELECT string_agg(p.oid::regprocedure::text, '; ')
  FROM pg_proc p
 WHERE p.pronamespace = 'dtmv'::regnamespace AND p.prosecdef
   AND NOT coalesce(p.proconfig::text LIKE '%search_path=%', false)
EOF
		'',
		"$db: every SECURITY DEFINER function of dtmv sets its search_path");
	# (PostGIS's geometry as regprocedure names it here: geometry, or
	# schema.geometry where PostGIS's schema is not in the search_path)
	my $geometry = $node->safe_psql($db, "SELECT t.oid::regtype FROM pg_type t WHERE t.typname = 'geometry'");
	is( $node->safe_psql($db, <<'EOF'),
SELECT string_agg(p.oid::regprocedure::text, '; ' ORDER BY p.oid::regprocedure::text)
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = 'dtmv'::regnamespace AND l.lanname IN ('sql', 'plpgsql')
   AND NOT coalesce(p.proconfig::text LIKE '%search_path=%', false)
EOF
		join('; ',
			'dtmv._holds(dtmv.twin_id,text)',
			# release 0.1's twin_id operators (sql/install/replay/10_identity.sql)
			map({ "dtmv.twin_id_${_}_sql(dtmv.twin_id,dtmv.twin_id)" } qw(eq ge gt)),
			'dtmv.twin_id_larger(dtmv.twin_id,dtmv.twin_id)',
			map({ "dtmv.twin_id_${_}_sql(dtmv.twin_id,dtmv.twin_id)" } qw(le lt ne)),
			'dtmv.twin_id_smaller(dtmv.twin_id,dtmv.twin_id)'),
		"$db: the SQL functions without a search_path are those to be inlined, which qualify every name");
	return;
}

# The users: alice and shop act, carol administers; mallory owns a database,
# eve owns nothing. None is a superuser.
$node->safe_psql('postgres', <<'EOF');
CREATE ROLE mallory LOGIN;
CREATE ROLE eve LOGIN;
CREATE DATABASE owned OWNER mallory;
CREATE DATABASE old;
EOF

# owned: PostGIS (and the other dependencies) in public, installed by the
# superuser; mallory plants; then the superuser installs dtmv.
$node->safe_psql('owned', <<'EOF');
CREATE EXTENSION postgis;
CREATE EXTENSION pg_trgm;
CREATE EXTENSION btree_gist;
EOF
plant_and_install('owned', 'mallory', 'public');
$node->safe_psql('postgres', <<'EOF');
CREATE ROLE alice LOGIN IN ROLE dtmv_user;
CREATE ROLE shop LOGIN IN ROLE dtmv_user;
CREATE ROLE carol LOGIN IN ROLE dtmv_admin;
EOF
play('owned', 'public');
verify('owned', 'mallory');

# old: public writable by everyone, PostGIS in gis; eve plants in public.
$node->safe_psql('old', <<'EOF');
GRANT CREATE ON SCHEMA public TO PUBLIC;
CREATE SCHEMA gis;
CREATE EXTENSION postgis SCHEMA gis;
CREATE EXTENSION pg_trgm;
CREATE EXTENSION btree_gist;
GRANT USAGE ON SCHEMA gis TO PUBLIC;
EOF
plant_and_install('old', 'eve', 'gis');
play('old', 'gis');
verify('old', 'eve');

# A schema dtmv that someone else made first would be on every privileged
# function's search_path: the install refuses it.
$node->safe_psql('postgres', 'CREATE DATABASE squatted OWNER mallory');
$node->safe_psql('squatted', 'SET ROLE mallory; CREATE SCHEMA dtmv');
my ($rc, $out, $err) =
  $node->psql('squatted', 'CREATE EXTENSION dtmv CASCADE');
like(
	$err,
	qr/schema "dtmv" is writable by roles that are not superusers: mallory/,
	'the install refuses a schema dtmv that a non-superuser owns');
# The update refuses too, should a superuser have given CREATE on it since.
$node->safe_psql('squatted', <<'EOF');
SET ROLE mallory;
DROP SCHEMA dtmv;
RESET ROLE;
CREATE EXTENSION dtmv VERSION '0.1' CASCADE;
GRANT CREATE ON SCHEMA dtmv TO mallory;
EOF
($rc, $out, $err) = $node->psql('squatted', 'ALTER EXTENSION dtmv UPDATE');
like(
	$err,
	qr/schema "dtmv" is writable by roles that are not superusers: mallory/,
	'the update refuses a schema dtmv that a non-superuser may write');

done_testing();
