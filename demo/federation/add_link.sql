-- At a calling system (:me): link to system :target, through a
-- postgres_fdw server and a user mapping for dtmv_link (the role dtmv's
-- links connect as), logging in there as :me_link with the password it
-- asks for. Users then delegate to the subject :target to let this system
-- act for them there (docs/federation.md, "Connecting two systems").
-- (Played by systems.sql, which sets me, target, target_kind, target_no
-- and target_port.)
SELECT NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'dblink') AS first_link \gset
\if :first_link
CREATE EXTENSION postgres_fdw;
CREATE SCHEMA dblink;
CREATE EXTENSION dblink SCHEMA dblink;
GRANT USAGE ON SCHEMA dblink TO dtmv_link;
\endif
SELECT :'target' || '_srv' AS srv, :'me' || '_link' AS login \gset
CREATE SERVER :"srv" FOREIGN DATA WRAPPER postgres_fdw
	OPTIONS (host :'host', port :'target_port', dbname 'postgres', connect_timeout '5');
CREATE USER MAPPING FOR dtmv_link SERVER :"srv" OPTIONS (user :'login', password :'link_pw');
GRANT USAGE ON FOREIGN SERVER :"srv" TO dtmv_link;
SELECT dtmv.create_subject(:'target', NULL, 'system') IS NOT NULL AS subject_made \gset
SELECT dtmv.register_system(:'target', :'target_kind', :target_no, fdw_server => :'srv', link => :'target') IS NOT NULL
	AS registered \gset
