-- The systems of the federated scenarios (docs/federation.md), each a
-- PostgreSQL database with dtmv, run by its own operator:
--   home     the twin system of alice's home (cluster :home_port)
--   factory  the twin system of a factory (cluster :factory_port)
--   mv1      a metaverse system (cluster :mv_port, database postgres)
--   mv2      a second metaverse system (the same cluster, database mv2)
--   shop     a 3rd-party system (cluster :shop_port)
-- Played by a superuser of every cluster, with psql variables: host (the
-- socket directory or host name shared by the clusters), the four ports and
-- link_pw, the password of every link login (their pg_hba.conf lines ask
-- for it: the caller's side refuses a link that logs in without one).
-- demo/07_federation.sh (make demo) and t/010_federation_scenarios.pl
-- (make test) start the clusters and play this, then the scenarios.
\set ON_ERROR_STOP 1
\set QUIET 1
SET client_min_messages = warning;

-- What the scenarios check, at every system: 'ok: <what>', or an error.
\set make_expect 'CREATE SCHEMA demo; CREATE FUNCTION demo.expect(ok boolean, what text) RETURNS text LANGUAGE plpgsql AS $f$ BEGIN IF ok IS NOT TRUE THEN RAISE EXCEPTION ''not as expected: %'', what; END IF; RETURN ''ok: '' || what; END $f$; GRANT USAGE ON SCHEMA demo TO PUBLIC;'

\c postgres - :host :home_port
:make_expect
SELECT dtmv.local_system('twin') AS home_no \gset
\c postgres - :host :factory_port
:make_expect
SELECT dtmv.local_system('twin') AS factory_no \gset
\c postgres - :host :shop_port
:make_expect
SELECT dtmv.local_system('twin') AS shop_no \gset
\c postgres - :host :mv_port
:make_expect
SELECT dtmv.local_system('metaverse') AS mv1_no \gset
CREATE DATABASE mv2;
\c mv2 - :host :mv_port
SET client_min_messages = warning;
CREATE EXTENSION dtmv CASCADE;
:make_expect
SET client_min_messages = warning;
SELECT dtmv.local_system('metaverse') AS mv2_no \gset

-- Which system accepts whose link: the twin systems accept both metaverse
-- systems' links, the shop accepts mv1's, and home accepts the shop's (it
-- delivers there).
\c postgres - :host :home_port
\set caller mv1 \set caller_kind metaverse \set caller_no :mv1_no
\ir accept_link.sql
\set caller mv2 \set caller_kind metaverse \set caller_no :mv2_no
\ir accept_link.sql
\set caller shop \set caller_kind third_party \set caller_no :shop_no
\ir accept_link.sql
\c postgres - :host :factory_port
\set caller mv1 \set caller_kind metaverse \set caller_no :mv1_no
\ir accept_link.sql
\set caller mv2 \set caller_kind metaverse \set caller_no :mv2_no
\ir accept_link.sql
\c postgres - :host :shop_port
\set caller mv1 \set caller_kind metaverse \set caller_no :mv1_no
\ir accept_link.sql

-- ... and each caller registers the systems it links to.
\c postgres - :host :mv_port
\set me mv1
\set target home \set target_kind twin \set target_no :home_no \set target_port :home_port
\ir add_link.sql
\set target factory \set target_kind twin \set target_no :factory_no \set target_port :factory_port
\ir add_link.sql
\set target shop \set target_kind third_party \set target_no :shop_no \set target_port :shop_port
\ir add_link.sql
\c mv2 - :host :mv_port
\set me mv2
\set target factory \set target_kind twin \set target_no :factory_no \set target_port :factory_port
\ir add_link.sql
\c postgres - :host :shop_port
\set me shop
\set target home \set target_kind twin \set target_no :home_no \set target_port :home_port
\ir add_link.sql
\echo 'systems: home, factory, mv1, mv2 and shop linked'
