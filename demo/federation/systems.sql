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
-- psql's settings here hold for the scenario files too (one session plays
-- them all); a SET would not: each \connect opens a new session.
\set ON_ERROR_STOP 1
\set QUIET 1
\pset footer off

-- What the scenarios check, at every system: 'ok: <what>', or an error.
-- demo.wait_until(query, what, seconds): the same once the query (one
-- boolean) says true, asked again every 20 ms, within seconds (10).
\set make_expect 'CREATE SCHEMA demo; CREATE FUNCTION demo.expect(ok boolean, what text) RETURNS text LANGUAGE plpgsql AS $f$ BEGIN IF ok IS NOT TRUE THEN RAISE EXCEPTION ''not as expected: %'', what; END IF; RETURN ''ok: '' || what; END $f$; CREATE FUNCTION demo.wait_until(q text, what text, seconds float8 DEFAULT 10) RETURNS text LANGUAGE plpgsql AS $f$ DECLARE ok boolean; deadline timestamptz := clock_timestamp() + seconds * interval ''1 s''; BEGIN LOOP EXECUTE q INTO ok; EXIT WHEN ok OR clock_timestamp() > deadline; PERFORM pg_sleep(0.02); END LOOP; RETURN demo.expect(ok, what); END $f$; GRANT USAGE ON SCHEMA demo TO PUBLIC;'

\c postgres - :host :home_port
:make_expect
SELECT dtmv.local_system('twin') AS home_no \gset
\c postgres - :host :factory_port
:make_expect
SELECT dtmv.local_system('twin') AS factory_no \gset
\c postgres - :host :shop_port
:make_expect
-- The shop's system: its number, chosen by its operator, and its order
-- desk (the subject "orders"), which operates it and its services.
\set shop_no 880077
CREATE ROLE shop_orders LOGIN IN ROLE dtmv_user;
SELECT dtmv.create_subject('orders', 'shop_orders', 'system') IS NOT NULL AS made \gset
SELECT dtmv.register_system('shop', 'third_party', :shop_no, operator => 'orders') IS NOT NULL AS made \gset
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
-- systems' links, the shop accepts mv1's (orders), and home accepts the
-- shop's (it delivers there).
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

-- Who is who. At home: alice (her login home_alice) and the gateway of her
-- home; the users of other systems she shares with, made known ahead (by
-- home's operator) so that she can grant them rights.
\c postgres - :host :home_port
CREATE ROLE home_alice LOGIN IN ROLE dtmv_user;
CREATE ROLE home_gw LOGIN IN ROLE dtmv_gateway;
SELECT dtmv.create_subject('alice', 'home_alice') IS NOT NULL AS made \gset
SELECT dtmv.create_subject('home gateway', 'home_gw', 'system') IS NOT NULL AS made \gset
SELECT dtmv.register_gateway('home gateway', 'alice') IS NOT NULL AS made \gset
SELECT count(dtmv.create_remote_user(u, s)) AS made
  FROM (VALUES ('alice', 'mv1'), ('bob', 'mv1'), ('orders', 'shop')) v(u, s) \gset
-- At the factory: fiona runs its twins, max maintains its robots on site,
-- its gateway; kim of mv1 and lee of mv2 work with its robots.
\c postgres - :host :factory_port
CREATE ROLE factory_fiona LOGIN IN ROLE dtmv_user;
CREATE ROLE factory_max LOGIN IN ROLE dtmv_user;
CREATE ROLE factory_gw LOGIN IN ROLE dtmv_gateway;
SELECT dtmv.create_subject('fiona', 'factory_fiona') IS NOT NULL AS made \gset
SELECT dtmv.create_subject('max', 'factory_max') IS NOT NULL AS made \gset
SELECT dtmv.create_subject('factory gateway', 'factory_gw', 'system') IS NOT NULL AS made \gset
SELECT dtmv.register_gateway('factory gateway', 'fiona') IS NOT NULL AS made \gset
SELECT count(dtmv.create_remote_user(u, s)) AS made
  FROM (VALUES ('alice', 'mv1'), ('kim', 'mv1'), ('lee', 'mv2')) v(u, s) \gset
-- At mv1: alice, bob and kim; at mv2: lee.
\c postgres - :host :mv_port
CREATE ROLE mv1_alice LOGIN IN ROLE dtmv_user;
CREATE ROLE mv1_bob LOGIN IN ROLE dtmv_user;
CREATE ROLE mv1_kim LOGIN IN ROLE dtmv_user;
SELECT count(dtmv.create_subject(u, ('mv1_' || u)::regrole)) AS made FROM unnest('{alice,bob,kim}'::text[]) u \gset
\c mv2 - :host :mv_port
CREATE ROLE mv2_lee LOGIN IN ROLE dtmv_user;
SELECT dtmv.create_subject('lee', 'mv2_lee') IS NOT NULL AS made \gset
\echo 'systems: home, factory, mv1, mv2 and shop linked'
