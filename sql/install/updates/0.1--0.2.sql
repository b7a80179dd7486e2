-- Update 0.1 -> 0.2: what changes in the run-once relations and types, and
-- what must go before the replayed files (sql/install/replay/*.sql, appended
-- to this by make) create the 0.2 functions, views and policies.

-- What runs here runs as the superuser who updates, with the script's
-- search_path (dtmv, and the schema of PostGIS, often public, which the
-- database owner may write): nothing below may resolve a name there
-- (docs/rights.md, "No path to superuser"). The replayed files set their own.
SET LOCAL search_path = pg_catalog, dtmv, pg_temp;

-- The functions 0.2 no longer has, in one list: the check below and the
-- drops read it. Their C stays in the library, which databases still at 0.1
-- call. An object outside dtmv that depends on one of them (a view, or a
-- SQL-standard function body, BEGIN ATOMIC, calling it) would make a DROP
-- fail with a bare "cannot drop": the update says which, and what to do,
-- before anything changes.
DO $$
DECLARE
	dropped pg_catalog.regprocedure[] := ARRAY[
		-- test-only: the tests declare them in a schema of their own
		-- (test/sql/test_helpers.sql)
		'dtmv._acting_subject()',
		'dtmv._rights_for(dtmv.twin_id, bigint[])',
		'dtmv._twin_readers(dtmv.twin_id)',
		'dtmv._event_channels(dtmv.twin_id, bigint)',
		'dtmv._notifier_active()',
		-- the sync queue's recovery and periodic queueing moved into C,
		-- which calls these steps directly: no SQL calls them any more
		'dtmv._recover_if_dead(bigint)',
		'dtmv._queue_sync(dtmv.twin_id, bigint, integer)',
		'dtmv._try_lock_twin(dtmv.twin_id)',
		-- the rights' names are in C alone (dtmv._rights_text)
		'dtmv._right_names()',
		-- complete_sync gains replace (reported state is merged unless it is
		-- true): a new signature, so the old one goes
		'dtmv.complete_sync(bigint, boolean, jsonb)',
		-- create_twin gains gateway (the one a physical binding goes through)
		'dtmv.create_twin(text, text, jsonb, text, text, interval, integer)',
		-- spatial_map gains frame (RFC 7946 GeoJSON by default); the frames
		-- are converted through each site's CRS (dtmv.site_crs)
		'dtmv.spatial_map(bigint)',
		'dtmv._site_proj(bigint)',
		-- events_since returns the event's id as event_id too (as dtmv.events
		-- names it), after the columns it had: a new result type
		'dtmv.events_since(bigint, integer)',
		-- register_system gains link (the subject that stands for the
		-- system here, federation)
		'dtmv.register_system(text, text, integer, name, text, text)',
		-- place_order and missing_items gain system (a shop's or a home's
		-- system reached through a link, federation)
		'dtmv.place_order(bigint, jsonb, text, jsonb)',
		'dtmv.missing_items(bigint, bigint, integer)'
	]::pg_catalog.regprocedure[];
	dependents text;
	f pg_catalog.regprocedure;
BEGIN
	SELECT pg_catalog.string_agg(DISTINCT o.type || ' ' || o.identity, ', ')
	  INTO dependents
	  FROM pg_catalog.pg_depend d,
		   LATERAL pg_catalog.pg_identify_object(d.classid, d.objid, d.objsubid) o
	 WHERE d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
	   AND d.deptype = 'n'
	   AND d.refobjid = ANY (dropped);
	IF dependents IS NOT NULL THEN
		RAISE EXCEPTION 'objects outside dtmv depend on functions that the update to 0.2 replaces: %', dependents
			USING ERRCODE = 'dependent_objects_still_exist',
				  HINT = 'Drop them, run ALTER EXTENSION dtmv UPDATE, and create them again: '
						 'calls of dtmv.complete_sync(request, ok, reported), dtmv.create_twin(...), dtmv.spatial_map(space), dtmv.events_since(...) and dtmv.register_system(...) stay valid in 0.2.';
	END IF;
	FOREACH f IN ARRAY dropped LOOP
		EXECUTE pg_catalog.format('DROP FUNCTION %s',
								  (pg_catalog.pg_identify_object('pg_catalog.pg_proc'::pg_catalog.regclass, f, 0)).identity);
	END LOOP;
END
$$;

-- twin_id's comparison operators move from dtmv to pg_catalog
-- (once/10_identity.sql), keeping their oids: the operator classes, and so
-- every index and constraint on a twin_id column, and every view or rule
-- that uses them, stay as they are. Code written for 0.1 that names them
-- dtmv.= keeps working: the replayed replay/10_identity.sql makes operators
-- of those names. A uuid now converts to a twin_id implicitly, and
-- twin_id's input takes every form uuid's does.
ALTER OPERATOR dtmv.= (dtmv.twin_id, dtmv.twin_id) SET SCHEMA pg_catalog;
ALTER OPERATOR dtmv.<> (dtmv.twin_id, dtmv.twin_id) SET SCHEMA pg_catalog;
ALTER OPERATOR dtmv.< (dtmv.twin_id, dtmv.twin_id) SET SCHEMA pg_catalog;
ALTER OPERATOR dtmv.<= (dtmv.twin_id, dtmv.twin_id) SET SCHEMA pg_catalog;
ALTER OPERATOR dtmv.> (dtmv.twin_id, dtmv.twin_id) SET SCHEMA pg_catalog;
ALTER OPERATOR dtmv.>= (dtmv.twin_id, dtmv.twin_id) SET SCHEMA pg_catalog;
CREATE OR REPLACE FUNCTION dtmv.twin_id_smaller(dtmv.twin_id, dtmv.twin_id) RETURNS dtmv.twin_id
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT CASE WHEN $1 OPERATOR(pg_catalog.<=) $2 THEN $1 ELSE $2 END $$;
CREATE OR REPLACE FUNCTION dtmv.twin_id_larger(dtmv.twin_id, dtmv.twin_id) RETURNS dtmv.twin_id
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT CASE WHEN $1 OPERATOR(pg_catalog.>=) $2 THEN $1 ELSE $2 END $$;
-- (a view or default of a client's that casts a uuid to twin_id depends on
-- the cast's function, not on the cast, which is made again the same but
-- implicit: it goes through; tried with a view under 0.1)
DROP CAST (uuid AS dtmv.twin_id);
CREATE CAST (uuid AS dtmv.twin_id) WITH FUNCTION dtmv.twin_id(uuid) AS IMPLICIT;
COMMENT ON FUNCTION dtmv.twin_id_in(cstring) IS 'twin_id input: every form uuid input takes (8-4-4-4-12 or no hyphens, either case, braces), of a uuid with the twin_id layout';

-- Device bindings are proven (docs/rights.md, "Gateways"): a twin names the
-- gateway that serves its device, and the binding routes nothing until that
-- gateway or dtmv_admin confirms it. Bindings made under 0.1 name no gateway:
-- they stay pending until dtmv_admin confirms each with
-- dtmv.confirm_binding(serial, twin, gateway).
ALTER TABLE dtmv.twin_states
	ADD COLUMN gateway bigint,
	ADD COLUMN binding_confirmed_at timestamptz;
ALTER TABLE dtmv.twin_states ADD FOREIGN KEY (gateway) REFERENCES dtmv.gateways ON DELETE SET NULL;
DROP INDEX dtmv.twin_states_binding;
CREATE UNIQUE INDEX twin_states_binding ON dtmv.twin_states (gateway, physical_binding)
	WHERE binding_confirmed_at IS NOT NULL;
COMMENT ON COLUMN dtmv.twin_states.gateway IS
	'the gateway that serves (or, until confirmed, is to serve) the physical object';
COMMENT ON COLUMN dtmv.twin_states.binding_confirmed_at IS
	'when the gateway or dtmv_admin confirmed the binding; NULL while it is pending';
-- a gateway takes the open commands of the twins it serves
CREATE INDEX commands_open_twin ON dtmv.commands (twin, command_id) WHERE status IN ('queued', 'delivered');

-- CHECK constraints that compared a column with a literal of another type
-- (double precision with -180, numeric with 0) were bound, when 0.1 was
-- installed, to the best operator on the install's search_path for that
-- pair of types: one that the database owner had put in public, if any,
-- rather than pg_catalog's, and a constraint runs as whoever writes the
-- row (a privileged function: the superuser). 0.2 quotes the literals so
-- that they take the column's type (once/90_spatial.sql); these are made
-- again that way, bound to pg_catalog's operators whatever 0.1 found.
ALTER TABLE dtmv.spaces DROP CONSTRAINT spaces_check1,
	ADD CONSTRAINT spaces_check1
		CHECK (kind <> 'site' OR (anchor_lon BETWEEN '-180' AND '180' AND anchor_lat BETWEEN '-85' AND '85'
								  AND anchor_alt IS NOT NULL));
ALTER TABLE dtmv.units DROP CONSTRAINT units_factor_check,
	ADD CONSTRAINT units_factor_check CHECK (factor > '0');
ALTER TABLE dtmv.bom_lines DROP CONSTRAINT bom_lines_quantity_check,
	ADD CONSTRAINT bom_lines_quantity_check CHECK (quantity > '0' AND quantity < 'Infinity');
ALTER TABLE dtmv.order_items DROP CONSTRAINT order_items_quantity_check,
	ADD CONSTRAINT order_items_quantity_check CHECK (quantity > '0' AND quantity < 'Infinity');

-- A fair queue (docs/sync.md, "Semantics"): each gateway claims from its own
-- queue, its twins in the order they started waiting; priority decides
-- among the requests for one twin. Release 0.1's queue (the most urgent
-- request of every twin first) goes.
ALTER TABLE dtmv.sync_requests ADD COLUMN gateway bigint;
ALTER TABLE dtmv.sync_requests ADD FOREIGN KEY (gateway) REFERENCES dtmv.gateways ON DELETE SET NULL;
DROP INDEX dtmv.sync_requests_ready;
CREATE INDEX sync_requests_queue ON dtmv.sync_requests (gateway, request_id) WHERE ready;
COMMENT ON COLUMN dtmv.sync_requests.ready IS
	'the oldest pending request of a twin on which nothing runs: the twin''s place in its gateway''s queue';
COMMENT ON COLUMN dtmv.sync_requests.gateway IS
	'of a ready request: the gateway that serves its twin, whose queue it is in (NULL: none serves it yet)';

-- Who may read a twin is found from the system-wide grants and the grants on
-- the spaces it is in, not from every space's grants (once/50_rights.sql).
CREATE INDEX grants_system_wide ON dtmv.grants (subject_id) WHERE twin IS NULL AND space_id IS NULL;
-- A subject may refuse grants on a twin or a space (once/50_rights.sql).
ALTER TABLE dtmv.grants ADD COLUMN refused boolean NOT NULL DEFAULT false;
ALTER TABLE dtmv.grants ADD CONSTRAINT grants_refused_grants_nothing CHECK (NOT refused OR (granted = 0 AND (twin IS NOT NULL OR space_id IS NOT NULL)));

-- The provider sees a design as it was ordered, and only while the order is
-- active (order_details). Orders placed under 0.1 kept no copy: an active
-- one gets the design as it is at the update, so that it can still be
-- built; a finished one none.
ALTER TABLE dtmv.order_items ADD COLUMN design_as_ordered jsonb;
COMMENT ON COLUMN dtmv.order_items.design_as_ordered IS
	'the design twin''s name, kind, properties and model as they were when the order was placed: what the provider builds';
UPDATE dtmv.order_items i
   SET design_as_ordered = pg_catalog.jsonb_build_object('name', t.name, 'kind', t.kind, 'properties', t.properties,
														 'model_uri', t.model_uri)
  FROM dtmv.twin_registry t, dtmv.orders o
 WHERE t.id = i.design AND o.order_id = i.order_id
   AND o.status IN ('placed', 'confirmed', 'in_production', 'shipped');

-- An order placed through another system may be for a design twin of a
-- third system (federation, docs/federation.md "Orders through a shop's
-- system"): one of design, remote_design, item.
ALTER TABLE dtmv.order_items ADD COLUMN remote_design dtmv.twin_id;
COMMENT ON COLUMN dtmv.order_items.remote_design IS
	'a design twin of another system (federation: an order placed through a metaverse system): what the provider builds is design_as_ordered, as the customer''s system sent it';
ALTER TABLE dtmv.order_items DROP CONSTRAINT order_items_check,
	ADD CONSTRAINT order_items_check CHECK (pg_catalog.num_nonnulls(design, remote_design, item) = 1);

-- Actions (once/85_events.sql): dtmv_admin's definitions stand beside the
-- built-in rows, which never change, so that a dump (of the rows that are
-- not built in) restores into the rows CREATE EXTENSION makes. Under 0.1,
-- define_action turned a built-in row into the definition; the replayed
-- 85_events.sql makes the built-in rows that this took away again, beside
-- the definitions, which win. Clients read the view dtmv.kind_actions (one
-- row per action offered) that replaces the table of that name.
-- A command keeps the patch its action had when it was queued: the open
-- ones of 0.1 get the one they would have had at their acknowledgement.
ALTER TABLE dtmv.commands ADD COLUMN desired_patch jsonb;
COMMENT ON COLUMN dtmv.commands.desired_patch IS
	'the action''s desired-state patch when the command was queued: merged into desired then, into reported when acknowledged';
UPDATE dtmv.commands c SET desired_patch = a.desired_patch
  FROM dtmv.twin_registry t, dtmv.kind_actions a
 WHERE t.id = c.twin AND a.kind = t.kind AND a.action = c.action
   AND c.status IN ('queued', 'delivered');
DROP POLICY kind_actions_directory ON dtmv.kind_actions;
REVOKE SELECT ON dtmv.kind_actions FROM dtmv_user;
ALTER TABLE dtmv.kind_actions RENAME TO kind_action_definitions;
ALTER TABLE dtmv.kind_action_definitions RENAME CONSTRAINT kind_actions_action_check TO kind_action_definitions_action_check;
-- (withdrawn filled by an UPDATE, not by the default of ADD COLUMN, which
-- would keep a "missing value" in the catalog that a fresh install has not)
ALTER TABLE dtmv.kind_action_definitions DROP CONSTRAINT kind_actions_pkey, ADD COLUMN withdrawn boolean;
UPDATE dtmv.kind_action_definitions SET withdrawn = false;
ALTER TABLE dtmv.kind_action_definitions
	ALTER COLUMN withdrawn SET DEFAULT false,
	ALTER COLUMN withdrawn SET NOT NULL,
	ADD PRIMARY KEY (kind, action, builtin),
	ADD CONSTRAINT kind_action_definitions_withdrawn_check CHECK (NOT withdrawn OR (NOT builtin AND desired_patch IS NULL));
-- (its comments: sql/install/replay/85_events.sql)
