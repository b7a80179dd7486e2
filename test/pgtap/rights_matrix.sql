-- Each right, granted and revoked, seen on plain SELECTs and in functions (REQ-DT-05).
\ir psql.inc
SELECT plan(42);

CREATE ROLE tap_owner LOGIN IN ROLE dtmv_user;
CREATE ROLE tap_user LOGIN IN ROLE dtmv_user;
CREATE ROLE tap_admin LOGIN IN ROLE dtmv_admin;
SET ROLE tap_admin;
SELECT dtmv.create_subject('owner', 'tap_owner') \gset
SELECT dtmv.create_subject('user', 'tap_user') \gset
SELECT dtmv.create_subject('other') \gset
SET ROLE tap_owner;
SELECT dtmv.create_twin('door', 'Door', physical_binding => 'SN-1') AS twin \gset
RESET ROLE;
SET ROLE tap_user;
SELECT dtmv.create_world('user world') AS world \gset
RESET ROLE;

-- For one right: grant it, check, revoke it, check, forget both.
--   :right     the right
--   :implied   what granting it gives
--   :stmt      a statement that needs exactly this right
\set right discover
\set implied discover
\set stmt 'SELECT dtmv.twin_info(''' :twin ''')'
\ir rights_matrix.inc
\set right read
\set implied discover,read
\set stmt 'SELECT dtmv.use_twin(' :world ', ''' :twin ''')'
\ir rights_matrix.inc
\set right interact
\set implied discover,read,interact
\set stmt 'SELECT dtmv.interact(''' :twin ''', ''view_camera'')'
\ir rights_matrix.inc
\set right sync
\set implied discover,read,sync
\set stmt 'SELECT dtmv.request_sync(''' :twin ''')'
\ir rights_matrix.inc
\set right control
\set implied discover,read,control
\set stmt 'SELECT dtmv.update_twin(''' :twin ''', name => ''Door'')'
\ir rights_matrix.inc
\set right admin
\set implied discover,read,interact,sync,control,admin
\set stmt 'SELECT dtmv.grant(''' :twin ''', ''other'', ''discover'')'
\ir rights_matrix.inc

SELECT * FROM finish();
ROLLBACK;
