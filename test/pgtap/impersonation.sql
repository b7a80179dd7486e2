-- Nobody becomes another subject by a GUC, a forged argument, a direct call
-- or a SECURITY DEFINER trick; only dtmv_gateway may act_as (REQ-DT-05).
\ir psql.inc
SELECT plan(20);

CREATE ROLE tap_alice LOGIN IN ROLE dtmv_user;
CREATE ROLE tap_bob LOGIN IN ROLE dtmv_user;
CREATE ROLE tap_gw LOGIN IN ROLE dtmv_gateway;
CREATE ROLE tap_admin LOGIN IN ROLE dtmv_admin;
SET ROLE tap_admin;
SELECT dtmv.create_subject('alice', 'tap_alice') AS alice \gset
SELECT dtmv.create_subject('bob', 'tap_bob') \gset
SELECT dtmv.create_subject('gw', 'tap_gw', 'system') \gset
SET ROLE tap_alice;
SELECT dtmv.create_twin('door', 'Alice''s door') AS door \gset
RESET ROLE;

SET ROLE tap_bob;
SELECT is(dtmv.whoami(), 'bob', 'a login acts as the subject mapped to it');
SELECT throws_ok($$SELECT dtmv.act_as('alice')$$, '42501', NULL, 'an ordinary login cannot act_as');
SELECT throws_ok($$SELECT dtmv._set_acting_subject(1)$$, '42501', NULL,
				 'the internal setter is not executable by users');
SELECT throws_ok($$SET dtmv.acting_subject = 'alice'$$, '42602', NULL,
				 'there is no dtmv setting to set: the prefix is reserved');
SELECT throws_ok($$SELECT set_config('dtmv.subject', 'alice', false)$$, '42602', NULL,
				 'nor through set_config()');
SELECT throws_ok($$SELECT dtmv.create_subject('bob2', 'tap_alice')$$, '42501', NULL,
				 'a user cannot map a login to a subject');
SELECT throws_ok($$INSERT INTO dtmv.grants (subject_id, twin, granted) VALUES (1, NULL, 63)$$, '42501', NULL,
				 'a user cannot write grants directly');
SELECT throws_ok($$UPDATE dtmv.twin_registry SET acl = '{0,1,2,3,4,5}'$$, '42501', NULL,
				 'a user cannot rewrite acls');
SELECT throws_ok($$CREATE FUNCTION dtmv.current_subject() RETURNS bigint LANGUAGE sql AS 'SELECT 1'$$, '42501', NULL,
				 'a user cannot create or replace functions in schema dtmv');
SELECT throws_ok(format($$SELECT dtmv.grant(%L, 'bob', 'admin')$$, :'door'), '42501', NULL,
				 'a user cannot grant itself rights on a twin it does not administer');
SELECT throws_ok($$SELECT dtmv._acl_readers('{0,1,2,3,4,5}')$$, '42501', NULL,
				 'a user cannot ask who may read a twin (internal functions are not theirs)');
SELECT throws_ok(format($$SELECT dtmv._space_right(1, 2, ARRAY[%s]::bigint[])$$, :alice), '42501', NULL,
				 'a user cannot compute another subject''s rights');
SELECT is_empty($$SELECT p.oid::regprocedure FROM pg_proc p
				   WHERE p.pronamespace = 'dtmv'::regnamespace AND p.proname LIKE '\_%'
					 AND has_function_privilege(p.oid, 'EXECUTE')
					 AND p.proname NOT IN ('_effective_rights', '_holds', '_rights_mask', '_outer_has_role', '_serves', '_own_subjects', '_is_identifier',
										   '_frame_convert', '_footprint_in_site')$$,
				'no other internal function is executable by a user');
SELECT throws_ok(format($$SELECT dtmv._lock_twin(%L)$$, :'door'), '42501', NULL,
				 'a user cannot take the sync queue''s twin locks');
RESET ROLE;

-- Even with EXECUTE on the setter, the C code checks dtmv_gateway itself.
GRANT EXECUTE ON FUNCTION dtmv._set_acting_subject(bigint) TO tap_bob;
SET ROLE tap_bob;
SELECT throws_ok(format('SELECT dtmv._set_acting_subject(%s)', :alice), '42501', NULL,
				 'the setter refuses a non-gateway even when EXECUTE was granted by mistake');
RESET ROLE;

-- A SECURITY DEFINER function of bob's, called by alice, acts as alice:
-- the subject follows the outer role, not the function owner.
CREATE SCHEMA tap_bob_schema AUTHORIZATION tap_bob;
SET ROLE tap_bob;
CREATE FUNCTION tap_bob_schema.who() RETURNS text LANGUAGE sql SECURITY DEFINER AS 'SELECT dtmv.whoami()';
GRANT USAGE ON SCHEMA tap_bob_schema TO tap_alice;
SET ROLE tap_alice;
SELECT is(tap_bob_schema.who(), 'alice', 'a SECURITY DEFINER function does not change the acting subject');
RESET ROLE;

-- A gateway may act for a user who delegated to it, and then has exactly
-- that user's rights (within what the delegation allows: sql/agents.sql).
SET ROLE tap_alice;
SELECT dtmv.delegate('gw', 'discover,read,interact,sync,control,admin');
SET ROLE tap_gw;
SELECT is(dtmv.whoami(), 'gw', 'the gateway acts as itself by default');
SELECT is(dtmv.has_right(:'door', 'discover'), false, 'the gateway itself has no right on alice''s door');
SELECT dtmv.act_as('alice');
SELECT is(dtmv.whoami(), 'alice', 'after act_as the gateway acts as alice');
SELECT is(dtmv.has_right(:'door', 'admin'), true, 'and holds alice''s rights');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
