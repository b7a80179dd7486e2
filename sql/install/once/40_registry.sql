-- Registry relations (REQ-DT-02..04, REQ-MV-01): systems, twins, their state,
-- worlds and the twins each world uses. Clients read them through RLS
-- (replay/70_policies.sql); they write only through the functions of
-- replay/60_registry.sql.

CREATE TABLE dtmv.systems (
	system_no integer PRIMARY KEY CHECK (system_no BETWEEN 0 AND 1073741823),
	name text NOT NULL UNIQUE CHECK (name <> ''),
	kind text NOT NULL CHECK (kind IN ('twin', 'metaverse', 'third_party')),
	is_local boolean NOT NULL DEFAULT false,
	fdw_server name,
	operator_subject bigint REFERENCES dtmv.subjects ON DELETE SET NULL,
	description text,
	registered_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE UNIQUE INDEX systems_one_local_per_kind ON dtmv.systems (kind) WHERE is_local;
COMMENT ON TABLE dtmv.systems IS
	'digital twin, metaverse and 3rd-party systems: this database''s own (is_local) and remote ones (REQ-DT-02, REQ-SI-01)';
COMMENT ON COLUMN dtmv.systems.system_no IS 'the 30-bit number that twin_ids of a twin system carry';
COMMENT ON COLUMN dtmv.systems.fdw_server IS 'postgres_fdw server that reaches a remote system (federation)';

-- The base table. Clients read it through the view dtmv.twins, which leaves
-- out the access-control column acl.
CREATE TABLE dtmv.twin_registry (
	id dtmv.twin_id PRIMARY KEY,
	system_no integer NOT NULL REFERENCES dtmv.systems,
	kind text NOT NULL CHECK (dtmv._is_identifier(kind)),
	name text NOT NULL CHECK (name <> ''),
	properties jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(properties) = 'object'),
	model_uri text,
	sync_period interval CHECK (sync_period > '0'),
	sync_priority integer NOT NULL DEFAULT 0,
	created_by bigint REFERENCES dtmv.subjects ON DELETE SET NULL,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	acl bigint[] NOT NULL,
	CHECK (system_no = dtmv.twin_system(id))
);
CREATE INDEX twin_registry_kind ON dtmv.twin_registry (kind, id);
CREATE INDEX twin_registry_system ON dtmv.twin_registry (system_no, id);
CREATE INDEX twin_registry_name_trgm ON dtmv.twin_registry USING gin (name gin_trgm_ops);
CREATE INDEX twin_registry_properties ON dtmv.twin_registry USING gin (properties jsonb_path_ops);
CREATE INDEX twin_registry_acl ON dtmv.twin_registry USING gin (acl);
COMMENT ON TABLE dtmv.twin_registry IS
	'the twins this twin system maintains (REQ-DT-01..04); read it through dtmv.twins';
COMMENT ON COLUMN dtmv.twin_registry.sync_priority IS
	'default sync priority characteristic for requesters without their own (REQ-DT-08); higher wins';
COMMENT ON COLUMN dtmv.twin_registry.acl IS
	'access-control keys derived from dtmv.grants, indexed for RLS; see docs/rights.md';

CREATE TABLE dtmv.twin_states (
	twin dtmv.twin_id PRIMARY KEY REFERENCES dtmv.twin_registry ON DELETE CASCADE,
	reported jsonb NOT NULL DEFAULT '{}',
	desired jsonb NOT NULL DEFAULT '{}',
	reported_at timestamptz,
	desired_at timestamptz,
	physical_binding text,
	gateway bigint,		-- a dtmv.gateways key (99_keys.sql)
	binding_confirmed_at timestamptz
) WITH (fillfactor = 80);
-- A gateway routes a device to one twin; until the gateway (or dtmv_admin)
-- confirms a binding it is pending, routes nothing, and may name a serial
-- that other pending bindings name too, so that no one can squat a serial
-- or learn whether it is bound.
CREATE UNIQUE INDEX twin_states_binding ON dtmv.twin_states (gateway, physical_binding)
	WHERE binding_confirmed_at IS NOT NULL;
COMMENT ON TABLE dtmv.twin_states IS
	'what the physical object last reported and what the virtual side desires, and the binding to the physical object (RLS: read right)';
COMMENT ON COLUMN dtmv.twin_states.physical_binding IS
	'serial number or device address of the physical object the twin mirrors';
COMMENT ON COLUMN dtmv.twin_states.gateway IS
	'the gateway that serves (or, until confirmed, is to serve) the physical object';
COMMENT ON COLUMN dtmv.twin_states.binding_confirmed_at IS
	'when the gateway or dtmv_admin confirmed the binding; NULL while it is pending';

CREATE TABLE dtmv.worlds (
	world_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name text NOT NULL UNIQUE CHECK (name <> ''),
	system_no integer NOT NULL REFERENCES dtmv.systems,
	owner_subject bigint REFERENCES dtmv.subjects ON DELETE SET NULL,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE dtmv.worlds IS 'virtual worlds run by a metaverse system: a home, a factory, a shop';

CREATE TABLE dtmv.world_twins (
	world_id bigint NOT NULL REFERENCES dtmv.worlds ON DELETE CASCADE,
	twin dtmv.twin_id NOT NULL REFERENCES dtmv.twin_registry ON DELETE CASCADE,
	added_by bigint REFERENCES dtmv.subjects ON DELETE SET NULL,
	added_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (world_id, twin)
);
CREATE INDEX world_twins_twin ON dtmv.world_twins (twin);
COMMENT ON TABLE dtmv.world_twins IS 'which twins each world uses; one twin may be used in several worlds (scenario 7.1.3)';

CREATE TABLE dtmv.sync_priorities (
	twin dtmv.twin_id NOT NULL REFERENCES dtmv.twin_registry ON DELETE CASCADE,
	subject_id bigint NOT NULL REFERENCES dtmv.subjects ON DELETE CASCADE,
	priority integer NOT NULL,
	PRIMARY KEY (twin, subject_id)
);
COMMENT ON TABLE dtmv.sync_priorities IS
	'the sync priority characteristic of a twin per subject (REQ-DT-08); higher wins';

-- Clients read these relations only through RLS (policies: replay/70_policies.sql).
ALTER TABLE dtmv.twin_registry ENABLE ROW LEVEL SECURITY;
ALTER TABLE dtmv.twin_states ENABLE ROW LEVEL SECURITY;
ALTER TABLE dtmv.world_twins ENABLE ROW LEVEL SECURITY;
ALTER TABLE dtmv.sync_priorities ENABLE ROW LEVEL SECURITY;
-- The directories of systems and worlds are public to dtmv users (their
-- policies), but RLS is on, so that a later policy narrows them safely.
ALTER TABLE dtmv.systems ENABLE ROW LEVEL SECURITY;
ALTER TABLE dtmv.worlds ENABLE ROW LEVEL SECURITY;
-- pg_dump keeps the data of these (the extension recreates the relations).
SELECT pg_catalog.pg_extension_config_dump('dtmv.systems', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.twin_registry', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.twin_states', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.worlds', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.worlds_world_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.world_twins', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.sync_priorities', '');
