-- generated from sql/install/*.sql by make; edit those files
\echo Use "CREATE EXTENSION dtmv" to load this file. \quit
-- Twin identity: the dtmv.twin_id base type (REQ-DT-01, REQ-DT-02, REQ-SI-02b).
-- Layout and rationale: src/twin_id.h, docs/identity.md.

CREATE TYPE dtmv.twin_id;

CREATE FUNCTION dtmv.twin_id_in(cstring) RETURNS dtmv.twin_id
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION dtmv.twin_id_out(dtmv.twin_id) RETURNS cstring
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION dtmv.twin_id_recv(internal) RETURNS dtmv.twin_id
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION dtmv.twin_id_send(dtmv.twin_id) RETURNS bytea
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE dtmv.twin_id (
	INPUT = dtmv.twin_id_in,
	OUTPUT = dtmv.twin_id_out,
	RECEIVE = dtmv.twin_id_recv,
	SEND = dtmv.twin_id_send,
	INTERNALLENGTH = 16,
	ALIGNMENT = char,
	STORAGE = plain
);
COMMENT ON TYPE dtmv.twin_id IS
	'identity of a digital twin: 16 bytes, time-ordered, names the twin system that maintains it (REQ-DT-01)';

CREATE FUNCTION dtmv.twin_id_eq(dtmv.twin_id, dtmv.twin_id) RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION dtmv.twin_id_ne(dtmv.twin_id, dtmv.twin_id) RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION dtmv.twin_id_lt(dtmv.twin_id, dtmv.twin_id) RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION dtmv.twin_id_le(dtmv.twin_id, dtmv.twin_id) RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION dtmv.twin_id_gt(dtmv.twin_id, dtmv.twin_id) RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION dtmv.twin_id_ge(dtmv.twin_id, dtmv.twin_id) RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION dtmv.twin_id_cmp(dtmv.twin_id, dtmv.twin_id) RETURNS integer
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION dtmv.twin_id_sortsupport(internal) RETURNS void
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_sortsupport' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION dtmv.twin_id_hash(dtmv.twin_id) RETURNS integer
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION dtmv.twin_id_hash_extended(dtmv.twin_id, bigint) RETURNS bigint
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_hash_extended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

COMMENT ON FUNCTION dtmv.twin_id_in(cstring) IS 'twin_id input: canonical 8-4-4-4-12 hexadecimal form';
COMMENT ON FUNCTION dtmv.twin_id_out(dtmv.twin_id) IS 'twin_id output: canonical 8-4-4-4-12 lower-case hexadecimal form';
COMMENT ON FUNCTION dtmv.twin_id_recv(internal) IS 'twin_id binary input: 16 bytes';
COMMENT ON FUNCTION dtmv.twin_id_send(dtmv.twin_id) IS 'twin_id binary output: 16 bytes';
COMMENT ON FUNCTION dtmv.twin_id_eq(dtmv.twin_id, dtmv.twin_id) IS 'implementation of = for twin_id';
COMMENT ON FUNCTION dtmv.twin_id_ne(dtmv.twin_id, dtmv.twin_id) IS 'implementation of <> for twin_id';
COMMENT ON FUNCTION dtmv.twin_id_lt(dtmv.twin_id, dtmv.twin_id) IS 'implementation of < for twin_id';
COMMENT ON FUNCTION dtmv.twin_id_le(dtmv.twin_id, dtmv.twin_id) IS 'implementation of <= for twin_id';
COMMENT ON FUNCTION dtmv.twin_id_gt(dtmv.twin_id, dtmv.twin_id) IS 'implementation of > for twin_id';
COMMENT ON FUNCTION dtmv.twin_id_ge(dtmv.twin_id, dtmv.twin_id) IS 'implementation of >= for twin_id';
COMMENT ON FUNCTION dtmv.twin_id_cmp(dtmv.twin_id, dtmv.twin_id) IS 'btree comparison for twin_id';
COMMENT ON FUNCTION dtmv.twin_id_sortsupport(internal) IS 'btree sort support for twin_id';
COMMENT ON FUNCTION dtmv.twin_id_hash(dtmv.twin_id) IS 'hash for twin_id';
COMMENT ON FUNCTION dtmv.twin_id_hash_extended(dtmv.twin_id, bigint) IS 'seeded 64-bit hash for twin_id';

CREATE OPERATOR = (
	LEFTARG = dtmv.twin_id, RIGHTARG = dtmv.twin_id, PROCEDURE = dtmv.twin_id_eq,
	COMMUTATOR = =, NEGATOR = <>, RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES
);
CREATE OPERATOR <> (
	LEFTARG = dtmv.twin_id, RIGHTARG = dtmv.twin_id, PROCEDURE = dtmv.twin_id_ne,
	COMMUTATOR = <>, NEGATOR = =, RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR < (
	LEFTARG = dtmv.twin_id, RIGHTARG = dtmv.twin_id, PROCEDURE = dtmv.twin_id_lt,
	COMMUTATOR = >, NEGATOR = >=, RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR <= (
	LEFTARG = dtmv.twin_id, RIGHTARG = dtmv.twin_id, PROCEDURE = dtmv.twin_id_le,
	COMMUTATOR = >=, NEGATOR = >, RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR > (
	LEFTARG = dtmv.twin_id, RIGHTARG = dtmv.twin_id, PROCEDURE = dtmv.twin_id_gt,
	COMMUTATOR = <, NEGATOR = <=, RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
CREATE OPERATOR >= (
	LEFTARG = dtmv.twin_id, RIGHTARG = dtmv.twin_id, PROCEDURE = dtmv.twin_id_ge,
	COMMUTATOR = <=, NEGATOR = <, RESTRICT = scalargesel, JOIN = scalargejoinsel
);

CREATE OPERATOR CLASS dtmv.twin_id_ops DEFAULT FOR TYPE dtmv.twin_id USING btree AS
	OPERATOR 1 <,
	OPERATOR 2 <=,
	OPERATOR 3 =,
	OPERATOR 4 >=,
	OPERATOR 5 >,
	FUNCTION 1 dtmv.twin_id_cmp(dtmv.twin_id, dtmv.twin_id),
	FUNCTION 2 dtmv.twin_id_sortsupport(internal);

CREATE OPERATOR CLASS dtmv.twin_id_hash_ops DEFAULT FOR TYPE dtmv.twin_id USING hash AS
	OPERATOR 1 =,
	FUNCTION 1 dtmv.twin_id_hash(dtmv.twin_id),
	FUNCTION 2 dtmv.twin_id_hash_extended(dtmv.twin_id, bigint);

-- Same 16 bytes as uuid, so twin_id -> uuid needs no function; uuid ->
-- twin_id checks that the uuid has the twin_id layout.
CREATE FUNCTION dtmv.twin_id(uuid) RETURNS dtmv.twin_id
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_from_uuid' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION dtmv.twin_id(uuid) IS
	'cast a uuid to twin_id; fails with 22023 unless it is a version 8 uuid with the twin_id layout';
CREATE CAST (dtmv.twin_id AS uuid) WITHOUT FUNCTION AS ASSIGNMENT;
CREATE CAST (uuid AS dtmv.twin_id) WITH FUNCTION dtmv.twin_id(uuid);
CREATE CAST (dtmv.twin_id AS text) WITH INOUT AS ASSIGNMENT;
CREATE CAST (text AS dtmv.twin_id) WITH INOUT;

CREATE FUNCTION dtmv.twin_id_generate(system_no integer) RETURNS dtmv.twin_id
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_generate' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION dtmv.twin_id_generate(integer) IS
	'a new time-ordered twin_id for the twin system with this number (0 .. 2^30-1); needs no coordination';

CREATE FUNCTION dtmv.twin_system(twin dtmv.twin_id) RETURNS integer
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_system' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION dtmv.twin_system(dtmv.twin_id) IS
	'number of the twin system that maintains the twin (REQ-DT-02, REQ-SI-02b); see dtmv.systems';

CREATE FUNCTION dtmv.twin_created_at(twin dtmv.twin_id) RETURNS timestamptz
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_created_at' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION dtmv.twin_created_at(dtmv.twin_id) IS
	'when the twin_id was generated, to the millisecond';

CREATE FUNCTION dtmv.twin_id_smaller(dtmv.twin_id, dtmv.twin_id) RETURNS dtmv.twin_id
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT CASE WHEN $1 OPERATOR(dtmv.<=) $2 THEN $1 ELSE $2 END $$;
COMMENT ON FUNCTION dtmv.twin_id_smaller(dtmv.twin_id, dtmv.twin_id) IS 'the smaller of two twin_ids (for min)';
CREATE FUNCTION dtmv.twin_id_larger(dtmv.twin_id, dtmv.twin_id) RETURNS dtmv.twin_id
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT CASE WHEN $1 OPERATOR(dtmv.>=) $2 THEN $1 ELSE $2 END $$;
COMMENT ON FUNCTION dtmv.twin_id_larger(dtmv.twin_id, dtmv.twin_id) IS 'the larger of two twin_ids (for max)';
CREATE AGGREGATE dtmv.min(dtmv.twin_id) (
	SFUNC = dtmv.twin_id_smaller, STYPE = dtmv.twin_id, SORTOP = <, COMBINEFUNC = dtmv.twin_id_smaller, PARALLEL = SAFE
);
COMMENT ON AGGREGATE dtmv.min(dtmv.twin_id) IS 'the oldest twin_id';
CREATE AGGREGATE dtmv.max(dtmv.twin_id) (
	SFUNC = dtmv.twin_id_larger, STYPE = dtmv.twin_id, SORTOP = >, COMBINEFUNC = dtmv.twin_id_larger, PARALLEL = SAFE
);
COMMENT ON AGGREGATE dtmv.max(dtmv.twin_id) IS 'the newest twin_id';

-- Kinds of twin, of event and of action are lower-case identifiers
-- (^[a-z][a-z0-9_]*$): checked in C, since every event append checks one.
CREATE FUNCTION dtmv._is_identifier(name text) RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_is_identifier' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION dtmv._is_identifier(text) IS
	'internal: whether a name is a lower-case identifier, as kinds and actions are (^[a-z][a-z0-9_]*$)';
-- Roles (DESIGN.md "Who is acting"). Roles are cluster-wide and outlive the
-- extension, so they are created only where missing.
--   dtmv_user     logins of metaverse users and applications
--   dtmv_gateway  twin-system and metaverse-system services; may dtmv.act_as()
--   dtmv_admin    manages subjects, groups, systems and system-wide rights
DO $$
DECLARE
	r text;
BEGIN
	FOREACH r IN ARRAY ARRAY['dtmv_user', 'dtmv_gateway', 'dtmv_admin'] LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
			EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
		END IF;
	END LOOP;
END
$$;
GRANT dtmv_user TO dtmv_gateway;
GRANT dtmv_user TO dtmv_admin;

GRANT USAGE ON SCHEMA dtmv TO dtmv_user;
-- Subjects: who holds rights (REQ-DT-05). A user, a system (metaverse, twin
-- or 3rd-party service) or a group of subjects.

CREATE TABLE dtmv.subjects (
	subject_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name text NOT NULL UNIQUE CHECK (name <> ''),
	kind text NOT NULL DEFAULT 'user' CHECK (kind IN ('user', 'system', 'group')),
	login regrole UNIQUE,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	CHECK (kind <> 'group' OR login IS NULL)
);
COMMENT ON TABLE dtmv.subjects IS
	'who holds rights: users, systems and groups; a user or system may be mapped to a login role (REQ-DT-05)';

CREATE TABLE dtmv.group_members (
	group_id bigint NOT NULL REFERENCES dtmv.subjects ON DELETE CASCADE,
	member_id bigint NOT NULL REFERENCES dtmv.subjects ON DELETE CASCADE,
	PRIMARY KEY (group_id, member_id),
	CHECK (group_id <> member_id)
);
CREATE INDEX ON dtmv.group_members (member_id);
COMMENT ON TABLE dtmv.group_members IS
	'membership of subjects in groups; a member holds every right of its groups, and is denied what they are denied';

-- The acting subject, in C (src/actor.c): no GUC is involved.
CREATE FUNCTION dtmv._set_acting_subject(subject bigint) RETURNS void
	AS 'MODULE_PATHNAME', 'dtmv_set_acting_subject' LANGUAGE C STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._set_acting_subject(bigint) IS
	'internal: act as a subject until the end of the transaction; checks dtmv_gateway itself';
CREATE FUNCTION dtmv._acting_subject() RETURNS bigint
	AS 'MODULE_PATHNAME', 'dtmv_acting_subject' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._acting_subject() IS
	'internal: the subject set by dtmv.act_as() in this transaction, or NULL';
CREATE FUNCTION dtmv._outer_role() RETURNS oid
	AS 'MODULE_PATHNAME', 'dtmv_outer_role' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._outer_role() IS
	'internal: the role in effect outside any SECURITY DEFINER function';
CREATE FUNCTION dtmv._outer_has_role(role text) RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_outer_has_role' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._outer_has_role(text) IS
	'internal: whether the role outside any SECURITY DEFINER function has the privileges of a role';

-- Who is acting, and the groups it belongs to, in C (src/rights.c): they
-- run inside every rights check. They read dtmv.subjects and
-- dtmv.group_members directly, as the extension owner would.
CREATE FUNCTION dtmv.current_subject() RETURNS bigint
	AS 'MODULE_PATHNAME', 'dtmv_current_subject' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv.current_subject() IS
	'the subject this statement acts as: the one set by dtmv.act_as(), else the one mapped to the current role, else NULL';

CREATE FUNCTION dtmv._subjects_of(subject bigint) RETURNS bigint[]
	AS 'MODULE_PATHNAME', 'dtmv_subjects_of' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION dtmv._subjects_of(bigint) IS 'internal: a subject and all groups it belongs to, transitively; empty for NULL';

CREATE FUNCTION dtmv.current_subjects() RETURNS bigint[]
	AS 'MODULE_PATHNAME', 'dtmv_current_subjects' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv.current_subjects() IS
	'the acting subject and all groups it belongs to, transitively';

CREATE FUNCTION dtmv.whoami() RETURNS text
LANGUAGE sql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
	SELECT name FROM dtmv.subjects WHERE subject_id = dtmv.current_subject()
$$;
COMMENT ON FUNCTION dtmv.whoami() IS 'name of the subject this statement acts as, or NULL';

CREATE FUNCTION dtmv._subject_id(subject text) RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	id bigint;
BEGIN
	SELECT s.subject_id INTO id FROM dtmv.subjects s WHERE s.name = subject;
	IF id IS NULL THEN
		RAISE EXCEPTION 'subject "%" does not exist', subject
			USING ERRCODE = 'undefined_object',
				  HINT = 'Create it with dtmv.create_subject().';
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION dtmv._subject_id(text) IS 'internal: id of a named subject; 42704 if there is none';

-- 42501 unless the role outside any SECURITY DEFINER function has the
-- privileges of the given dtmv role; the one check behind every role gate.
CREATE FUNCTION dtmv._require_role(role text, what text) RETURNS void
	AS 'MODULE_PATHNAME', 'dtmv_require_role' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._require_role(text, text) IS
	'internal: 42501 unless the calling role has the privileges of the given role';

-- How long the pruning functions keep what they prune: 22023 unless an
-- interval of zero or more.
CREATE FUNCTION dtmv._require_keep(keep interval) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	IF keep IS NULL OR keep < interval '0' THEN
		RAISE EXCEPTION 'keep must be an interval of zero or more, not %', coalesce(keep::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
END
$$;
COMMENT ON FUNCTION dtmv._require_keep(interval) IS 'internal: 22023 unless a retention interval is zero or more';

CREATE FUNCTION dtmv._require_admin_role(what text) RETURNS void
	AS 'MODULE_PATHNAME', 'dtmv_require_admin_role' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._require_admin_role(text) IS
	'internal: 42501 unless the calling role has the privileges of dtmv_admin';

CREATE FUNCTION dtmv._require_subject() RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	me bigint := dtmv.current_subject();
BEGIN
	IF me IS NULL THEN
		RAISE EXCEPTION 'role "%" is not mapped to a dtmv subject', dtmv._outer_role()::regrole
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'An administrator maps a login with dtmv.create_subject(name, login); a gateway may use dtmv.act_as().';
	END IF;
	RETURN me;
END
$$;
COMMENT ON FUNCTION dtmv._require_subject() IS
	'internal: the acting subject; 42501 if the statement acts as nobody';

CREATE FUNCTION dtmv.create_subject(name text, login regrole DEFAULT NULL, kind text DEFAULT 'user')
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	id bigint;
BEGIN
	PERFORM dtmv._require_admin_role('create subjects');
	INSERT INTO dtmv.subjects (name, login, kind)
		VALUES (create_subject.name, create_subject.login, create_subject.kind)
		RETURNING subject_id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION dtmv.create_subject(text, regrole, text) IS
	'create a subject (kind user, system or group), mapped to a login role if given; dtmv_admin only (REQ-DT-05)';

CREATE FUNCTION dtmv.create_group(name text) RETURNS bigint
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$ SELECT dtmv.create_subject(name, NULL, 'group') $$;
COMMENT ON FUNCTION dtmv.create_group(text) IS 'create a group subject; dtmv_admin only';

CREATE FUNCTION dtmv.add_member(group_name text, member text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	gid bigint;
BEGIN
	PERFORM dtmv._require_admin_role('change group membership');
	gid := dtmv._subject_id(group_name);
	IF (SELECT kind FROM dtmv.subjects WHERE subject_id = gid) <> 'group' THEN
		RAISE EXCEPTION 'subject "%" is not a group', group_name
			USING ERRCODE = 'wrong_object_type';
	END IF;
	INSERT INTO dtmv.group_members (group_id, member_id)
		VALUES (gid, dtmv._subject_id(member)) ON CONFLICT DO NOTHING;
END
$$;
COMMENT ON FUNCTION dtmv.add_member(text, text) IS 'make a subject a member of a group; dtmv_admin only';

CREATE FUNCTION dtmv.remove_member(group_name text, member text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._require_admin_role('change group membership');
	DELETE FROM dtmv.group_members
	 WHERE group_id = dtmv._subject_id(group_name) AND member_id = dtmv._subject_id(member);
END
$$;
COMMENT ON FUNCTION dtmv.remove_member(text, text) IS 'remove a subject from a group; dtmv_admin only';

CREATE FUNCTION dtmv.act_as(subject text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	id bigint;
	k text;
BEGIN
	-- The check that matters is inside _set_acting_subject, in C, on the
	-- outer role; this early check only gives the clearer message first.
	IF NOT dtmv._outer_has_role('dtmv_gateway') THEN
		RAISE EXCEPTION 'permission denied to act as subject "%"', subject
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Only roles with the privileges of dtmv_gateway may call dtmv.act_as().';
	END IF;
	id := dtmv._subject_id(subject);
	SELECT s.kind INTO k FROM dtmv.subjects s WHERE s.subject_id = id;
	IF k = 'group' THEN
		RAISE EXCEPTION 'cannot act as group "%"', subject
			USING ERRCODE = 'wrong_object_type',
				  DETAIL = 'Only users and systems act; groups only hold rights.';
	END IF;
	PERFORM dtmv._set_acting_subject(id);
END
$$;
COMMENT ON FUNCTION dtmv.act_as(text) IS
	'act for a subject until the transaction ends; dtmv_gateway only, 42501 for anyone else (REQ-DT-05)';
-- Registry relations (REQ-DT-02..04, REQ-MV-01): systems, twins, their state,
-- worlds and the twins each world uses. Clients read them through RLS
-- (50_rights.sql); they write only through the functions in 60_registry.sql.

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

CREATE VIEW dtmv.twins WITH (security_invoker = true, security_barrier = true) AS
	SELECT id, system_no, kind, name, properties, model_uri, sync_period, sync_priority,
		   created_by, created_at, updated_at
	  FROM dtmv.twin_registry;
COMMENT ON VIEW dtmv.twins IS
	'the twin registry as the acting subject may discover it (RLS: discover right) (REQ-DT-03, REQ-DT-04)';

CREATE TABLE dtmv.twin_states (
	twin dtmv.twin_id PRIMARY KEY REFERENCES dtmv.twin_registry ON DELETE CASCADE,
	reported jsonb NOT NULL DEFAULT '{}',
	desired jsonb NOT NULL DEFAULT '{}',
	reported_at timestamptz,
	desired_at timestamptz,
	physical_binding text
) WITH (fillfactor = 80);
CREATE UNIQUE INDEX twin_states_binding ON dtmv.twin_states (physical_binding)
	WHERE physical_binding IS NOT NULL;
COMMENT ON TABLE dtmv.twin_states IS
	'what the physical object last reported and what the virtual side desires, and the binding to the physical object (RLS: read right)';
COMMENT ON COLUMN dtmv.twin_states.physical_binding IS
	'serial number or device address of the physical object the twin mirrors';

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

-- The twin lock (src/sync_lock.c): every decision on a twin and every
-- writer of a twin's rows takes it first, then the rows (one lock order, so
-- no mix of dtmv calls on one twin can deadlock).
CREATE FUNCTION dtmv._lock_twin(twin dtmv.twin_id) RETURNS void
	AS 'MODULE_PATHNAME', 'dtmv_lock_twin' LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._lock_twin(dtmv.twin_id) IS 'internal: wait for the twin''s decision lock, held to the end of the transaction';
CREATE FUNCTION dtmv._try_lock_twin(twin dtmv.twin_id) RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_try_lock_twin' LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._try_lock_twin(dtmv.twin_id) IS 'internal: take the twin''s decision lock if free';
-- Access rights (REQ-DT-05). See docs/rights.md for the model.
--
-- Rights and their bit numbers r (mask bit 1 << r):
--   0 discover  1 read  2 interact  3 sync  4 control  5 admin
-- Granting a right grants what it implies (admin: everything; interact,
-- sync, control: read; read: discover). Revoking a right also revokes what
-- implies it. A revoke is a standing denial and wins over any grant, to the
-- subject or to any group it belongs to, on the twin or system-wide.
--
-- For row-level security each twin carries acl, a GIN-indexed bigint[] of
-- keys derived from dtmv.grants (trigger below):
--   r                  every twin: "holders of a system-wide grant of r"
--   subject * 16 + r     that subject was granted r on this twin
--   subject * 16 + 8 + r that subject was denied r on this twin
--   -(space * 16 + r)    the twin is in that space (or a space below it)
-- The acting subject holds r on a twin iff the twin's acl overlaps
-- dtmv.acl_probe(r) and does not overlap dtmv.acl_veto(r). The same test,
-- in C (src/rights.c), serves RLS and every function, so they cannot
-- disagree.

CREATE TABLE dtmv.grants (
	subject_id bigint NOT NULL REFERENCES dtmv.subjects ON DELETE CASCADE,
	twin dtmv.twin_id REFERENCES dtmv.twin_registry ON DELETE CASCADE,
	space_id bigint,	-- a space's rights cover the twins in it; foreign key in 90_spatial.sql
	granted integer NOT NULL DEFAULT 0 CHECK (granted BETWEEN 0 AND 63),
	revoked integer NOT NULL DEFAULT 0 CHECK (revoked BETWEEN 0 AND 63),
	CHECK (granted & revoked = 0),
	CHECK (twin IS NULL OR space_id IS NULL),
	UNIQUE NULLS NOT DISTINCT (subject_id, twin, space_id)
);
CREATE INDEX grants_twin ON dtmv.grants (twin);
COMMENT ON TABLE dtmv.grants IS
	'rights granted and revoked per subject, on one twin, on a space (covering the twins in it) or system-wide (both NULL); bit masks, see docs/rights.md (REQ-DT-05)';

CREATE FUNCTION dtmv._right_names() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT '{discover,read,interact,sync,control,admin}'::text[] $$;
COMMENT ON FUNCTION dtmv._right_names() IS 'internal: the rights, in bit order';

CREATE FUNCTION dtmv._rights_mask(rights text) RETURNS integer
	AS 'MODULE_PATHNAME', 'dtmv_rights_mask' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION dtmv._rights_mask(text) IS 'internal: a comma list of rights as a bit mask; 22023 for an unknown right';

CREATE FUNCTION dtmv._rights_text(mask integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
	SELECT coalesce(string_agg(n, ',' ORDER BY i), '')
	  FROM unnest(dtmv._right_names()) WITH ORDINALITY AS r(n, i)
	 WHERE mask & (1 << (i::integer - 1)) <> 0
$$;
COMMENT ON FUNCTION dtmv._rights_text(integer) IS 'internal: a bit mask of rights as a comma list';

-- What granting the rights in mask grants: the rights and all they imply.
CREATE FUNCTION dtmv._rights_implied(mask integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT CASE WHEN mask & 32 <> 0 THEN 63
				WHEN mask & (4 | 8 | 16) <> 0 THEN mask | 3
				WHEN mask & 2 <> 0 THEN mask | 1
				ELSE mask END
$$;
COMMENT ON FUNCTION dtmv._rights_implied(integer) IS 'internal: the rights and every right they imply';

-- What revoking the rights in mask revokes: the rights and all that imply them.
CREATE FUNCTION dtmv._rights_implying(mask integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT CASE WHEN mask & 1 <> 0 THEN 63
				WHEN mask & 2 <> 0 THEN mask | 62
				WHEN mask & (4 | 8 | 16) <> 0 THEN mask | 32
				ELSE mask END
$$;
COMMENT ON FUNCTION dtmv._rights_implying(integer) IS 'internal: the rights and every right that implies one of them';

-- The whole test, for a set of subject keys (a subject and its groups), for
-- all six rights at once: a twin's acl overlaps probe and not veto exactly
-- when the subjects hold right r on it. Besides the keys of the subjects and
-- the system-wide ones, probe has -(space * 16 + r) for each space where the
-- subjects hold r, veto for each space where they are denied it (a twin
-- placed in a space carries those keys of it and of the spaces above it:
-- _twin_acl). In C (src/rights.c), the one definition: RLS, functions and
-- wake-ups all use it.
CREATE FUNCTION dtmv._keys_for(subs bigint[]) RETURNS TABLE (r integer, probe bigint[], veto bigint[])
	AS 'MODULE_PATHNAME', 'dtmv_keys_for' LANGUAGE C STABLE PARALLEL SAFE ROWS 6;
COMMENT ON FUNCTION dtmv._keys_for(bigint[]) IS
	'internal: for each right number r, the acl keys under which these subjects hold it (probe) and those that deny it (veto)';

CREATE FUNCTION dtmv.acl_probe(r integer) RETURNS bigint[]
LANGUAGE sql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$ SELECT k.probe FROM dtmv._keys_for(dtmv.current_subjects()) k WHERE k.r = acl_probe.r $$;
COMMENT ON FUNCTION dtmv.acl_probe(integer) IS
	'acl keys under which the acting subject holds right number r (see docs/rights.md); empty if denied system-wide';

CREATE FUNCTION dtmv.acl_veto(r integer) RETURNS bigint[]
LANGUAGE sql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$ SELECT k.veto FROM dtmv._keys_for(dtmv.current_subjects()) k WHERE k.r = acl_veto.r $$;
COMMENT ON FUNCTION dtmv.acl_veto(integer) IS
	'acl keys that deny right number r to the acting subject (see docs/rights.md)';

-- The acl of one twin, from dtmv.grants.
CREATE FUNCTION dtmv._twin_acl(twin dtmv.twin_id) RETURNS bigint[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	-- twin_positions and spaces come with 90_spatial.sql; plpgsql resolves them when run.
	RETURN (SELECT array_agg(k ORDER BY k) FROM (
		SELECT r::bigint AS k FROM generate_series(0, 5) r
		UNION
		SELECT g.subject_id * 16 + CASE WHEN g.granted & (1 << r) <> 0 THEN r ELSE 8 + r END
		  FROM dtmv.grants g CROSS JOIN generate_series(0, 5) r
		 WHERE g.twin = _twin_acl.twin AND (g.granted | g.revoked) & (1 << r) <> 0
		UNION
		SELECT -(a.space_id * 16 + r)
		  FROM dtmv._space_ancestry((SELECT p.space FROM dtmv.twin_positions p WHERE p.twin = _twin_acl.twin)) a
		 CROSS JOIN generate_series(0, 5) r
	) keys);
END
$$;
COMMENT ON FUNCTION dtmv._twin_acl(dtmv.twin_id) IS 'internal: the acl keys of a twin, derived from dtmv.grants';

CREATE FUNCTION dtmv._grants_refresh_acl() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		UPDATE dtmv.twin_registry t SET acl = dtmv._twin_acl(t.id)
		 WHERE t.id IN (SELECT n.twin FROM new_rows n WHERE n.twin IS NOT NULL);
	END IF;
	IF TG_OP IN ('DELETE', 'UPDATE') THEN
		UPDATE dtmv.twin_registry t SET acl = dtmv._twin_acl(t.id)
		 WHERE t.id IN (SELECT o.twin FROM old_rows o WHERE o.twin IS NOT NULL);
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION dtmv._grants_refresh_acl() IS 'internal: keeps twin_registry.acl in step with dtmv.grants';
CREATE TRIGGER grants_acl_insert AFTER INSERT ON dtmv.grants
	REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dtmv._grants_refresh_acl();
CREATE TRIGGER grants_acl_update AFTER UPDATE ON dtmv.grants
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dtmv._grants_refresh_acl();
CREATE TRIGGER grants_acl_delete AFTER DELETE ON dtmv.grants
	REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION dtmv._grants_refresh_acl();

-- The rights that holders of these subject keys (a subject and its groups)
-- have on a twin, as a mask; 0 for a twin that does not exist, so that a
-- missing twin and a hidden one look alike. In C (src/rights.c).
CREATE FUNCTION dtmv._rights_for(twin dtmv.twin_id, subs bigint[]) RETURNS integer
	AS 'MODULE_PATHNAME', 'dtmv_rights_for' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION dtmv._rights_for(dtmv.twin_id, bigint[]) IS
	'internal: mask of the rights that a subject (given as itself and its groups) holds on a twin';

CREATE FUNCTION dtmv._effective_rights(twin dtmv.twin_id) RETURNS integer
	AS 'MODULE_PATHNAME', 'dtmv_effective_rights' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._effective_rights(dtmv.twin_id) IS 'internal: mask of the rights the acting subject holds on a twin';

CREATE FUNCTION dtmv.has_right(twin dtmv.twin_id, rights text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
	SELECT dtmv._effective_rights(twin) & dtmv._rights_mask(rights) = dtmv._rights_mask(rights)
$$;
COMMENT ON FUNCTION dtmv.has_right(dtmv.twin_id, text) IS
	'whether the acting subject holds every right in a comma list on a twin (REQ-DT-05)';

CREATE FUNCTION dtmv.my_rights(twin dtmv.twin_id) RETURNS text
LANGUAGE sql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$ SELECT dtmv._rights_text(dtmv._effective_rights(twin)) $$;
COMMENT ON FUNCTION dtmv.my_rights(dtmv.twin_id) IS 'the rights the acting subject holds on a twin, as a comma list';

-- 42501 naming the first missing right, unless the acting subject holds all.
CREATE FUNCTION dtmv._require_rights(twin dtmv.twin_id, rights text) RETURNS void
	AS 'MODULE_PATHNAME', 'dtmv_require_rights' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._require_rights(dtmv.twin_id, text) IS
	'internal: raise 42501 naming the missing right unless the acting subject holds all the rights';

-- A writer of a twin's rows takes the twin's lock first (one lock order,
-- docs/events.md): checked before (no lock is taken on a twin the caller
-- may not touch) and again once held (a revoke or a move that committed
-- while it waited counts).
CREATE FUNCTION dtmv._lock_twin_for(twin dtmv.twin_id, rights text) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._require_rights(twin, rights);
	PERFORM dtmv._lock_twin(twin);
	PERFORM dtmv._require_rights(twin, rights);
END
$$;
COMMENT ON FUNCTION dtmv._lock_twin_for(dtmv.twin_id, text) IS
	'internal: check the rights, take the twin''s lock, check them again';

-- One writer of dtmv.grants for all four calls below: mask_on is added to
-- one column and removed from the other.
CREATE FUNCTION dtmv._set_rights(subject bigint, twin dtmv.twin_id, mask_on integer, deny boolean,
								 space bigint DEFAULT NULL)
RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
	INSERT INTO dtmv.grants AS g (subject_id, twin, space_id, granted, revoked)
		VALUES (subject, twin, space,
				CASE WHEN deny THEN 0 ELSE mask_on END,
				CASE WHEN deny THEN mask_on ELSE 0 END)
	ON CONFLICT (subject_id, twin, space_id) DO UPDATE
		SET granted = CASE WHEN deny THEN g.granted & ~mask_on ELSE g.granted | mask_on END,
			revoked = CASE WHEN deny THEN g.revoked | mask_on ELSE g.revoked & ~mask_on END
$$;
COMMENT ON FUNCTION dtmv._set_rights(bigint, dtmv.twin_id, integer, boolean, bigint) IS
	'internal: record a grant (deny false) or a revoke (deny true) of a rights mask';

-- A grant or a revoke of a comma list of rights, for a named subject, at
-- one place (a twin, a space, or system-wide when both are NULL): a grant
-- adds what the rights imply, a revoke what implies them.
CREATE FUNCTION dtmv._change_rights(subject text, rights text, deny boolean,
									twin dtmv.twin_id DEFAULT NULL, space bigint DEFAULT NULL)
RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
	SELECT dtmv._set_rights(dtmv._subject_id(subject), twin,
							CASE WHEN deny THEN dtmv._rights_implying(dtmv._rights_mask(rights))
								 ELSE dtmv._rights_implied(dtmv._rights_mask(rights)) END,
							deny, space)
$$;
COMMENT ON FUNCTION dtmv._change_rights(text, text, boolean, dtmv.twin_id, bigint) IS
	'internal: record a grant or a revoke of a comma list of rights for a named subject at one place';

CREATE FUNCTION dtmv.grant(twin dtmv.twin_id, subject text, rights text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._lock_twin_for(twin, 'admin');	-- the twin's lock before its rows
	PERFORM dtmv._change_rights(subject, rights, false, twin);
END
$$;
COMMENT ON FUNCTION dtmv.grant(dtmv.twin_id, text, text) IS
	'grant rights (comma list) on a twin to a subject or group, lifting an earlier revoke of them; needs admin on the twin (REQ-DT-05)';

CREATE FUNCTION dtmv.revoke(twin dtmv.twin_id, subject text, rights text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._lock_twin_for(twin, 'admin');	-- the twin's lock before its rows
	PERFORM dtmv._change_rights(subject, rights, true, twin);
END
$$;
COMMENT ON FUNCTION dtmv.revoke(dtmv.twin_id, text, text) IS
	'revoke rights (comma list) on a twin from a subject or group: a denial that wins over any grant; needs admin on the twin (REQ-DT-05)';

CREATE FUNCTION dtmv.clear_rights(twin dtmv.twin_id, subject text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._lock_twin_for(twin, 'admin');	-- the twin's lock before its rows
	DELETE FROM dtmv.grants g WHERE g.twin = clear_rights.twin AND g.subject_id = dtmv._subject_id(subject);
END
$$;
COMMENT ON FUNCTION dtmv.clear_rights(dtmv.twin_id, text) IS
	'forget every grant and revoke of a subject on a twin; needs admin on the twin';

CREATE FUNCTION dtmv.grant_system(subject text, rights text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._require_admin_role('grant system-wide rights');
	PERFORM dtmv._change_rights(subject, rights, false);
END
$$;
COMMENT ON FUNCTION dtmv.grant_system(text, text) IS
	'grant rights on every twin of this system to a subject or group; dtmv_admin only (REQ-DT-05)';

CREATE FUNCTION dtmv.revoke_system(subject text, rights text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._require_admin_role('revoke system-wide rights');
	PERFORM dtmv._change_rights(subject, rights, true);
END
$$;
COMMENT ON FUNCTION dtmv.revoke_system(text, text) IS
	'deny rights on every twin of this system to a subject or group, winning over any grant; dtmv_admin only';
-- Registry functions (REQ-DT-02..04, REQ-MV-01, REQ-DT-08 characteristic).

-- This database's own system of a kind ('twin' or 'metaverse'), created on
-- first use with a random number (so that federated systems need not agree
-- on numbers beforehand). Created lazily rather than at CREATE EXTENSION so
-- that pg_dump restores the original number with the table's data.
CREATE FUNCTION dtmv.local_system(kind text DEFAULT 'twin') RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	no integer;
BEGIN
	IF kind NOT IN ('twin', 'metaverse') THEN
		RAISE EXCEPTION 'a local system is of kind twin or metaverse, not "%"', kind
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT s.system_no INTO no FROM dtmv.systems s WHERE s.is_local AND s.kind = local_system.kind;
	WHILE no IS NULL LOOP
		INSERT INTO dtmv.systems (system_no, name, kind, is_local, description)
		VALUES ((random() * 1073741823)::integer,
				current_database() || ' ' || local_system.kind || ' system',
				local_system.kind, true, 'this database''s own ' || local_system.kind || ' system')
		ON CONFLICT DO NOTHING
		RETURNING system_no INTO no;
		IF no IS NULL THEN	-- lost a race, or drew a taken number
			SELECT s.system_no INTO no FROM dtmv.systems s WHERE s.is_local AND s.kind = local_system.kind;
		END IF;
	END LOOP;
	RETURN no;
END
$$;
COMMENT ON FUNCTION dtmv.local_system(text) IS
	'number of this database''s own twin or metaverse system, created on first use (REQ-DT-02)';

CREATE FUNCTION dtmv.register_system(name text, kind text, system_no integer,
									 fdw_server name DEFAULT NULL, description text DEFAULT NULL,
									 operator text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._require_admin_role('register systems');
	INSERT INTO dtmv.systems (system_no, name, kind, fdw_server, description, operator_subject)
		VALUES (register_system.system_no, register_system.name, register_system.kind,
				register_system.fdw_server, register_system.description,
				CASE WHEN operator IS NOT NULL THEN dtmv._subject_id(operator) END);
	RETURN system_no;
END
$$;
COMMENT ON FUNCTION dtmv.register_system(text, text, integer, name, text, text) IS
	'register a remote twin, metaverse or 3rd-party system under its own number, with the subject that operates it; dtmv_admin only (REQ-SI-01, REQ-SI-02b, REQ-SI-04)';

-- Register a twin for an owner, who administers it: the one way twins are
-- made (create_twin for the acting subject; deliveries for the customer).
CREATE FUNCTION dtmv._new_twin(owner bigint, kind text, name text, properties jsonb DEFAULT '{}',
							   model_uri text DEFAULT NULL, physical_binding text DEFAULT NULL,
							   sync_period interval DEFAULT NULL, sync_priority integer DEFAULT 0)
RETURNS dtmv.twin_id
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	sys integer := dtmv.local_system('twin');
	id dtmv.twin_id := dtmv.twin_id_generate(sys);
BEGIN
	INSERT INTO dtmv.twin_registry (id, system_no, kind, name, properties, model_uri,
									sync_period, sync_priority, created_by, acl)
	VALUES (id, sys, _new_twin.kind, _new_twin.name, coalesce(_new_twin.properties, '{}'),
			_new_twin.model_uri, _new_twin.sync_period, coalesce(_new_twin.sync_priority, 0),
			owner, '{}');
	INSERT INTO dtmv.twin_states (twin, physical_binding) VALUES (id, _new_twin.physical_binding);
	PERFORM dtmv._set_rights(owner, id, 63, false);	-- the owner administers it
	RETURN id;
END
$$;
COMMENT ON FUNCTION dtmv._new_twin(bigint, text, text, jsonb, text, text, interval, integer) IS
	'internal: register a twin in the local twin system, administered by its owner';

CREATE FUNCTION dtmv.create_twin(kind text, name text, properties jsonb DEFAULT '{}',
								 model_uri text DEFAULT NULL, physical_binding text DEFAULT NULL,
								 sync_period interval DEFAULT NULL, sync_priority integer DEFAULT 0)
RETURNS dtmv.twin_id
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	RETURN (SELECT dtmv._new_twin(dtmv._require_subject(), kind, name, properties, model_uri, physical_binding,
							  sync_period, sync_priority));
END
$$;
COMMENT ON FUNCTION dtmv.create_twin(text, text, jsonb, text, text, interval, integer) IS
	'register a twin in the local twin system; the creator gets admin on it (REQ-DT-01, REQ-DT-02)';

CREATE FUNCTION dtmv.update_twin(twin dtmv.twin_id, name text DEFAULT NULL, properties jsonb DEFAULT NULL,
								 model_uri text DEFAULT NULL, sync_period interval DEFAULT NULL,
								 sync_priority integer DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._lock_twin_for(twin, 'control');	-- the twin's lock before its rows
	UPDATE dtmv.twin_registry t
	   SET name = coalesce(update_twin.name, t.name),
		   properties = coalesce(update_twin.properties, t.properties),
		   model_uri = coalesce(update_twin.model_uri, t.model_uri),
		   sync_period = coalesce(update_twin.sync_period, t.sync_period),
		   sync_priority = coalesce(update_twin.sync_priority, t.sync_priority),
		   updated_at = now()
	 WHERE t.id = update_twin.twin;
END
$$;
COMMENT ON FUNCTION dtmv.update_twin(dtmv.twin_id, text, jsonb, text, interval, integer) IS
	'change the given attributes of a twin (NULL keeps one); needs control on the twin';

CREATE FUNCTION dtmv.drop_twin(twin dtmv.twin_id) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._lock_twin_for(twin, 'admin');	-- the twin's lock before its rows
	-- Its commands go with it (ON DELETE CASCADE): one a gateway has taken
	-- in a transaction still open (next_commands) is not waited for (that
	-- gateway may be about to ask for this twin's lock to acknowledge it).
	BEGIN
		PERFORM 1 FROM dtmv.commands c WHERE c.twin = drop_twin.twin FOR UPDATE NOWAIT;
	EXCEPTION WHEN lock_not_available THEN
		RAISE EXCEPTION 'twin % has a command a gateway is handling', twin
			USING ERRCODE = 'lock_not_available', HINT = 'Try again once the gateway has acknowledged it.';
	END;
	DELETE FROM dtmv.twin_registry t WHERE t.id = drop_twin.twin;
	-- dtmv.events has no foreign key (see 85_events.sql); it exists once that file ran.
	DELETE FROM dtmv.event_inbox e WHERE e.twin = drop_twin.twin;
	DELETE FROM dtmv.events e WHERE e.twin = drop_twin.twin;
END
$$;
COMMENT ON FUNCTION dtmv.drop_twin(dtmv.twin_id) IS 'remove a twin with its state, rights, world memberships, requests and events; needs admin';

CREATE FUNCTION dtmv.twin_info(twin dtmv.twin_id) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	rights integer := dtmv._effective_rights(twin);
	info jsonb;
BEGIN
	PERFORM dtmv._require_rights(twin, 'discover');
	SELECT jsonb_build_object(
			   'id', t.id, 'system', t.system_no, 'system_name', s.name, 'kind', t.kind,
			   'name', t.name, 'properties', t.properties, 'model_uri', t.model_uri,
			   'sync_period', t.sync_period, 'sync_priority', t.sync_priority,
			   'created_at', t.created_at, 'updated_at', t.updated_at,
			   'rights', dtmv._rights_text(rights),
			   'worlds', coalesce((SELECT jsonb_agg(w.name ORDER BY w.name)
									 FROM dtmv.world_twins wt JOIN dtmv.worlds w USING (world_id)
									WHERE wt.twin = t.id), '[]'))
		   || CASE WHEN rights & 2 <> 0 THEN
				  jsonb_build_object('reported', st.reported, 'desired', st.desired,
									 'reported_at', st.reported_at, 'desired_at', st.desired_at,
									 'physical_binding', st.physical_binding)
			  ELSE '{}' END
	  INTO info
	  FROM dtmv.twin_registry t
	  JOIN dtmv.systems s USING (system_no)
	  LEFT JOIN dtmv.twin_states st ON st.twin = t.id
	 WHERE t.id = twin_info.twin;
	RETURN info;
END
$$;
COMMENT ON FUNCTION dtmv.twin_info(dtmv.twin_id) IS
	'what the acting subject may know of a twin: the registry entry with discover, its state and binding too with read (REQ-DT-04, REQ-MV-01)';

-- Runs as the extension owner and applies the discover test itself (the
-- same acl_probe/acl_veto test as the RLS policy): under RLS, PostgreSQL may
-- not use an index whose operator is not leakproof (jsonb @>, trigram ILIKE)
-- ahead of the policy, so a search by properties or name could not use its
-- index. Dynamic SQL, so that each search uses the index of the criteria
-- actually given.
CREATE FUNCTION dtmv.search_twins(kind text DEFAULT NULL, name text DEFAULT NULL,
								  properties jsonb DEFAULT NULL, system integer DEFAULT NULL,
								  max integer DEFAULT 100)
RETURNS SETOF dtmv.twins
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	probe bigint[];
	veto bigint[];
	q text := 'SELECT t.id, t.system_no, t.kind, t.name, t.properties, t.model_uri, t.sync_period,
					  t.sync_priority, t.created_by, t.created_at, t.updated_at
				 FROM dtmv.twin_registry t
				WHERE t.acl && $6 AND NOT t.acl && $7';
BEGIN
	IF kind IS NOT NULL THEN q := q || ' AND t.kind = $1'; END IF;
	IF name IS NOT NULL THEN
		q := q || ' AND t.name ILIKE ''%'' || regexp_replace($2, ''([\\%_])'', ''\\\1'', ''g'') || ''%''';
	END IF;
	IF properties IS NOT NULL THEN q := q || ' AND t.properties @> $3'; END IF;
	IF system IS NOT NULL THEN q := q || ' AND t.system_no = $4'; END IF;
	q := q || ' ORDER BY t.id LIMIT $5';
	SELECT x.probe, x.veto INTO probe, veto FROM dtmv._keys_for(dtmv.current_subjects()) x WHERE x.r = 0;
	RETURN QUERY EXECUTE q USING kind, name, properties, system, max, probe, veto;
END
$$;
COMMENT ON FUNCTION dtmv.search_twins(text, text, jsonb, integer, integer) IS
	'twins the acting subject may discover, by kind, name substring (case-insensitive), jsonb properties containment and system, oldest first (REQ-DT-03)';

CREATE FUNCTION dtmv.create_world(name text) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	id bigint;
BEGIN
	INSERT INTO dtmv.worlds (name, system_no, owner_subject)
		VALUES (create_world.name, dtmv.local_system('metaverse'), dtmv._require_subject())
		RETURNING world_id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION dtmv.create_world(text) IS
	'create a virtual world in the local metaverse system, owned by the acting subject';

CREATE FUNCTION dtmv._require_world_owner(world bigint) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM dtmv.worlds w WHERE w.world_id = world
					  AND w.owner_subject = dtmv.current_subject())
	   AND NOT dtmv._outer_has_role('dtmv_admin') THEN
		RAISE EXCEPTION 'permission denied: only the owner of world % may change which twins it uses', world
			USING ERRCODE = 'insufficient_privilege';
	END IF;
END
$$;
COMMENT ON FUNCTION dtmv._require_world_owner(bigint) IS 'internal: 42501 unless the acting subject owns the world';

CREATE FUNCTION dtmv.use_twin(world bigint, twin dtmv.twin_id) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._require_world_owner(world);
	PERFORM dtmv._lock_twin_for(twin, 'read');	-- the twin's lock before its rows
	INSERT INTO dtmv.world_twins (world_id, twin, added_by)
		VALUES (world, twin, dtmv.current_subject()) ON CONFLICT DO NOTHING;
END
$$;
COMMENT ON FUNCTION dtmv.use_twin(bigint, dtmv.twin_id) IS
	'use a twin in a world; needs ownership of the world and read on the twin (REQ-MV-02, scenario 7.1.3)';

CREATE FUNCTION dtmv.unuse_twin(world bigint, twin dtmv.twin_id) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._require_world_owner(world);
	-- the twin's lock before its rows (once it is known to be in the world)
	IF EXISTS (SELECT 1 FROM dtmv.world_twins wt WHERE wt.world_id = world AND wt.twin = unuse_twin.twin) THEN
		PERFORM dtmv._lock_twin(twin);
	END IF;
	DELETE FROM dtmv.world_twins wt WHERE wt.world_id = world AND wt.twin = unuse_twin.twin;
END
$$;
COMMENT ON FUNCTION dtmv.unuse_twin(bigint, dtmv.twin_id) IS 'stop using a twin in a world; needs ownership of the world';

CREATE FUNCTION dtmv.set_sync_priority(twin dtmv.twin_id, subject text, priority integer) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._lock_twin_for(twin, 'admin');	-- the twin's lock before its rows
	INSERT INTO dtmv.sync_priorities AS p (twin, subject_id, priority)
		VALUES (twin, dtmv._subject_id(subject), priority)
	ON CONFLICT ON CONSTRAINT sync_priorities_pkey DO UPDATE SET priority = excluded.priority;
END
$$;
COMMENT ON FUNCTION dtmv.set_sync_priority(dtmv.twin_id, text, integer) IS
	'the sync priority characteristic of a twin for a subject or group (REQ-DT-08); higher wins; needs admin on the twin';

CREATE FUNCTION dtmv.sync_priority(twin dtmv.twin_id) RETURNS integer
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	IF NOT dtmv.has_right(sync_priority.twin, 'discover') THEN
		RETURN NULL;	-- as for a twin that does not exist: its existence is not told
	END IF;
	RETURN coalesce((SELECT max(p.priority) FROM dtmv.sync_priorities p
					  WHERE p.twin = sync_priority.twin
						AND p.subject_id = ANY (dtmv.current_subjects())),
					(SELECT t.sync_priority FROM dtmv.twin_registry t WHERE t.id = sync_priority.twin));
END
$$;
COMMENT ON FUNCTION dtmv.sync_priority(dtmv.twin_id) IS
	'the acting subject''s sync priority on a twin: the highest set for it or its groups, else the twin''s default; NULL without discover on the twin (REQ-DT-08)';
-- Row-level security on the registry and rights relations (REQ-DT-05).
-- Clients only read relations, always through RLS; every write goes through
-- a function that checks rights itself. EXECUTE privileges for every file
-- come last, in 99_privileges.sql.

GRANT SELECT ON dtmv.subjects, dtmv.group_members, dtmv.systems, dtmv.twins, dtmv.twin_states,
	dtmv.worlds, dtmv.world_twins, dtmv.sync_priorities, dtmv.grants TO dtmv_user;
-- dtmv.twins runs as the invoker: it needs the base table's columns, all but acl.
GRANT SELECT (id, system_no, kind, name, properties, model_uri, sync_period, sync_priority,
			  created_by, created_at, updated_at) ON dtmv.twin_registry TO dtmv_user;

ALTER TABLE dtmv.twin_registry ENABLE ROW LEVEL SECURITY;
CREATE POLICY twins_discover ON dtmv.twin_registry FOR SELECT TO dtmv_user
	USING (acl && (SELECT dtmv.acl_probe(0)) AND NOT acl && (SELECT dtmv.acl_veto(0)));
COMMENT ON POLICY twins_discover ON dtmv.twin_registry IS 'a twin is visible to subjects with the discover right on it';

ALTER TABLE dtmv.twin_states ENABLE ROW LEVEL SECURITY;
-- A per-row check: state is read a twin at a time, and a subquery on
-- twin_registry here would need the acl column, which clients cannot read.
CREATE POLICY twin_states_read ON dtmv.twin_states FOR SELECT TO dtmv_user
	USING (dtmv._effective_rights(twin) & 2 <> 0);
COMMENT ON POLICY twin_states_read ON dtmv.twin_states IS 'a twin''s state is visible to subjects with the read right on it';

ALTER TABLE dtmv.world_twins ENABLE ROW LEVEL SECURITY;
CREATE POLICY world_twins_discover ON dtmv.world_twins FOR SELECT TO dtmv_user
	USING (EXISTS (SELECT 1 FROM dtmv.twins t WHERE t.id = twin));
COMMENT ON POLICY world_twins_discover ON dtmv.world_twins IS 'which world uses a twin is visible with discover on the twin';

ALTER TABLE dtmv.grants ENABLE ROW LEVEL SECURITY;
CREATE POLICY grants_own_or_admin ON dtmv.grants FOR SELECT TO dtmv_user
	USING (subject_id = ANY ((SELECT dtmv.current_subjects())::bigint[])
		   OR (twin IS NOT NULL AND dtmv._effective_rights(twin) & 32 <> 0)
		   OR (SELECT dtmv._outer_has_role('dtmv_admin')));
COMMENT ON POLICY grants_own_or_admin ON dtmv.grants IS
	'a subject sees its own (and its groups'') rights, the rights on twins it administers, dtmv_admin sees all';

ALTER TABLE dtmv.sync_priorities ENABLE ROW LEVEL SECURITY;
CREATE POLICY sync_priorities_own_or_admin ON dtmv.sync_priorities FOR SELECT TO dtmv_user
	USING (subject_id = ANY ((SELECT dtmv.current_subjects())::bigint[])
		   OR dtmv._effective_rights(twin) & 32 <> 0);
COMMENT ON POLICY sync_priorities_own_or_admin ON dtmv.sync_priorities IS
	'a subject sees its own priorities and those on twins it administers';

ALTER TABLE dtmv.subjects ENABLE ROW LEVEL SECURITY;
CREATE POLICY subjects_self_groups_systems ON dtmv.subjects FOR SELECT TO dtmv_user
	USING (subject_id = ANY ((SELECT dtmv.current_subjects())::bigint[]) OR kind = 'system'
		   OR (SELECT dtmv._outer_has_role('dtmv_admin')));
COMMENT ON POLICY subjects_self_groups_systems ON dtmv.subjects IS
	'a subject sees itself, its groups and the system subjects; dtmv_admin sees all; users do not see other users';

ALTER TABLE dtmv.group_members ENABLE ROW LEVEL SECURITY;
CREATE POLICY group_members_own ON dtmv.group_members FOR SELECT TO dtmv_user
	USING (member_id = ANY ((SELECT dtmv.current_subjects())::bigint[])
		   OR (SELECT dtmv._outer_has_role('dtmv_admin')));
COMMENT ON POLICY group_members_own ON dtmv.group_members IS
	'a subject sees its own memberships; dtmv_admin sees all';

-- The directories of systems and worlds are public to dtmv users: they are
-- what a metaverse system searches to find where twins live (REQ-DT-03,
-- REQ-SI-02b). RLS is still on, so that a later policy narrows them safely.
ALTER TABLE dtmv.systems ENABLE ROW LEVEL SECURITY;
CREATE POLICY systems_directory ON dtmv.systems FOR SELECT TO dtmv_user USING (true);
COMMENT ON POLICY systems_directory ON dtmv.systems IS 'the directory of systems is readable by every dtmv user';
ALTER TABLE dtmv.worlds ENABLE ROW LEVEL SECURITY;
CREATE POLICY worlds_directory ON dtmv.worlds FOR SELECT TO dtmv_user USING (true);
COMMENT ON POLICY worlds_directory ON dtmv.worlds IS 'the directory of worlds is readable by every dtmv user';

-- pg_dump keeps the data of these tables (the extension recreates them).
SELECT pg_catalog.pg_extension_config_dump('dtmv.subjects', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.subjects_subject_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.group_members', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.systems', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.twin_registry', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.twin_states', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.worlds', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.worlds_world_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.world_twins', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.sync_priorities', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.grants', '');
-- The priority sync queue (REQ-DT-07, REQ-DT-08, scenario 7.1.3).
-- See docs/sync.md for the semantics. Requesting, claiming, completing and
-- requeueing are in C (src/sync_queue.c), and so are the advisory locks
-- (src/sync_lock.c).
--
-- Every request is a row of sync_requests; three partial indexes on it are
-- the queue, and keep costs independent of the backlog:
--   sync_requests_pending  one twin's waiting requests, most urgent first,
--                          found without looking at any other twin's
--   sync_requests_running  what runs on a twin; unique: at most one run per
--                          twin, ever, whatever a bug elsewhere might try
--   sync_requests_ready    for each twin with pending requests and nothing
--                          running, its most urgent one: what a claim reads
--                          from the top. A busy twin's backlog is not in it.
-- sync_schedule says when each periodically synchronised twin falls due.

CREATE TABLE dtmv.sync_requests (
	request_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	twin dtmv.twin_id NOT NULL REFERENCES dtmv.twin_registry ON DELETE CASCADE,
	subject_id bigint REFERENCES dtmv.subjects ON DELETE SET NULL,
	priority integer NOT NULL,
	status text NOT NULL DEFAULT 'pending'
		CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'superseded', 'rejected')),
	batch bigint,
	requested_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	started_at timestamptz,
	finished_at timestamptz,
	lease_until timestamptz,
	session_lock boolean,
	gateway_pid integer,
	ready boolean NOT NULL DEFAULT false CHECK (NOT ready OR status = 'pending')
);
CREATE INDEX sync_requests_pending ON dtmv.sync_requests (twin, priority DESC, request_id)
	WHERE status = 'pending';
CREATE UNIQUE INDEX sync_requests_running ON dtmv.sync_requests (twin) WHERE status = 'running';
CREATE INDEX sync_requests_ready ON dtmv.sync_requests (priority DESC, request_id) WHERE ready;
COMMENT ON TABLE dtmv.sync_requests IS
	'requests to synchronise a twin with its physical object, and their answers (REQ-DT-07, REQ-DT-08)';
COMMENT ON COLUMN dtmv.sync_requests.subject_id IS 'who asked; NULL for a periodic sync queued by the twin system';
COMMENT ON COLUMN dtmv.sync_requests.batch IS
	'the running request whose completion answers this pending one (set when that request was claimed)';
COMMENT ON COLUMN dtmv.sync_requests.ready IS
	'the most urgent pending request of a twin on which nothing runs: the next a claim may take there';

CREATE TABLE dtmv.sync_schedule (
	twin dtmv.twin_id PRIMARY KEY REFERENCES dtmv.twin_registry ON DELETE CASCADE,
	next_due timestamptz NOT NULL
);
CREATE INDEX sync_schedule_due ON dtmv.sync_schedule (next_due);
COMMENT ON TABLE dtmv.sync_schedule IS 'when each twin with a sync period next falls due (REQ-DT-07)';

-- What runs where: the running requests, for gateways and readers of the twin.
CREATE VIEW dtmv.sync_runs WITH (security_barrier) AS
	SELECT r.twin, r.request_id, r.priority, r.started_at, r.lease_until, r.gateway_pid
	  FROM dtmv.sync_requests r
	 WHERE r.status = 'running'
	   AND ((SELECT dtmv._outer_has_role('dtmv_gateway')) OR dtmv._effective_rights(r.twin) & 2 <> 0);
COMMENT ON VIEW dtmv.sync_runs IS 'the sync running on each twin (at most one): visible with read on the twin, and to gateways';

CREATE FUNCTION dtmv._require_gateway(what text) RETURNS void
	AS 'MODULE_PATHNAME', 'dtmv_require_gateway' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._require_gateway(text) IS 'internal: 42501 unless the calling role has the privileges of dtmv_gateway';

-- A running request whose gateway is gone (its run lock is free) or whose
-- lease has expired goes back to pending, and so does its batch; call with
-- the twin lock held. Returns whether it was requeued.
CREATE FUNCTION dtmv._recover_if_dead(request bigint) RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_recover_if_dead' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dtmv._recover_if_dead(bigint) IS
	'internal: requeue a running request whose gateway session ended or whose lease expired';

CREATE FUNCTION dtmv.recover_syncs() RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	r record;
	n integer := 0;
BEGIN
	PERFORM dtmv._require_gateway('recover sync requests');
	-- Suspects in one query (one index entry per running twin): an expired
	-- lease, or a session-locked run whose gateway backend is no longer
	-- there. _recover_if_dead then decides by the run lock itself (a pid can
	-- be reused; the lock cannot lie).
	FOR r IN SELECT s.request_id, s.twin FROM dtmv.sync_requests s
			  WHERE s.status = 'running'
				AND (s.lease_until <= now()
					 OR (s.session_lock
						 AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_get_activity(s.gateway_pid) a
										  WHERE a.pid IS NOT NULL))) LOOP
		CONTINUE WHEN NOT dtmv._try_lock_twin(r.twin);	-- being decided on now: not dead
		IF dtmv._recover_if_dead(r.request_id) THEN
			n := n + 1;
		END IF;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION dtmv.recover_syncs() IS
	'gateway: requeue every running sync whose gateway session ended or whose lease expired; returns how many';

-- The way a request enters the queue, for users (dtmv.request_sync) and the
-- periodic worker (dtmv.queue_due_syncs) alike: under the twin's lock,
-- refused (TW001) while a sync of higher priority runs on the twin
-- (REQ-DT-08 note 1); a subject's second request while its first is still
-- pending returns the first.
CREATE FUNCTION dtmv._queue_sync(twin dtmv.twin_id, subject bigint, priority integer) RETURNS bigint
	AS 'MODULE_PATHNAME', 'dtmv_queue_sync' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dtmv._queue_sync(dtmv.twin_id, bigint, integer) IS
	'internal: queue a sync request; refuses with TW001 while a higher-priority sync runs (REQ-DT-08)';

CREATE FUNCTION dtmv.request_sync(twin dtmv.twin_id) RETURNS bigint
	AS 'MODULE_PATHNAME', 'dtmv_request_sync' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dtmv.request_sync(dtmv.twin_id) IS
	'ask that a twin be synchronised with its physical object, at the caller''s priority; needs sync; TW001 while a higher-priority sync runs (REQ-DT-07, REQ-DT-08)';

CREATE FUNCTION dtmv.claim_sync(lease interval DEFAULT '5 minutes', session_lock boolean DEFAULT true)
RETURNS TABLE (request_id bigint, twin dtmv.twin_id, priority integer, requested_by text,
			   requested_at timestamptz, batch_size integer)
	AS 'MODULE_PATHNAME', 'dtmv_claim_sync' LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1;
COMMENT ON FUNCTION dtmv.claim_sync(interval, boolean) IS
	'gateway: the most urgent pending request whose twin is free, now running, or no row; every request pending on that twin joins its batch (REQ-DT-07, REQ-DT-08)';

CREATE FUNCTION dtmv.complete_sync(request_id bigint, ok boolean, reported jsonb DEFAULT NULL)
RETURNS text
	AS 'MODULE_PATHNAME', 'dtmv_complete_sync' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dtmv.complete_sync(bigint, boolean, jsonb) IS
	'gateway: finish a running sync; on success store the reported state and answer its batch "superseded", on failure queue the batch again';

CREATE FUNCTION dtmv.sync_status(request_id bigint) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	r record;
BEGIN
	SELECT s.status, s.subject_id, s.twin INTO r FROM dtmv.sync_requests s
	 WHERE s.request_id = sync_status.request_id;
	-- IS NOT TRUE: a periodic request has no requester (NULL), and NULL must not let anyone in
	IF NOT FOUND OR (r.subject_id = ANY (dtmv.current_subjects())
					 OR dtmv._outer_has_role('dtmv_gateway')
					 OR dtmv.has_right(r.twin, 'admin')) IS NOT TRUE THEN
		RAISE EXCEPTION 'permission denied: sync request % is not yours', request_id
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Only its requester, a gateway or an admin of the twin may see a sync request, or it does not exist.';
	END IF;
	RETURN r.status;
END
$$;
COMMENT ON FUNCTION dtmv.sync_status(bigint) IS
	'pending, running, succeeded, failed, superseded or rejected; for the requester, gateways and admins of the twin';

-- Periodic sync (REQ-DT-07): keep sync_schedule in step with sync_period.
CREATE FUNCTION dtmv._schedule_twin() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	IF NEW.sync_period IS NULL THEN
		DELETE FROM dtmv.sync_schedule s WHERE s.twin = NEW.id;
	ELSE
		INSERT INTO dtmv.sync_schedule AS s (twin, next_due) VALUES (NEW.id, now() + NEW.sync_period)
		ON CONFLICT ON CONSTRAINT sync_schedule_pkey DO UPDATE SET next_due = least(s.next_due, excluded.next_due);
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION dtmv._schedule_twin() IS 'internal: keeps sync_schedule in step with twin_registry.sync_period';
CREATE TRIGGER twin_registry_schedule_insert AFTER INSERT ON dtmv.twin_registry
	FOR EACH ROW WHEN (NEW.sync_period IS NOT NULL) EXECUTE FUNCTION dtmv._schedule_twin();
CREATE TRIGGER twin_registry_schedule_update AFTER UPDATE OF sync_period ON dtmv.twin_registry
	FOR EACH ROW WHEN (OLD.sync_period IS DISTINCT FROM NEW.sync_period) EXECUTE FUNCTION dtmv._schedule_twin();

CREATE FUNCTION dtmv.queue_due_syncs(max integer DEFAULT 1000) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	d record;
	n integer := 0;
BEGIN
	PERFORM dtmv._require_gateway('queue periodic syncs');
	FOR d IN SELECT s.twin, g.sync_period, g.sync_priority
			   FROM dtmv.sync_schedule s JOIN dtmv.twin_registry g ON g.id = s.twin
			  WHERE s.next_due <= now()
			  ORDER BY s.next_due LIMIT max LOOP
		-- The twin's lock first, then its rows, as everywhere; never waited
		-- for: a twin that someone is deciding on is tried again next round.
		CONTINUE WHEN NOT dtmv._try_lock_twin(d.twin);
		PERFORM 1 FROM dtmv.sync_schedule s WHERE s.twin = d.twin AND s.next_due <= now()
		   FOR UPDATE SKIP LOCKED;
		CONTINUE WHEN NOT FOUND;
		UPDATE dtmv.sync_schedule s SET next_due = now() + d.sync_period WHERE s.twin = d.twin;
		-- A sync already asked for or running serves; else queue one.
		CONTINUE WHEN EXISTS (SELECT 1 FROM dtmv.sync_requests r
							   WHERE r.twin = d.twin AND r.status IN ('pending', 'running'));
		BEGIN
			PERFORM dtmv._queue_sync(d.twin, NULL, d.sync_priority);
			n := n + 1;
		EXCEPTION WHEN SQLSTATE 'TW001' THEN
			NULL;	-- a higher-priority sync runs: that one serves
		END;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION dtmv.queue_due_syncs(integer) IS
	'gateway or the background worker: queue a sync for each twin whose sync period has elapsed; returns how many (REQ-DT-07)';

-- Retention: finished requests are kept for their requesters' sync_status
-- until pruned. A batch only ever links pending requests to a running one,
-- so no live request refers to a finished one.
CREATE FUNCTION dtmv.prune_syncs(keep interval DEFAULT '7 days') RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	n bigint;
BEGIN
	PERFORM dtmv._require_admin_role('prune sync requests');
	PERFORM dtmv._require_keep(keep);
	DELETE FROM dtmv.sync_requests r
	 WHERE r.status IN ('succeeded', 'failed', 'superseded', 'rejected') AND r.finished_at < now() - keep;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION dtmv.prune_syncs(interval) IS
	'delete sync requests that finished longer ago than keep (their sync_status is gone with them); dtmv_admin only';

GRANT SELECT ON dtmv.sync_requests, dtmv.sync_runs TO dtmv_user;
ALTER TABLE dtmv.sync_requests ENABLE ROW LEVEL SECURITY;
CREATE POLICY sync_requests_visible ON dtmv.sync_requests FOR SELECT TO dtmv_user
	USING (subject_id = ANY ((SELECT dtmv.current_subjects())::bigint[])
		   OR (SELECT dtmv._outer_has_role('dtmv_gateway'))
		   OR dtmv._effective_rights(twin) & 32 <> 0);
COMMENT ON POLICY sync_requests_visible ON dtmv.sync_requests IS
	'a subject sees its own requests, gateways see all, admins of a twin see the twin''s';
SELECT pg_catalog.pg_extension_config_dump('dtmv.sync_requests', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.sync_requests_request_id_seq', '');
-- sync_schedule is not dumped: restoring twin_registry rebuilds it (its trigger).
-- Events from the physical world to metaverse clients, and commands back
-- (REQ-DT-06, REQ-MV-03, REQ-MV-04, scenario 7.2.1). See docs/events.md.
--
-- Two tables make the log. A writer appends its event to dtmv.event_inbox in
-- the transaction of the state change it records; once that transaction has
-- committed, a single orderer (the background worker, or a worker started
-- for a reader when dtmv is not preloaded; src/event_order.c) moves it to
-- dtmv.events and gives it its place in the delivery order, event_id. Ids
-- are handed out only to committed events, by one orderer at a time, each
-- batch above the last: so a reader that continues after the last id it got
-- can never skip one, whatever commits when. NOTIFY only wakes clients.

-- What a writer's call returns: the event's entry number, unique and known
-- at once; its place in the delivery order comes after its commit.
CREATE SEQUENCE dtmv.event_entries;
COMMENT ON SEQUENCE dtmv.event_entries IS 'entry numbers of events, given when they are written';

-- Events written by transactions, committed or not, that have no place in
-- the delivery order yet. No foreign keys: checking one would lock the
-- twin's registry row on every report, the hottest write path there is.
CREATE TABLE dtmv.event_inbox (
	entry_id bigint PRIMARY KEY,
	twin dtmv.twin_id,
	subject_id bigint,
	kind text NOT NULL CHECK (dtmv._is_identifier(kind)),
	payload jsonb NOT NULL DEFAULT '{}',
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	CHECK (twin IS NOT NULL OR subject_id IS NOT NULL)
);
COMMENT ON TABLE dtmv.event_inbox IS
	'events just written, waiting for their place in the delivery order (given once their transaction has committed)';

-- The delivery order: only the orderer inserts here, moving rows from the
-- inbox. dtmv.drop_twin deletes a twin's events; an event whose twin is
-- gone is readable by nobody.
CREATE TABLE dtmv.events (
	event_id bigint PRIMARY KEY,
	entry_id bigint NOT NULL,
	twin dtmv.twin_id,
	subject_id bigint,
	kind text NOT NULL,
	payload jsonb NOT NULL,
	created_at timestamptz NOT NULL
);
-- For pruning by age. BRIN: events are appended in time order, and a BRIN
-- entry costs next to nothing per insert.
CREATE INDEX events_created ON dtmv.events USING brin (created_at);
COMMENT ON TABLE dtmv.events IS
	'the durable event log in delivery order: what happened to twins (REQ-DT-06, REQ-MV-04)';
COMMENT ON COLUMN dtmv.events.event_id IS
	'the place in the delivery order, given after the event committed; what dtmv.events_since returns as id';
COMMENT ON COLUMN dtmv.events.entry_id IS 'the entry number the writer got back (dtmv.report and others)';
COMMENT ON COLUMN dtmv.events.subject_id IS 'set for an event addressed to one subject only (a sync answer); NULL: for every reader of the twin';

-- The last event id given. No row before the first (pg_dump then restores
-- it without clashing with a row made by CREATE EXTENSION), and restored
-- with the log, so that new events get larger ids in a restored database.
CREATE TABLE dtmv.event_order (
	only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
	last_id bigint NOT NULL
);
COMMENT ON TABLE dtmv.event_order IS 'the last place given in the delivery order of events';

-- One row once events were pruned (none before, as for event_order).
CREATE TABLE dtmv.event_retention (
	only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
	pruned_through bigint NOT NULL
);
COMMENT ON TABLE dtmv.event_retention IS 'the id up to which events were pruned: a client behind it must resynchronise';

-- Which actions a kind of twin offers, and what each does to the desired state.
CREATE TABLE dtmv.kind_actions (
	kind text NOT NULL,
	action text NOT NULL CHECK (dtmv._is_identifier(action)),
	desired_patch jsonb,
	builtin boolean NOT NULL DEFAULT false,
	PRIMARY KEY (kind, action)
);
COMMENT ON TABLE dtmv.kind_actions IS
	'the actions each kind of twin offers (REQ-DT-06), and the desired state each sets (merged into desired; reported once acknowledged)';
INSERT INTO dtmv.kind_actions (kind, action, desired_patch, builtin) VALUES
	('door', 'open', '{"door": "open"}', true),
	('door', 'close', '{"door": "closed"}', true),
	('door', 'lock', '{"door": "locked"}', true),
	('door', 'view_camera', NULL, true),
	('lamp', 'on', '{"light": "on"}', true),
	('lamp', 'off', '{"light": "off"}', true),
	('robot', 'stop', '{"motion": "stopped"}', true),
	('robot', 'resume', '{"motion": "running"}', true);

CREATE TABLE dtmv.commands (
	command_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	twin dtmv.twin_id NOT NULL REFERENCES dtmv.twin_registry ON DELETE CASCADE,
	subject_id bigint REFERENCES dtmv.subjects ON DELETE SET NULL,
	action text NOT NULL,
	args jsonb NOT NULL DEFAULT '{}',
	status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'delivered', 'succeeded', 'failed')),
	result jsonb,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	delivered_at timestamptz,
	acked_at timestamptz
);
CREATE INDEX commands_open ON dtmv.commands (command_id) WHERE status IN ('queued', 'delivered');
COMMENT ON TABLE dtmv.commands IS 'virtual-side actions for physical objects (open the door), for the gateway to carry out and acknowledge';

CREATE FUNCTION dtmv.define_action(kind text, action text, desired_patch jsonb DEFAULT NULL) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._require_admin_role('define actions');
	INSERT INTO dtmv.kind_actions AS a (kind, action, desired_patch) VALUES (kind, action, desired_patch)
	ON CONFLICT ON CONSTRAINT kind_actions_pkey
		DO UPDATE SET desired_patch = excluded.desired_patch, builtin = false;
END
$$;
COMMENT ON FUNCTION dtmv.define_action(text, text, jsonb) IS
	'let twins of a kind offer an action, with the desired state it sets; dtmv_admin only';

-- The subjects (users and systems, not groups) that may read a twin: the
-- holders of read on it, on a space it is in or system-wide, through
-- groups, less the denied. They depend on the twin's acl alone, so the
-- orderer works them out once per distinct acl (src/wake_channels.c). In C
-- (src/rights.c), with the same test as every other check.
CREATE FUNCTION dtmv._acl_readers(acl bigint[]) RETURNS bigint[]
	AS 'MODULE_PATHNAME', 'dtmv_acl_readers' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION dtmv._acl_readers(bigint[]) IS 'internal: the users and systems that may read a twin with this acl';

CREATE FUNCTION dtmv._twin_readers(twin dtmv.twin_id) RETURNS bigint[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$ SELECT coalesce((SELECT dtmv._acl_readers(t.acl) FROM dtmv.twin_registry t WHERE t.id = twin), '{}') $$;
COMMENT ON FUNCTION dtmv._twin_readers(dtmv.twin_id) IS 'internal: the users and systems that may read a twin';

-- Who hears an event (src/wake_channels.c, the one definition): an event
-- addressed to a subject wakes that subject's channel only; any other wakes
-- the channels of its twin's readers and of the worlds using the twin whose
-- owners read it. Writers that NOTIFY themselves and the worker's rounds
-- call it from C; this function shows it for one event.
CREATE FUNCTION dtmv._event_channels(twin dtmv.twin_id, addressee bigint) RETURNS text[]
	AS 'MODULE_PATHNAME', 'dtmv_event_channels' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION dtmv._event_channels(dtmv.twin_id, bigint) IS 'internal: the NOTIFY channels that should hear an event, sorted';

CREATE FUNCTION dtmv._notifier_active() RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_notifier_active' LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._notifier_active() IS 'internal: whether the background worker orders this database''s events and sends their wake-ups';

-- Append an event to the inbox; the one writer of the log, in C
-- (src/events.c) since every report and move calls it. Returns the entry
-- number. With the worker running (dtmv preloaded), the wake-up is its job,
-- sent coalesced once the event is ordered; otherwise NOTIFY (empty
-- payload) on each of _event_channels(twin, addressee) at commit.
CREATE FUNCTION dtmv._append_event(twin dtmv.twin_id, addressee bigint, kind text, payload jsonb)
RETURNS bigint
	AS 'MODULE_PATHNAME', 'dtmv_append_event' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dtmv._append_event(dtmv.twin_id, bigint, text, jsonb) IS
	'internal: append an event to the inbox and see that its readers are woken; returns its entry number';

-- The orderer (src/event_order.c), run in the calling transaction: move at
-- most max committed events from the inbox to the log, each batch above the
-- last id given, and NOTIFY (if wake) the channels they wake, once each
-- with the newest id. Only one transaction orders at a time: another one
-- that is ordering makes this return at once (ordered NULL). The worker
-- calls the same C directly, each batch in a transaction of its own; no
-- client should run it, since the lock is held to the end of the
-- transaction (superusers only, like every internal function).
CREATE FUNCTION dtmv._order_events(max integer, wake boolean, OUT ordered integer, OUT woken integer)
	AS 'MODULE_PATHNAME', 'dtmv_order_events' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dtmv._order_events(integer, boolean) IS
	'internal: give committed events of the inbox their place in the delivery order, in this transaction; NULL if another transaction is ordering';

-- For readers when no background worker orders this database's events:
-- if committed events wait in the inbox, start a worker that orders them in
-- a transaction of its own and wait for it (bounded). Never in the
-- caller's transaction, whose lock would hold back every other reader.
CREATE FUNCTION dtmv._order_committed_events() RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_order_committed_events' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dtmv._order_committed_events() IS
	'internal: without the background worker, have the committed events ordered by a worker of their own; true if one ran';

-- In C (src/events.c): the hottest write path of the events.
CREATE FUNCTION dtmv.report(twin dtmv.twin_id, kind text, payload jsonb DEFAULT '{}') RETURNS bigint
	AS 'MODULE_PATHNAME', 'dtmv_report' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dtmv.report(dtmv.twin_id, text, jsonb) IS
	'gateway: the physical object reports; merge the payload into the twin''s reported state and log an event in the same transaction (REQ-MV-04)';

CREATE FUNCTION dtmv.listen() RETURNS SETOF text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	me bigint := dtmv._require_subject();
	channel text;
BEGIN
	FOR channel IN
		SELECT 'dtmv_s' || me
		UNION ALL
		SELECT 'dtmv_w' || w.world_id FROM dtmv.worlds w WHERE w.owner_subject = me
		UNION ALL
		SELECT 'dtmv_commands' WHERE dtmv._outer_has_role('dtmv_gateway')
	LOOP
		EXECUTE pg_catalog.format('LISTEN %I', channel);
		RETURN NEXT channel;
	END LOOP;
END
$$;
COMMENT ON FUNCTION dtmv.listen() IS
	'LISTEN on every channel the acting subject should hear (its own, its worlds'', and commands for gateways); returns them';

-- TW002 if events after last_id were pruned: the client must resynchronise.
CREATE FUNCTION dtmv._require_kept(last_id bigint) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	pruned bigint := (SELECT r.pruned_through FROM dtmv.event_retention r);
BEGIN
	IF last_id < coalesce(pruned, 0) THEN
		RAISE EXCEPTION 'events after id % are no longer kept', last_id
			USING ERRCODE = 'TW002',
				  DETAIL = pg_catalog.format('Events up to id %s were pruned.', pruned),
				  HINT = 'Re-read the state of your twins (dtmv.twin_info), then continue from dtmv.event_horizon().';
	END IF;
END
$$;
COMMENT ON FUNCTION dtmv._require_kept(bigint) IS 'internal: TW002 if events after this id were pruned';

-- The last id given: the recorded one, or should the log or the pruning
-- record hold a larger one (rows being restored by pg_restore while an
-- orderer runs; a log pruned whole whose event_order row was not
-- restored), that one: no id is ever given twice.
CREATE FUNCTION dtmv._last_event_id() RETURNS bigint
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce(GREATEST((SELECT o.last_id FROM dtmv.event_order o),
							 (SELECT pg_catalog.max(e.event_id) FROM dtmv.events e),
							 (SELECT r.pruned_through FROM dtmv.event_retention r)), 0)
$$;
COMMENT ON FUNCTION dtmv._last_event_id() IS 'internal: the last event id given';

CREATE FUNCTION dtmv.event_horizon() RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	-- Without the worker, what has committed is ordered first, so that a
	-- client starting here gets no event that committed before it asked.
	PERFORM dtmv._order_committed_events();
	RETURN dtmv._last_event_id();
END
$$;
COMMENT ON FUNCTION dtmv.event_horizon() IS
	'the last event id given so far: a new client starts here and receives every event ordered after it';

CREATE FUNCTION dtmv.events_since(last_id bigint, max integer DEFAULT 1000)
RETURNS TABLE (id bigint, twin dtmv.twin_id, kind text, payload jsonb, created_at timestamptz, entry_id bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	subs bigint[] := dtmv.current_subjects();
	me bigint := dtmv.current_subject();
	keys record;
BEGIN
	IF last_id IS NULL THEN
		RAISE EXCEPTION 'last_id is required: the id of the last event seen, or dtmv.event_horizon() to start'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	-- Without the worker, committed events get their place now (in a
	-- transaction of their own); the queries below take newer snapshots
	-- (VOLATILE, in READ COMMITTED) and so see them.
	PERFORM dtmv._order_committed_events();
	PERFORM dtmv._require_kept(last_id);
	SELECT k.probe, k.veto INTO keys FROM dtmv._keys_for(subs) k WHERE k.r = 1;	-- read
	-- Every id was given after its event committed, each orderer's batch
	-- above the ones before it: no event can appear later below the last
	-- id a reader got, so "after last_id" never skips one.
	RETURN QUERY
		SELECT e.event_id, e.twin, e.kind, e.payload, e.created_at, e.entry_id
		  FROM dtmv.events e
		  LEFT JOIN dtmv.twin_registry t ON t.id = e.twin
		 WHERE e.event_id > last_id
		   AND CASE WHEN e.subject_id IS NOT NULL THEN e.subject_id = me
					ELSE t.acl && keys.probe AND NOT t.acl && keys.veto END
		 ORDER BY e.event_id
		 LIMIT max;
	-- The read has a newer snapshot than the check above: events pruned in
	-- between would be missing from it, silently. Pruning records how far
	-- it went in the same transaction as its deletes, so looking again now
	-- tells.
	PERFORM dtmv._require_kept(last_id);
END
$$;
COMMENT ON FUNCTION dtmv.events_since(bigint, integer) IS
	'every event after last_id, in delivery order, that the acting subject may read; TW002 if some were pruned (REQ-DT-06)';

CREATE FUNCTION dtmv.prune_events(keep interval DEFAULT '7 days') RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	through bigint;
	n bigint;
BEGIN
	PERFORM dtmv._require_admin_role('prune events');
	PERFORM dtmv._require_keep(keep);
	-- Ids follow commits, not created_at (a long transaction's event has an
	-- old created_at and a new id): prune up to the first event to keep.
	SELECT min(e.event_id) - 1 INTO through FROM dtmv.events e WHERE e.created_at >= now() - keep;
	IF through IS NULL THEN
		SELECT max(e.event_id) INTO through FROM dtmv.events e;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM dtmv.events e WHERE e.event_id <= through) THEN
		RETURN 0;
	END IF;
	DELETE FROM dtmv.events e WHERE e.event_id <= through;
	GET DIAGNOSTICS n = ROW_COUNT;
	INSERT INTO dtmv.event_retention AS r (pruned_through) VALUES (through)
	ON CONFLICT ON CONSTRAINT event_retention_pkey
		DO UPDATE SET pruned_through = greatest(r.pruned_through, excluded.pruned_through);
	RETURN n;
END
$$;
COMMENT ON FUNCTION dtmv.prune_events(interval) IS
	'delete events older than keep; clients behind them get TW002 and resynchronise; dtmv_admin only';

CREATE FUNCTION dtmv.interact(twin dtmv.twin_id, action text, args jsonb DEFAULT '{}') RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	k text;
	patch jsonb;
	id bigint;
BEGIN
	PERFORM dtmv._lock_twin_for(twin, 'interact');	-- the twin's lock before its rows
	SELECT t.kind INTO k FROM dtmv.twin_registry t WHERE t.id = interact.twin;
	SELECT a.desired_patch INTO patch FROM dtmv.kind_actions a WHERE a.kind = k AND a.action = interact.action;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'a % does not offer the action "%"', k, action
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = coalesce('It offers: ' || (SELECT string_agg(a.action, ', ' ORDER BY a.action)
													 FROM dtmv.kind_actions a WHERE a.kind = k) || '.',
								  'It offers no action.');
	END IF;
	INSERT INTO dtmv.commands (twin, subject_id, action, args)
		VALUES (twin, dtmv.current_subject(), action, coalesce(args, '{}'))
		RETURNING command_id INTO id;
	IF patch IS NOT NULL THEN
		UPDATE dtmv.twin_states s SET desired = s.desired || patch, desired_at = now() WHERE s.twin = interact.twin;
	END IF;
	PERFORM pg_notify('dtmv_commands', id::text);
	RETURN id;
END
$$;
COMMENT ON FUNCTION dtmv.interact(dtmv.twin_id, text, jsonb) IS
	'an avatar acts on a twin: needs interact and an action the twin''s kind offers; sets the desired state, queues a command and wakes the gateway (REQ-DT-06, REQ-MV-03)';

CREATE FUNCTION dtmv.next_commands(max integer DEFAULT 10, redeliver_after interval DEFAULT '1 minute')
RETURNS TABLE (command_id bigint, twin dtmv.twin_id, action text, args jsonb,
			   physical_binding text, requested_by text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._require_gateway('take commands');
	RETURN QUERY
		WITH picked AS (
			SELECT c.command_id FROM dtmv.commands c
			 WHERE c.status = 'queued'
				OR (c.status = 'delivered' AND c.delivered_at < now() - redeliver_after)
			 ORDER BY c.command_id LIMIT max
			 FOR UPDATE SKIP LOCKED
		), delivered AS (
			UPDATE dtmv.commands c SET status = 'delivered', delivered_at = now()
			  FROM picked WHERE c.command_id = picked.command_id
			RETURNING c.command_id, c.twin, c.action, c.args, c.subject_id
		)
		SELECT d.command_id, d.twin, d.action, d.args, st.physical_binding, s.name
		  FROM delivered d
		  LEFT JOIN dtmv.twin_states st ON st.twin = d.twin
		  LEFT JOIN dtmv.subjects s ON s.subject_id = d.subject_id
		 ORDER BY d.command_id;
END
$$;
COMMENT ON FUNCTION dtmv.next_commands(integer, interval) IS
	'gateway: take queued commands (and ones delivered but unacknowledged for too long), oldest first';

CREATE FUNCTION dtmv.ack_command(command_id bigint, ok boolean, result jsonb DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	c record;
	patch jsonb;
BEGIN
	PERFORM dtmv._require_gateway('acknowledge commands');
	IF ok IS NULL THEN
		RAISE EXCEPTION 'ok must be true or false' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	-- The twin's lock before its rows (the command's, its state's).
	PERFORM dtmv._lock_twin(x.twin) FROM dtmv.commands x WHERE x.command_id = ack_command.command_id;
	-- NOWAIT: a gateway that took this command with next_commands holds its
	-- row, not yet its twin's lock; waiting here (holding the twin's lock)
	-- for it could deadlock with its own ack.
	BEGIN
		SELECT * INTO c FROM dtmv.commands x WHERE x.command_id = ack_command.command_id FOR UPDATE NOWAIT;
	EXCEPTION WHEN lock_not_available THEN
		RAISE EXCEPTION 'command % is being handled by another gateway', command_id
			USING ERRCODE = 'lock_not_available',
				  HINT = 'Acknowledge it from the transaction that took it, or once that one has ended.';
	END;
	IF c IS NULL THEN
		RAISE EXCEPTION 'command % does not exist', command_id USING ERRCODE = 'undefined_object';
	END IF;
	IF c.status NOT IN ('queued', 'delivered') THEN
		RAISE EXCEPTION 'command % was already acknowledged', command_id
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = pg_catalog.format('Its status is %s.', c.status);
	END IF;
	UPDATE dtmv.commands x SET status = CASE WHEN ok THEN 'succeeded' ELSE 'failed' END,
							   result = ack_command.result, acked_at = now()
	 WHERE x.command_id = ack_command.command_id;
	IF ok THEN
		SELECT a.desired_patch INTO patch FROM dtmv.kind_actions a
		  JOIN dtmv.twin_registry t ON t.kind = a.kind
		 WHERE t.id = c.twin AND a.action = c.action;
		UPDATE dtmv.twin_states s SET reported = s.reported || coalesce(patch, '{}'), reported_at = now()
		 WHERE s.twin = c.twin;
	END IF;
	RETURN dtmv._append_event(c.twin, NULL, CASE WHEN ok THEN 'command_succeeded' ELSE 'command_failed' END,
							  jsonb_build_object('command', c.command_id, 'action', c.action,
												 'result', ack_command.result));
END
$$;
COMMENT ON FUNCTION dtmv.ack_command(bigint, boolean, jsonb) IS
	'gateway: a command was carried out (or not); on success the reported state follows the desired one; the outcome is an event for the twin''s readers; returns its entry number';

CREATE FUNCTION dtmv.command_status(command_id bigint) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	c record;
BEGIN
	SELECT x.status, x.subject_id INTO c FROM dtmv.commands x WHERE x.command_id = command_status.command_id;
	-- IS NOT TRUE: a command whose requester is gone has none (NULL), and NULL must not let anyone in
	IF NOT FOUND OR (c.subject_id = ANY (dtmv.current_subjects())
					 OR dtmv._outer_has_role('dtmv_gateway')) IS NOT TRUE THEN
		RAISE EXCEPTION 'permission denied: command % is not yours', command_id
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN c.status;
END
$$;
COMMENT ON FUNCTION dtmv.command_status(bigint) IS 'queued, delivered, succeeded or failed; for the requester and gateways';

-- Retention: acknowledged commands are kept for command_status until
-- pruned; the outcome stays in the event log (until prune_events).
CREATE FUNCTION dtmv.prune_commands(keep interval DEFAULT '7 days') RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	n bigint;
BEGIN
	PERFORM dtmv._require_admin_role('prune commands');
	PERFORM dtmv._require_keep(keep);
	DELETE FROM dtmv.commands c WHERE c.status IN ('succeeded', 'failed') AND c.acked_at < now() - keep;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION dtmv.prune_commands(interval) IS
	'delete commands acknowledged longer ago than keep (their command_status is gone with them); dtmv_admin only';

GRANT SELECT ON dtmv.events, dtmv.commands, dtmv.kind_actions TO dtmv_user;
ALTER TABLE dtmv.events ENABLE ROW LEVEL SECURITY;
CREATE POLICY events_readable ON dtmv.events FOR SELECT TO dtmv_user
	USING (CASE WHEN subject_id IS NOT NULL THEN subject_id = (SELECT dtmv.current_subject())
				ELSE dtmv._effective_rights(twin) & 2 <> 0 END);
COMMENT ON POLICY events_readable ON dtmv.events IS
	'an event is visible to its addressee, or, if it has none, to the readers of its twin';
ALTER TABLE dtmv.commands ENABLE ROW LEVEL SECURITY;
CREATE POLICY commands_own ON dtmv.commands FOR SELECT TO dtmv_user
	USING (subject_id = ANY ((SELECT dtmv.current_subjects())::bigint[])
		   OR (SELECT dtmv._outer_has_role('dtmv_gateway')));
COMMENT ON POLICY commands_own ON dtmv.commands IS 'a subject sees its own commands; gateways see all';
ALTER TABLE dtmv.kind_actions ENABLE ROW LEVEL SECURITY;
CREATE POLICY kind_actions_directory ON dtmv.kind_actions FOR SELECT TO dtmv_user USING (true);
COMMENT ON POLICY kind_actions_directory ON dtmv.kind_actions IS 'what each kind of twin offers is public to dtmv users';

SELECT pg_catalog.pg_extension_config_dump('dtmv.events', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.event_inbox', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.event_order', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.event_entries', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.event_retention', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.kind_actions', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('dtmv.commands', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.commands_command_id_seq', '');

CREATE FUNCTION dtmv.twin_by_binding(binding text) RETURNS dtmv.twin_id
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	id dtmv.twin_id;
BEGIN
	PERFORM dtmv._require_gateway('look twins up by physical binding');
	SELECT s.twin INTO id FROM dtmv.twin_states s WHERE s.physical_binding = binding;
	IF id IS NULL THEN
		RAISE EXCEPTION 'no twin is bound to physical object "%"', binding USING ERRCODE = 'undefined_object';
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION dtmv.twin_by_binding(text) IS
	'gateway: the twin bound to a physical object (serial number or device address)';
-- Spatial: sites with a local 3D frame, twins placed in them, location
-- synchronisation, localization, 3rd-party service coverage, captures and
-- the 3D spatial map (scenarios 7.3.1, 7.3.2, 7.3.3; REQ-MV-04, REQ-MV-05).
-- See docs/spatial.md.
--
-- Geometry is PostGIS geometry with SRID 0 in the site's local frame:
-- metres, x east and y north of the site's own axes, z up. A site is
-- anchored to WGS84 by a point (longitude, latitude, altitude) and a heading
-- (degrees clockwise from true north to the site's +y axis).

CREATE TABLE dtmv.spaces (
	space_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name text NOT NULL CHECK (name <> ''),
	kind text NOT NULL CHECK (kind IN ('site', 'floor', 'room', 'area')),
	parent bigint REFERENCES dtmv.spaces ON DELETE CASCADE,
	site bigint NOT NULL,
	anchor_lon double precision,
	anchor_lat double precision,
	anchor_alt double precision,
	heading double precision NOT NULL DEFAULT 0,
	z_min double precision,
	z_max double precision,
	outline geometry(Polygon, 0),
	created_by bigint REFERENCES dtmv.subjects ON DELETE SET NULL,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	CHECK ((kind = 'site') = (parent IS NULL)),
	CHECK (kind <> 'site' OR (anchor_lon BETWEEN -180 AND 180 AND anchor_lat BETWEEN -85 AND 85
							  AND anchor_alt IS NOT NULL)),
	CHECK (z_min IS NULL OR z_max IS NULL OR z_min < z_max)
);
CREATE INDEX spaces_parent ON dtmv.spaces (parent);
COMMENT ON TABLE dtmv.spaces IS
	'sites (a factory, a home) with a local frame anchored to WGS84, and their floors, rooms and areas';
COMMENT ON COLUMN dtmv.spaces.site IS 'the site whose local frame the space and its twins use (itself for a site)';

-- In C (src/geometry.c): it checks every position given to dtmv, on the
-- location update path too.
CREATE FUNCTION dtmv._require_point3d(pos geometry, what text DEFAULT 'position') RETURNS geometry
	AS 'MODULE_PATHNAME', 'dtmv_require_point3d' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION dtmv._require_point3d(geometry, text) IS
	'internal: the position if it is a finite PointZ (no M) in a local frame (SRID 0); 22023 otherwise (22004 for NULL)';

CREATE FUNCTION dtmv.create_space(name text, kind text, parent bigint DEFAULT NULL,
								  anchor_lon double precision DEFAULT NULL, anchor_lat double precision DEFAULT NULL,
								  anchor_alt double precision DEFAULT 0, heading double precision DEFAULT 0,
								  z_min double precision DEFAULT NULL, z_max double precision DEFAULT NULL,
								  outline geometry DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, dtmv, pg_temp
AS $$
DECLARE
	me bigint := dtmv._require_subject();
	root bigint;
	id bigint;
BEGIN
	IF create_space.parent IS NOT NULL THEN
		SELECT s.site INTO root FROM dtmv.spaces s WHERE s.space_id = create_space.parent;
		IF root IS NULL THEN
			RAISE EXCEPTION 'space % does not exist', parent USING ERRCODE = 'undefined_object';
		END IF;
		IF NOT EXISTS (SELECT 1 FROM dtmv.spaces s WHERE s.space_id = create_space.parent AND s.created_by = me)
		   AND NOT dtmv._outer_has_role('dtmv_admin') THEN
			RAISE EXCEPTION 'permission denied: only the creator of space % may add spaces to it', parent
				USING ERRCODE = 'insufficient_privilege';
		END IF;
	END IF;
	IF outline IS NOT NULL AND (ST_SRID(outline) <> 0 OR GeometryType(outline) <> 'POLYGON') THEN
		RAISE EXCEPTION 'an outline is a polygon in the site''s local frame (SRID 0)'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO dtmv.spaces (name, kind, parent, site, anchor_lon, anchor_lat, anchor_alt, heading,
							 z_min, z_max, outline, created_by)
	VALUES (create_space.name, create_space.kind, create_space.parent, coalesce(root, 0),
			CASE WHEN create_space.parent IS NULL THEN create_space.anchor_lon END,
			CASE WHEN create_space.parent IS NULL THEN create_space.anchor_lat END,
			CASE WHEN create_space.parent IS NULL THEN create_space.anchor_alt END,
			coalesce(create_space.heading, 0), create_space.z_min, create_space.z_max,
			ST_Force2D(create_space.outline), me)
	RETURNING space_id INTO id;
	IF create_space.parent IS NULL THEN
		UPDATE dtmv.spaces s SET site = id WHERE s.space_id = id;
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION dtmv.create_space(text, text, bigint, double precision, double precision, double precision,
									  double precision, double precision, double precision, geometry) IS
	'a site (anchored to WGS84 by a point and a heading) or a floor, room or area inside one (with a height range and outline)';

-- A space and every space above it, up to its site.
CREATE FUNCTION dtmv._space_ancestry(space bigint) RETURNS TABLE (space_id bigint)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, public, dtmv, pg_temp
AS $$
	WITH RECURSIVE up(id) AS (
		SELECT s.space_id FROM dtmv.spaces s WHERE s.space_id = _space_ancestry.space
		UNION
		SELECT s.parent FROM dtmv.spaces s JOIN up ON s.space_id = up.id WHERE s.parent IS NOT NULL
	)
	SELECT id FROM up
$$;
COMMENT ON FUNCTION dtmv._space_ancestry(bigint) IS 'internal: a space and all spaces above it';

-- Rights on a space cover the twins placed in it and in the spaces below it
-- (REQ-DT-05): acl keys -(space * 16 + r), see docs/rights.md.
ALTER TABLE dtmv.grants ADD FOREIGN KEY (space_id) REFERENCES dtmv.spaces ON DELETE CASCADE;
CREATE INDEX grants_space ON dtmv.grants (space_id) WHERE space_id IS NOT NULL;

CREATE FUNCTION dtmv._require_space_owner(space bigint) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, dtmv, pg_temp
AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM dtmv.spaces s JOIN dtmv.spaces site ON site.space_id = s.site
					WHERE s.space_id = _require_space_owner.space AND site.created_by = dtmv.current_subject())
	   AND NOT dtmv._outer_has_role('dtmv_admin') THEN
		RAISE EXCEPTION 'permission denied: only the creator of the site of space % manages rights on it', space
			USING ERRCODE = 'insufficient_privilege';
	END IF;
END
$$;
COMMENT ON FUNCTION dtmv._require_space_owner(bigint) IS 'internal: 42501 unless the acting subject created the space''s site, or is dtmv_admin';

CREATE FUNCTION dtmv.grant_space(space bigint, subject text, rights text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._require_space_owner(space);
	PERFORM dtmv._change_rights(subject, rights, false, space => space);
END
$$;
COMMENT ON FUNCTION dtmv.grant_space(bigint, text, text) IS
	'grant rights on every twin placed in a space or below it; for the creator of its site or dtmv_admin (REQ-DT-05)';

CREATE FUNCTION dtmv.revoke_space(space bigint, subject text, rights text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._require_space_owner(space);
	PERFORM dtmv._change_rights(subject, rights, true, space => space);
END
$$;
COMMENT ON FUNCTION dtmv.revoke_space(bigint, text, text) IS
	'deny rights on every twin in a space or below it, winning over any grant; for the creator of its site or dtmv_admin';

CREATE FUNCTION dtmv.clear_space_rights(space bigint, subject text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._require_space_owner(space);
	DELETE FROM dtmv.grants g WHERE g.space_id = clear_space_rights.space AND g.subject_id = dtmv._subject_id(subject);
END
$$;
COMMENT ON FUNCTION dtmv.clear_space_rights(bigint, text) IS
	'forget every grant and revoke of a subject on a space; for the creator of its site or dtmv_admin';

-- May the acting subject exercise right number r (see dtmv._right_names) on
-- what is in a space? The same test as for a twin, on the keys a twin placed
-- there would carry: the creator of its site, r granted on the space or a
-- space above it or system-wide, and not revoked at any of those places.
CREATE FUNCTION dtmv._space_right(space bigint, r integer, subjects bigint[] DEFAULT NULL) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, dtmv, pg_temp
AS $$
DECLARE
	subs bigint[] := coalesce(subjects, dtmv.current_subjects());	-- another subject and its groups, or the acting one
	keys bigint[];
BEGIN
	IF EXISTS (SELECT 1 FROM dtmv.spaces s JOIN dtmv.spaces site ON site.space_id = s.site
				WHERE s.space_id = _space_right.space AND site.created_by = ANY (subs)) THEN
		RETURN true;
	END IF;
	keys := ARRAY(SELECT k::bigint FROM generate_series(0, 5) k)
			|| ARRAY(SELECT -(a.space_id * 16 + k) FROM dtmv._space_ancestry(space) a, generate_series(0, 5) k);
	RETURN coalesce((SELECT keys && k.probe AND NOT keys && k.veto
					   FROM dtmv._keys_for(subs) k WHERE k.r = _space_right.r), false);
END
$$;
COMMENT ON FUNCTION dtmv._space_right(bigint, integer, bigint[]) IS
	'internal: whether the acting subject (or the given subjects) holds right number r on what is in a space (its site''s creator, or r on it, above it or system-wide, not revoked)';

-- 42501 unless the acting subject may control what is in a space (or is
-- dtmv_admin): to place twins in it, to map it, to have things delivered there.
CREATE FUNCTION dtmv._require_space_control(space bigint, what text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	IF NOT dtmv._space_right(space, 4) AND NOT dtmv._outer_has_role('dtmv_admin') THEN
		RAISE EXCEPTION 'permission denied: control on space % is required to % it', space, what
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'The creator of its site grants it with dtmv.grant_space.';
	END IF;
END
$$;
COMMENT ON FUNCTION dtmv._require_space_control(bigint, text) IS
	'internal: 42501 unless the acting subject holds control on what is in a space, or is dtmv_admin';

-- The site of a space (itself for a site); 42704 if there is no such space.
CREATE FUNCTION dtmv._site_of(space bigint) RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, public, dtmv, pg_temp
AS $$
DECLARE
	site bigint;
BEGIN
	SELECT x.site INTO site FROM dtmv.spaces x WHERE x.space_id = _site_of.space;
	IF site IS NULL THEN
		RAISE EXCEPTION 'space % does not exist', space USING ERRCODE = 'undefined_object';
	END IF;
	RETURN site;
END
$$;
COMMENT ON FUNCTION dtmv._site_of(bigint) IS 'internal: the site of a space; 42704 if the space does not exist';

-- The PROJ definition of a site's local frame, before rotation: a transverse
-- Mercator projection centred on the anchor, scale 1, so that metres near the
-- site are metres on the ground.
CREATE FUNCTION dtmv._site_proj(space bigint) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, public, dtmv, pg_temp
AS $$
	SELECT format('+proj=tmerc +lat_0=%s +lon_0=%s +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs',
				  r.anchor_lat, r.anchor_lon)
	  FROM dtmv.spaces s JOIN dtmv.spaces r ON r.space_id = s.site
	 WHERE s.space_id = _site_proj.space
$$;
COMMENT ON FUNCTION dtmv._site_proj(bigint) IS 'internal: the PROJ string of a space''s site frame';

CREATE FUNCTION dtmv.to_wgs84(space bigint, pos geometry) RETURNS geometry
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, dtmv, pg_temp
AS $$
DECLARE
	r record;
	p geometry := dtmv._require_point3d(pos);
BEGIN
	SELECT s.anchor_alt, s.heading INTO r FROM dtmv.spaces s WHERE s.space_id = dtmv._site_of(to_wgs84.space);
	-- local axes -> east/north: rotate clockwise by the heading
	p := ST_Rotate(p, -radians(r.heading), 0, 0);
	p := ST_Transform(ST_SetSRID(p, 0), dtmv._site_proj(space), 4326);
	RETURN ST_SetSRID(ST_MakePoint(ST_X(p), ST_Y(p), ST_Z(p) + r.anchor_alt), 4326);
END
$$;
COMMENT ON FUNCTION dtmv.to_wgs84(bigint, geometry) IS
	'a local PointZ of a space''s site as a WGS84 PointZ (longitude, latitude, altitude in metres)';

CREATE FUNCTION dtmv.to_local(space bigint, pos geometry) RETURNS geometry
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, dtmv, pg_temp
AS $$
DECLARE
	r record;
	p geometry;
BEGIN
	IF pos IS NULL OR ST_SRID(pos) <> 4326 OR GeometryType(pos) <> 'POINT' OR ST_CoordDim(pos) < 3 THEN
		RAISE EXCEPTION 'a WGS84 position is a PointZ with SRID 4326 (longitude, latitude, altitude)'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT s.anchor_alt, s.heading INTO r FROM dtmv.spaces s WHERE s.space_id = dtmv._site_of(to_local.space);
	p := ST_Transform(pos, dtmv._site_proj(space));
	p := ST_Rotate(ST_SetSRID(p, 0), radians(r.heading), 0, 0);
	RETURN ST_SetSRID(ST_MakePoint(ST_X(p), ST_Y(p), ST_Z(p) - r.anchor_alt), 0);
END
$$;
COMMENT ON FUNCTION dtmv.to_local(bigint, geometry) IS
	'a WGS84 PointZ as a PointZ in the local frame of a space''s site';

-- Where twins are. The exact position is not indexed; the index holds a
-- coarse cell (the 2 m grid square around it), which changes only when the
-- twin crosses into another square: most moves are HOT updates that touch
-- no index. Nearest-neighbour search walks the cells in 2D distance order,
-- which is a lower bound of the 3D distance, and stops once it exceeds the
-- k-th best exact 3D distance.
CREATE TABLE dtmv.twin_positions (
	twin dtmv.twin_id PRIMARY KEY REFERENCES dtmv.twin_registry ON DELETE CASCADE,
	site bigint NOT NULL REFERENCES dtmv.spaces ON DELETE CASCADE,
	space bigint NOT NULL REFERENCES dtmv.spaces ON DELETE CASCADE,
	position geometry(PointZ, 0) NOT NULL,
	cell geometry(Polygon, 0) NOT NULL,
	orientation double precision[],
	footprint geometry,
	moved_at timestamptz NOT NULL DEFAULT pg_catalog.now()
) WITH (fillfactor = 70);
CREATE INDEX twin_positions_cell ON dtmv.twin_positions USING gist (site, cell);
COMMENT ON TABLE dtmv.twin_positions IS
	'where each placed twin is: exact PointZ (not indexed) and a coarse 2 m cell (indexed) in its site''s frame';

CREATE FUNCTION dtmv._cell(pos geometry) RETURNS geometry
	AS 'MODULE_PATHNAME', 'dtmv_cell' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION dtmv._cell(geometry) IS 'internal: the 2 m grid square that holds a position';

-- A twin in a space carries that space's acl keys (and those of the spaces
-- above): keep them in step when it is placed or changes space, whatever
-- writes the row (place(), or pg_restore in any table order).
CREATE FUNCTION dtmv._positions_refresh_acl() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, dtmv, pg_temp
AS $$
BEGIN
	IF TG_LEVEL = 'STATEMENT' THEN
		UPDATE dtmv.twin_registry t SET acl = dtmv._twin_acl(t.id)
		 WHERE t.id IN (SELECT n.twin FROM new_rows n);
	ELSE
		UPDATE dtmv.twin_registry t SET acl = dtmv._twin_acl(t.id) WHERE t.id = NEW.twin;
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION dtmv._positions_refresh_acl() IS 'internal: a twin''s acl follows the space it is placed in';
CREATE TRIGGER twin_positions_acl_insert AFTER INSERT ON dtmv.twin_positions
	REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dtmv._positions_refresh_acl();
CREATE TRIGGER twin_positions_acl_update AFTER UPDATE OF space ON dtmv.twin_positions
	FOR EACH ROW WHEN (OLD.space IS DISTINCT FROM NEW.space) EXECUTE FUNCTION dtmv._positions_refresh_acl();

-- An orientation is [yaw, pitch, roll] in degrees: yaw about z (up),
-- counter-clockwise from the site's x axis, then pitch about the twin's y
-- axis, then roll about its x axis.
CREATE FUNCTION dtmv._require_orientation(orientation double precision[]) RETURNS double precision[]
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	IF orientation IS NULL THEN
		RETURN NULL;
	END IF;
	IF array_ndims(orientation) IS DISTINCT FROM 1 OR cardinality(orientation) <> 3
	   OR array_position(orientation, NULL) IS NOT NULL
	   OR NOT (abs(orientation[1]) + abs(orientation[2]) + abs(orientation[3]) < 'Infinity') THEN
		RAISE EXCEPTION 'an orientation is [yaw, pitch, roll] in degrees, three finite numbers, not %', orientation
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN ARRAY[orientation[1], orientation[2], orientation[3]];
END
$$;
COMMENT ON FUNCTION dtmv._require_orientation(double precision[]) IS
	'internal: the orientation if it is [yaw, pitch, roll], three finite degrees; 22023 otherwise';

-- A footprint is the twin's body: a closed solid (a PolyhedralSurface Z or
-- a TIN Z), in metres in the twin's own frame (origin at its position, z
-- up), so that it moves with the twin.
CREATE FUNCTION dtmv._require_footprint(footprint geometry) RETURNS geometry
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, public, dtmv, pg_temp
AS $$
BEGIN
	IF footprint IS NULL THEN
		RETURN NULL;
	END IF;
	IF ST_SRID(footprint) <> 0 THEN
		RAISE EXCEPTION 'a footprint is in the twin''s own frame (SRID 0), not SRID %', ST_SRID(footprint)
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF GeometryType(footprint) NOT IN ('POLYHEDRALSURFACE', 'TIN') OR ST_CoordDim(footprint) <> 3
	   OR ST_IsEmpty(footprint) THEN
		RAISE EXCEPTION 'a footprint is a 3D solid (PolyhedralSurface Z or TIN Z), not %', ST_AsText(footprint)
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Use dtmv.footprint_box(width, depth, height) for a box.';
	END IF;
	IF NOT (abs(ST_XMin(footprint::box3d)) + abs(ST_XMax(footprint::box3d)) + abs(ST_YMin(footprint::box3d))
			+ abs(ST_YMax(footprint::box3d)) + abs(ST_ZMin(footprint::box3d)) + abs(ST_ZMax(footprint::box3d))
			< 'Infinity') THEN
		RAISE EXCEPTION 'a footprint must have finite coordinates'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF NOT ST_IsClosed(footprint) THEN
		RAISE EXCEPTION 'a footprint must be a closed solid: its faces leave it open'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Use dtmv.footprint_box(width, depth, height) for a box.';
	END IF;
	RETURN footprint;
END
$$;
COMMENT ON FUNCTION dtmv._require_footprint(geometry) IS
	'internal: the footprint if it is a closed finite 3D solid (PolyhedralSurface Z or TIN Z) in SRID 0; 22023 otherwise';

CREATE FUNCTION dtmv.footprint_box(width double precision, depth double precision, height double precision)
RETURNS geometry
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, public, dtmv, pg_temp
AS $$
BEGIN
	IF NOT (width > 0 AND depth > 0 AND height > 0 AND width + depth + height < 'Infinity') THEN
		RAISE EXCEPTION 'a box''s width, depth and height are positive finite metres, not %, %, %',
			width, depth, height USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN ST_3DMakeBox(ST_MakePoint(-width / 2, -depth / 2, 0), ST_MakePoint(width / 2, depth / 2, height))::geometry;
END
$$;
COMMENT ON FUNCTION dtmv.footprint_box(double precision, double precision, double precision) IS
	'a footprint: a closed box (PolyhedralSurface Z) of width (x), depth (y) and height (z) metres, centred on the twin''s position and standing on it';

CREATE FUNCTION dtmv.place(twin dtmv.twin_id, space bigint, pos geometry,
						   orientation double precision[] DEFAULT NULL, footprint geometry DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, dtmv, pg_temp
AS $$
DECLARE
	p geometry := dtmv._require_point3d(pos);
	fp geometry := dtmv._require_footprint(footprint);
	o double precision[] := dtmv._require_orientation(orientation);
	s bigint;
	current_space bigint;
BEGIN
	s := dtmv._site_of(place.space);
	-- The twin's position row is locked first, so that the checks below see
	-- a concurrent move (and the rights it changed) rather than decide on
	-- the row it replaces; the twin's lock comes before it, as everywhere.
	PERFORM dtmv._lock_twin(twin);
	SELECT tp.space INTO current_space FROM dtmv.twin_positions tp WHERE tp.twin = place.twin FOR UPDATE;
	PERFORM dtmv._require_rights(twin, 'control');
	-- Where a twin is decides who holds rights on it through the spaces, so
	-- putting it in a space, or in another one, asks for more than moving it
	-- within its space: admin on the twin, and control on the space.
	IF place.space IS DISTINCT FROM current_space THEN
		PERFORM dtmv._require_rights(twin, 'admin');
		PERFORM dtmv._require_space_control(place.space, 'place twins in');
	END IF;
	INSERT INTO dtmv.twin_positions AS t (twin, site, space, position, cell, orientation, footprint)
	VALUES (twin, s, space, p, dtmv._cell(p), o, fp)
	ON CONFLICT ON CONSTRAINT twin_positions_pkey DO UPDATE
		SET site = excluded.site, space = excluded.space, position = excluded.position,
			cell = excluded.cell, orientation = coalesce(excluded.orientation, t.orientation),
			footprint = coalesce(excluded.footprint, t.footprint), moved_at = now();
END
$$;
COMMENT ON FUNCTION dtmv.place(dtmv.twin_id, bigint, geometry, double precision[], geometry) IS
	'put a twin in a space at a local PointZ (metres), with an optional orientation and footprint; control moves it within its space, putting it in a space takes admin on the twin and control on the space';

-- In C (src/spatial.c): robots call it many times a second.
CREATE FUNCTION dtmv.sync_location(twin dtmv.twin_id, pos geometry) RETURNS bigint
	AS 'MODULE_PATHNAME', 'dtmv_sync_location' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dtmv.sync_location(dtmv.twin_id, geometry) IS
	'a twin moved (by hand, or a robot by itself): store its new local PointZ and log a location event for its readers and worlds; returns the event''s entry number, the acknowledgement (scenario 7.3.2, REQ-MV-04)';

-- Services of 3rd-party systems, with a coverage area in a site: an outline
-- and a height range (REQ-MV-05).
CREATE TABLE dtmv.services (
	service_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	system_no integer NOT NULL REFERENCES dtmv.systems,
	name text NOT NULL CHECK (name <> ''),
	kind text NOT NULL,
	description text,
	site bigint REFERENCES dtmv.spaces ON DELETE CASCADE,
	area geometry(Polygon, 0),
	z_min double precision,
	z_max double precision,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	CHECK ((site IS NULL) = (area IS NULL)),
	CHECK (z_min IS NULL OR z_max IS NULL OR z_min < z_max)
);
CREATE INDEX services_area ON dtmv.services USING gist (site, area);
COMMENT ON TABLE dtmv.services IS
	'services offered by 3rd-party systems, optionally covering an area of a site between two heights (REQ-MV-05..07)';

CREATE FUNCTION dtmv.register_service(system_no integer, name text, kind text, site bigint DEFAULT NULL,
									  area geometry DEFAULT NULL, z_min double precision DEFAULT NULL,
									  z_max double precision DEFAULT NULL, description text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, dtmv, pg_temp
AS $$
DECLARE
	id bigint;
BEGIN
	PERFORM dtmv._require_admin_role('register services');
	IF area IS NOT NULL AND (ST_SRID(area) <> 0 OR GeometryType(area) <> 'POLYGON') THEN
		RAISE EXCEPTION 'a service area is a polygon in the site''s local frame (SRID 0)'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO dtmv.services (system_no, name, kind, site, area, z_min, z_max, description)
	VALUES (register_service.system_no, register_service.name, register_service.kind,
			(SELECT s.site FROM dtmv.spaces s WHERE s.space_id = register_service.site),
			ST_Force2D(register_service.area), register_service.z_min, register_service.z_max,
			register_service.description)
	RETURNING service_id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION dtmv.register_service(integer, text, text, bigint, geometry, double precision, double precision, text) IS
	'register a service of a 3rd-party system, with its coverage area (outline and heights) in a site; dtmv_admin only (REQ-MV-05)';

CREATE FUNCTION dtmv.services_at(space bigint, pos geometry)
RETURNS TABLE (service_id bigint, name text, kind text, system_no integer, description text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, dtmv, pg_temp
AS $$
DECLARE
	p geometry := dtmv._require_point3d(pos);
BEGIN
	PERFORM dtmv._require_subject();
	IF NOT dtmv._space_right(space, 0) THEN	-- discover
		RAISE EXCEPTION 'permission denied: discover right on space % is required', space
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'The services at a position are for the site''s creator and for subjects with discover on the space, a space above it, or system-wide.';
	END IF;
	RETURN QUERY
		SELECT v.service_id, v.name, v.kind, v.system_no, v.description
		  FROM dtmv.services v
		 WHERE v.site = (SELECT s.site FROM dtmv.spaces s WHERE s.space_id = services_at.space)
		   AND ST_Intersects(v.area, ST_Force2D(p))
		   AND ST_Z(p) >= coalesce(v.z_min, '-Infinity') AND ST_Z(p) <= coalesce(v.z_max, 'Infinity')
		 ORDER BY v.service_id;
END
$$;
COMMENT ON FUNCTION dtmv.services_at(bigint, geometry) IS
	'the services whose coverage area holds a position (outline and height range) (scenario 7.3.3, REQ-MV-05)';

-- Twins and services near a position, nearest first, exact in 3D, only the
-- twins the caller may discover. Twins: walk the 2D cells in distance order
-- (a lower bound of the 3D distance) and stop once that bound passes the
-- radius or the k-th best exact distance.
CREATE FUNCTION dtmv.localize(space bigint, pos geometry, radius double precision, k integer DEFAULT 10)
RETURNS TABLE (twin dtmv.twin_id, name text, kind text, distance double precision, service_id bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, dtmv, pg_temp
-- The loop reads only the first few rows of its ordered query, which the
-- planner costs as a walk of the whole site: keep JIT (which would compile
-- for 100 ms) out of it.
SET jit = off
AS $$
DECLARE
	p geometry := dtmv._require_point3d(pos);
	p2 geometry := ST_Force2D(p);
	s bigint;
	probe bigint[];
	veto bigint[];
	best double precision[] := '{}';
	ids dtmv.twin_id[] := '{}';
	c record;
	d double precision;
	i integer;
BEGIN
	SELECT x.probe, x.veto INTO probe, veto FROM dtmv._keys_for(dtmv.current_subjects()) x WHERE x.r = 0;
	IF radius IS NULL OR radius < 0 OR k IS NULL OR k < 1 THEN
		RAISE EXCEPTION 'radius must be >= 0 and k >= 1' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	s := dtmv._site_of(localize.space);
	FOR c IN
		-- (acl by a subquery, not a join, so that the plan stays a walk of
		-- the cell index in distance order, stopped as soon as we exit)
		SELECT t.twin, t.position, t.cell <-> p2 AS bound,
			   (SELECT r.acl FROM dtmv.twin_registry r WHERE r.id = t.twin) AS acl
		  FROM dtmv.twin_positions t
		 WHERE t.site = s
		 ORDER BY t.cell <-> p2
	LOOP
		EXIT WHEN c.bound > radius OR (cardinality(best) >= k AND c.bound > best[k]);
		CONTINUE WHEN NOT (c.acl && probe) OR c.acl && veto;
		d := ST_3DDistance(c.position, p);
		CONTINUE WHEN d > radius OR (cardinality(best) >= k AND d >= best[k]);
		-- insert into the sorted top k
		i := 1;
		WHILE i <= cardinality(best) AND best[i] <= d LOOP
			i := i + 1;
		END LOOP;
		best := (best[1:i - 1] || d || best[i:])[1:k];
		ids := (ids[1:i - 1] || c.twin || ids[i:])[1:k];
	END LOOP;
	RETURN QUERY
		SELECT x.id, r.name, r.kind, x.d, NULL::bigint
		  FROM unnest(ids, best) WITH ORDINALITY AS x(id, d, n)
		 CROSS JOIN LATERAL (SELECT g.name, g.kind FROM dtmv.twin_registry g WHERE g.id = x.id) r
		 ORDER BY x.n;
	IF dtmv._space_right(space, 0) THEN	-- discover
		RETURN QUERY
			SELECT NULL::dtmv.twin_id, v.name, 'service:' || v.kind, NULL::double precision, v.service_id
			  FROM dtmv.services_at(space, p) v;
	END IF;
END
$$;
COMMENT ON FUNCTION dtmv.localize(bigint, geometry, double precision, integer) IS
	'the k nearest twins within radius that the caller may discover, nearest first by exact 3D distance, then the services covering the position (scenario 7.3.3)';

-- Captures from devices (scenario 7.3.1) and the map built from them.
CREATE TABLE dtmv.captures (
	capture_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	space bigint NOT NULL REFERENCES dtmv.spaces ON DELETE CASCADE,
	device_position geometry(PointZ, 0) NOT NULL,
	orientation double precision[],
	media_uri text NOT NULL,
	serials text[] NOT NULL DEFAULT '{}',
	submitted_by bigint REFERENCES dtmv.subjects ON DELETE SET NULL,
	submitted_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	processed_at timestamptz
);
CREATE INDEX captures_unprocessed ON dtmv.captures (space, capture_id) WHERE processed_at IS NULL;
COMMENT ON TABLE dtmv.captures IS
	'what devices upload to build a spatial map: media, the device''s position and orientation, serial numbers seen (scenario 7.3.1)';

CREATE FUNCTION dtmv.submit_capture(space bigint, pos geometry, media_uri text, serials text[] DEFAULT '{}',
									orientation double precision[] DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, dtmv, pg_temp
AS $$
DECLARE
	p geometry := dtmv._require_point3d(pos, 'device position');
	id bigint;
BEGIN
	PERFORM dtmv._site_of(submit_capture.space);
	PERFORM dtmv._require_space_control(submit_capture.space, 'map');
	INSERT INTO dtmv.captures (space, device_position, orientation, media_uri, serials, submitted_by)
	VALUES (space, p, dtmv._require_orientation(orientation), media_uri, coalesce(serials, '{}'), dtmv._require_subject())
	RETURNING capture_id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION dtmv.submit_capture(bigint, geometry, text, text[], double precision[]) IS
	'a device uploads a capture: media reference, its position (local PointZ) and orientation, serial numbers seen (scenario 7.3.1)';

-- Turn a space's new captures into twins: a serial bound to a twin places
-- that twin at the capture (if the submitter may control it); an unknown
-- serial becomes a new twin of kind 'unconfirmed', owned by the submitter,
-- pending confirmation. Returns how many twins were placed or created.
CREATE FUNCTION dtmv.build_map(space bigint) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, dtmv, pg_temp
AS $$
DECLARE
	cap record;
	serial text;
	t dtmv.twin_id;
	n integer := 0;
BEGIN
	PERFORM dtmv._site_of(build_map.space);	-- 42704 for no such space
	PERFORM dtmv._require_space_control(build_map.space, 'map');
	FOR cap IN SELECT * FROM dtmv.captures c
				WHERE c.space = build_map.space AND c.processed_at IS NULL
				  AND c.submitted_by = dtmv._require_subject()
				ORDER BY c.capture_id FOR UPDATE LOOP
		FOREACH serial IN ARRAY cap.serials LOOP
			SELECT s.twin INTO t FROM dtmv.twin_states s WHERE s.physical_binding = serial;
			IF t IS NULL THEN
				t := dtmv.create_twin('unconfirmed', 'Unconfirmed ' || serial,
									  jsonb_build_object('capture', cap.capture_id, 'media', cap.media_uri),
									  physical_binding => serial);
			ELSIF NOT dtmv.has_right(t, 'control')
				  OR (NOT dtmv.has_right(t, 'admin') AND cap.space IS DISTINCT FROM
					  (SELECT p.space FROM dtmv.twin_positions p WHERE p.twin = t)) THEN
				CONTINUE;	-- seen, but not the submitter's to move (or to move to this space)
			END IF;
			PERFORM dtmv.place(t, cap.space, cap.device_position);
			n := n + 1;
		END LOOP;
		UPDATE dtmv.captures c SET processed_at = now() WHERE c.capture_id = cap.capture_id;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION dtmv.build_map(bigint) IS
	'turn the caller''s new captures of a space into twins placed in it (known serials) or new unconfirmed twins (unknown serials) (scenario 7.3.1)';

CREATE FUNCTION dtmv.confirm_twin(twin dtmv.twin_id, kind text, name text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._lock_twin_for(twin, 'control');	-- the twin's lock before its rows
	IF NOT EXISTS (SELECT 1 FROM dtmv.twin_registry t WHERE t.id = confirm_twin.twin AND t.kind = 'unconfirmed') THEN
		RAISE EXCEPTION 'twin % is not pending confirmation', twin USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	UPDATE dtmv.twin_registry t SET kind = confirm_twin.kind, name = confirm_twin.name, updated_at = now()
	 WHERE t.id = confirm_twin.twin;
END
$$;
COMMENT ON FUNCTION dtmv.confirm_twin(dtmv.twin_id, text, text) IS
	'confirm a twin that build_map created for an unknown serial: give it its kind and name; needs control (scenario 7.3.1)';

CREATE FUNCTION dtmv.spatial_map(space bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, dtmv, pg_temp
AS $$
DECLARE
	s bigint;
	probe bigint[];
	veto bigint[];
BEGIN
	s := dtmv._site_of(spatial_map.space);
	SELECT x.probe, x.veto INTO probe, veto FROM dtmv._keys_for(dtmv.current_subjects()) x WHERE x.r = 0;
	RETURN jsonb_build_object(
		'type', 'FeatureCollection',
		'space', space,
		'features', coalesce((
			SELECT jsonb_agg(jsonb_build_object(
					   'type', 'Feature',
					   'id', r.id,
					   'geometry', ST_AsGeoJSON(t.position)::jsonb,
					   'properties', jsonb_build_object('name', r.name, 'kind', r.kind, 'space', t.space,
														'moved_at', t.moved_at))
					   ORDER BY r.id)
			  FROM dtmv.twin_positions t JOIN dtmv.twin_registry r ON r.id = t.twin
			 WHERE t.site = s
			   AND (t.space = spatial_map.space OR spatial_map.space = s
					OR t.space IN (SELECT x.space_id FROM dtmv.spaces x WHERE x.parent = spatial_map.space))
			   AND r.acl && probe AND NOT r.acl && veto), '[]'));
END
$$;
COMMENT ON FUNCTION dtmv.spatial_map(bigint) IS
	'the 3D spatial map of a space as a GeoJSON FeatureCollection (PointZ, local metres), only the twins the caller may discover (scenarios 7.3.1, 7.3.2)';

GRANT SELECT ON dtmv.spaces, dtmv.services, dtmv.twin_positions, dtmv.captures TO dtmv_user;
ALTER TABLE dtmv.spaces ENABLE ROW LEVEL SECURITY;
CREATE POLICY spaces_directory ON dtmv.spaces FOR SELECT TO dtmv_user USING (true);
COMMENT ON POLICY spaces_directory ON dtmv.spaces IS 'the directory of spaces is readable by every dtmv user';
ALTER TABLE dtmv.services ENABLE ROW LEVEL SECURITY;
CREATE POLICY services_directory ON dtmv.services FOR SELECT TO dtmv_user USING (true);
COMMENT ON POLICY services_directory ON dtmv.services IS 'the services on offer are readable by every dtmv user (REQ-MV-05)';
ALTER TABLE dtmv.twin_positions ENABLE ROW LEVEL SECURITY;
CREATE POLICY twin_positions_discover ON dtmv.twin_positions FOR SELECT TO dtmv_user
	USING (EXISTS (SELECT 1 FROM dtmv.twins t WHERE t.id = twin));
COMMENT ON POLICY twin_positions_discover ON dtmv.twin_positions IS 'where a twin is, is visible with discover on it';
ALTER TABLE dtmv.captures ENABLE ROW LEVEL SECURITY;
CREATE POLICY captures_own ON dtmv.captures FOR SELECT TO dtmv_user
	USING (submitted_by = (SELECT dtmv.current_subject()));
COMMENT ON POLICY captures_own ON dtmv.captures IS 'a subject sees its own captures';

SELECT pg_catalog.pg_extension_config_dump('dtmv.spaces', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.spaces_space_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.twin_positions', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.services', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.services_service_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.captures', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.captures_capture_id_seq', '');
-- 3rd parties and commerce: orders with a state machine, bills of materials
-- compared with the inventory twins of a space, and binding a delivered
-- product to its design (scenarios 7.1.1, 7.1.2; REQ-MV-06, REQ-MV-07,
-- REQ-SI-03, REQ-SI-04). Services come from 90_spatial.sql. See
-- docs/third-parties.md.

-- Units, by dimension, with the factor to the dimension's base unit.
CREATE TABLE dtmv.units (
	unit text PRIMARY KEY,
	dimension text NOT NULL CHECK (dimension IN ('mass', 'volume', 'count')),
	factor numeric NOT NULL CHECK (factor > 0)
);
INSERT INTO dtmv.units VALUES
	('mg', 'mass', 0.001), ('g', 'mass', 1), ('kg', 'mass', 1000),
	('ml', 'volume', 1), ('cl', 'volume', 10), ('dl', 'volume', 100), ('l', 'volume', 1000),
	('pc', 'count', 1), ('piece', 'count', 1), ('pieces', 'count', 1);
COMMENT ON TABLE dtmv.units IS 'units of quantities and how they convert (g/kg, ml/l, pieces)';

CREATE FUNCTION dtmv.convert_quantity(quantity numeric, from_unit text, to_unit text) RETURNS numeric
LANGUAGE plpgsql STABLE STRICT
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	f record;
	t record;
BEGIN
	SELECT * INTO f FROM dtmv.units u WHERE u.unit = lower(from_unit);
	SELECT * INTO t FROM dtmv.units u WHERE u.unit = lower(to_unit);
	IF f IS NULL OR t IS NULL THEN
		RAISE EXCEPTION 'unknown unit "%"', CASE WHEN f IS NULL THEN from_unit ELSE to_unit END
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Units: ' || (SELECT string_agg(u.unit, ', ' ORDER BY u.dimension, u.factor) FROM dtmv.units u) || '.';
	END IF;
	IF f.dimension <> t.dimension THEN
		RAISE EXCEPTION 'cannot convert % (%) to % (%)', from_unit, f.dimension, to_unit, t.dimension
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN quantity * f.factor / t.factor;
END
$$;
COMMENT ON FUNCTION dtmv.convert_quantity(numeric, text, text) IS
	'a quantity in another unit of the same dimension (NULL for NULL); 22023 for an unknown unit or another dimension';

-- Bills of materials: a recipe, furniture instructions; each line a kind of item.
CREATE TABLE dtmv.boms (
	bom_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name text NOT NULL CHECK (name <> ''),
	kind text NOT NULL DEFAULT 'recipe' CHECK (kind IN ('recipe', 'instructions')),
	servings integer NOT NULL DEFAULT 1 CHECK (servings > 0),
	created_by bigint REFERENCES dtmv.subjects ON DELETE SET NULL,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE TABLE dtmv.bom_lines (
	bom_id bigint NOT NULL REFERENCES dtmv.boms ON DELETE CASCADE,
	item text NOT NULL CHECK (item <> ''),
	quantity numeric NOT NULL CHECK (quantity > 0 AND quantity < 'Infinity'),	-- NaN sorts above Infinity
	unit text NOT NULL REFERENCES dtmv.units,
	PRIMARY KEY (bom_id, item)
);
COMMENT ON TABLE dtmv.boms IS 'bills of materials: recipes and instructions, for a number of servings (scenario 7.1.2)';
COMMENT ON TABLE dtmv.bom_lines IS 'what a bill of materials needs: a kind of item, a quantity and a unit';

CREATE FUNCTION dtmv.create_bom(name text, lines jsonb, kind text DEFAULT 'recipe', servings integer DEFAULT 1)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	id bigint;
BEGIN
	IF jsonb_typeof(lines) IS DISTINCT FROM 'array' OR jsonb_array_length(lines) = 0 THEN
		RAISE EXCEPTION 'lines are a non-empty JSON array of {"item", "quantity", "unit"}'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO dtmv.boms (name, kind, servings, created_by)
		VALUES (create_bom.name, create_bom.kind, create_bom.servings, dtmv._require_subject())
		RETURNING bom_id INTO id;
	INSERT INTO dtmv.bom_lines (bom_id, item, quantity, unit)
	SELECT id, l ->> 'item', (l ->> 'quantity')::numeric, lower(l ->> 'unit')
	  FROM jsonb_array_elements(lines) l;
	RETURN id;
END
$$;
COMMENT ON FUNCTION dtmv.create_bom(text, jsonb, text, integer) IS
	'a bill of materials from [{"item", "quantity", "unit"}, ...], for a number of servings (scenario 7.1.2)';

-- What a bill of materials needs that the inventory of a space lacks. The
-- inventory is the twins placed in the space (or below it) that the caller
-- may read, whose properties say {"item", "quantity", "unit"}.
CREATE FUNCTION dtmv.missing_items(bom bigint, space bigint, servings integer DEFAULT NULL)
RETURNS TABLE (item text, needed numeric, have numeric, missing numeric, unit text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, dtmv, pg_temp
AS $$
DECLARE
	b record;
	probe bigint[];
	veto bigint[];
BEGIN
	SELECT x.probe, x.veto INTO probe, veto FROM dtmv._keys_for(dtmv.current_subjects()) x WHERE x.r = 1;	-- read
	SELECT * INTO b FROM dtmv.boms x WHERE x.bom_id = missing_items.bom;
	IF b IS NULL THEN
		RAISE EXCEPTION 'bill of materials % does not exist', bom USING ERRCODE = 'undefined_object';
	END IF;
	IF coalesce(servings, b.servings) <= 0 THEN
		RAISE EXCEPTION 'servings must be positive' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN QUERY
		WITH need AS (
			SELECT l.item, l.quantity * coalesce(servings, b.servings) / b.servings AS qty, l.unit
			  FROM dtmv.bom_lines l WHERE l.bom_id = b.bom_id
		), stock AS (
			-- A twin whose quantity is not a number or whose unit is unknown or
			-- of another dimension counts for nothing rather than failing the call.
			SELECT n.item, coalesce(sum(CASE WHEN jsonb_typeof(r.properties -> 'quantity') = 'number'
											  AND EXISTS (SELECT 1 FROM dtmv.units f JOIN dtmv.units t USING (dimension)
														   WHERE f.unit = lower(r.properties ->> 'unit') AND t.unit = n.unit)
										 THEN dtmv.convert_quantity((r.properties ->> 'quantity')::numeric,
																	r.properties ->> 'unit', n.unit) END), 0) AS qty
			  FROM need n
			  LEFT JOIN (dtmv.twin_positions p JOIN dtmv.twin_registry r ON r.id = p.twin)
				ON r.properties ->> 'item' = n.item
			   AND p.space IN (SELECT d.space_id FROM dtmv.spaces d	-- the space and those below it
								WHERE missing_items.space IN (SELECT a.space_id FROM dtmv._space_ancestry(d.space_id) a))
			   AND r.acl && probe AND NOT r.acl && veto
			 GROUP BY n.item
		)
		SELECT n.item, round(n.qty, 6), round(s.qty, 6), round(greatest(n.qty - s.qty, 0), 6), n.unit
		  FROM need n JOIN stock s USING (item)
		 WHERE round(n.qty - s.qty, 6) > 0	-- what it shows, so that a shortfall shown is never 0
		 ORDER BY n.item;
END
$$;
COMMENT ON FUNCTION dtmv.missing_items(bigint, bigint, integer) IS
	'what a bill of materials (scaled to servings) needs beyond the inventory twins of a space the caller may read, with unit conversion (scenario 7.1.2)';

-- Orders.
CREATE TABLE dtmv.orders (
	order_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	service_id bigint NOT NULL REFERENCES dtmv.services,
	customer bigint NOT NULL REFERENCES dtmv.subjects,
	request_key text NOT NULL,
	status text NOT NULL DEFAULT 'placed'
		CHECK (status IN ('placed', 'confirmed', 'in_production', 'shipped', 'delivered', 'cancelled', 'rejected')),
	delivery jsonb NOT NULL DEFAULT '{}',
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	UNIQUE (customer, request_key)
);
CREATE INDEX orders_service ON dtmv.orders (service_id, order_id);
CREATE TABLE dtmv.order_items (
	order_id bigint NOT NULL REFERENCES dtmv.orders ON DELETE CASCADE,
	line integer NOT NULL,
	design dtmv.twin_id REFERENCES dtmv.twin_registry,
	item text,
	quantity numeric NOT NULL DEFAULT 1 CHECK (quantity > 0 AND quantity < 'Infinity'),	-- NaN sorts above Infinity
	unit text NOT NULL DEFAULT 'pc' REFERENCES dtmv.units,
	PRIMARY KEY (order_id, line),
	CHECK ((design IS NULL) <> (item IS NULL))
);
COMMENT ON TABLE dtmv.orders IS
	'orders placed by users with a 3rd-party service; request_key makes placing idempotent (REQ-MV-07, REQ-SI-03)';
COMMENT ON TABLE dtmv.order_items IS 'what an order is for: a design twin (scenario 7.1.1) or a catalogue item with a quantity and unit (7.1.2)';

-- Who may move an order from one status to another: the customer or the
-- provider (the subject operating the service's system).
CREATE TABLE dtmv.order_transitions (
	from_status text NOT NULL,
	to_status text NOT NULL,
	party text NOT NULL CHECK (party IN ('customer', 'provider')),
	PRIMARY KEY (from_status, to_status)
);
INSERT INTO dtmv.order_transitions VALUES
	('placed', 'confirmed', 'provider'), ('placed', 'rejected', 'provider'),
	('placed', 'cancelled', 'customer'), ('confirmed', 'cancelled', 'customer'),
	('confirmed', 'in_production', 'provider'), ('confirmed', 'shipped', 'provider'),
	('in_production', 'shipped', 'provider'), ('shipped', 'delivered', 'provider');
COMMENT ON TABLE dtmv.order_transitions IS 'the order state machine: allowed transitions and the party that makes each';

CREATE FUNCTION dtmv._order_event(order_id bigint, kind text) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	o record;
BEGIN
	SELECT * INTO o FROM dtmv.orders x WHERE x.order_id = _order_event.order_id;
	RETURN dtmv._append_event(NULL, o.customer, kind,
							  jsonb_build_object('order', o.order_id, 'status', o.status, 'service', o.service_id));
END
$$;
COMMENT ON FUNCTION dtmv._order_event(bigint, text) IS 'internal: tell the customer about an order, as an event addressed to it';

-- A delivery is {"address": text, "space": id, "position": [x, y, z]}, each
-- optional. Checked when the order is placed, so that delivering it cannot
-- fail later: the space must exist and the customer control it (delivered
-- items become twins placed there), the position be three numbers.
CREATE FUNCTION dtmv._require_delivery(delivery jsonb) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	IF delivery IS NULL THEN
		RETURN;
	END IF;
	IF jsonb_typeof(delivery) <> 'object' THEN
		RAISE EXCEPTION 'a delivery is a JSON object {"address", "space", "position"}'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF delivery ? 'space' THEN
		IF jsonb_typeof(delivery -> 'space') IS DISTINCT FROM 'number' OR (delivery ->> 'space') !~ '^[0-9]{1,18}$' THEN
			RAISE EXCEPTION 'a delivery''s space is a space id' USING ERRCODE = 'invalid_parameter_value';
		END IF;
		PERFORM dtmv._site_of((delivery ->> 'space')::bigint);	-- 42704 for no such space
		PERFORM dtmv._require_space_control((delivery ->> 'space')::bigint, 'have things delivered into');
	END IF;
	IF delivery ? 'position' AND (jsonb_typeof(delivery -> 'position') IS DISTINCT FROM 'array'
								  OR jsonb_array_length(delivery -> 'position') <> 3
								  OR EXISTS (SELECT 1 FROM jsonb_array_elements(delivery -> 'position') e
											  WHERE jsonb_typeof(e) <> 'number' OR abs(e::text::numeric) > 1e7)) THEN
		RAISE EXCEPTION 'a delivery''s position is [x, y, z] in metres in the space''s site frame'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
END
$$;
COMMENT ON FUNCTION dtmv._require_delivery(jsonb) IS
	'internal: 22023 for a malformed delivery, 42704 for no such space, 42501 without control on it';

CREATE FUNCTION dtmv.place_order(service bigint, items jsonb, request_key text, delivery jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	me bigint := dtmv._require_subject();
	id bigint;
	it jsonb;
	n integer := 0;
BEGIN
	IF request_key IS NULL OR request_key = '' THEN
		RAISE EXCEPTION 'a request key is required, so that a retried order is not placed twice'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT o.order_id INTO id FROM dtmv.orders o WHERE o.customer = me AND o.request_key = place_order.request_key;
	IF id IS NOT NULL THEN
		RETURN id;	-- the same request again: the same order
	END IF;
	IF NOT EXISTS (SELECT 1 FROM dtmv.services v WHERE v.service_id = service) THEN
		RAISE EXCEPTION 'service % does not exist', service USING ERRCODE = 'undefined_object';
	END IF;
	IF jsonb_typeof(items) IS DISTINCT FROM 'array' OR jsonb_array_length(items) = 0 THEN
		RAISE EXCEPTION 'items are a non-empty JSON array of {"design"} or {"item", "quantity", "unit"}'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM dtmv._require_delivery(delivery);
	-- A retry racing the first call waits for it here, then finds its order.
	INSERT INTO dtmv.orders AS o (service_id, customer, request_key, delivery)
		VALUES (service, me, request_key, coalesce(delivery, '{}'))
		ON CONFLICT ON CONSTRAINT orders_customer_request_key_key DO NOTHING
		RETURNING o.order_id INTO id;
	IF id IS NULL THEN
		SELECT o.order_id INTO STRICT id FROM dtmv.orders o WHERE o.customer = me AND o.request_key = place_order.request_key;
		RETURN id;
	END IF;
	FOR it IN SELECT * FROM jsonb_array_elements(items) LOOP
		n := n + 1;
		IF it ? 'design' THEN
			PERFORM dtmv._require_rights((it ->> 'design')::dtmv.twin_id, 'admin');
		END IF;
		INSERT INTO dtmv.order_items (order_id, line, design, item, quantity, unit)
			VALUES (id, n, (it ->> 'design')::dtmv.twin_id, it ->> 'item',
					coalesce((it ->> 'quantity')::numeric, 1), lower(coalesce(it ->> 'unit', 'pc')));
	END LOOP;
	PERFORM dtmv._order_event(id, 'order_placed');
	RETURN id;
END
$$;
COMMENT ON FUNCTION dtmv.place_order(bigint, jsonb, text, jsonb) IS
	'order from a 3rd-party service: designs the caller administers, or catalogue items; the same request_key again returns the same order (REQ-MV-07)';

-- Delivered catalogue items become inventory twins of the customer, in the
-- space the delivery names ({"space": id, "position": [x, y, z]}).
CREATE FUNCTION dtmv._stock_delivery(order_id bigint) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, public, dtmv, pg_temp
AS $$
DECLARE
	o record;
	i record;
	target bigint;
	pos geometry;
	t dtmv.twin_id;
	n integer := 0;
BEGIN
	SELECT * INTO o FROM dtmv.orders x WHERE x.order_id = _stock_delivery.order_id;
	target := (o.delivery ->> 'space')::bigint;
	IF target IS NULL OR NOT EXISTS (SELECT 1 FROM dtmv.spaces s WHERE s.space_id = target) THEN
		RETURN 0;	-- delivered elsewhere than a mapped space
	END IF;
	IF NOT dtmv._space_right(target, 4, dtmv._subjects_of(o.customer)) THEN
		RETURN 0;	-- the customer no longer controls that space: delivered, and no inventory twin is made
	END IF;
	pos := ST_MakePoint(coalesce((o.delivery -> 'position' ->> 0)::float8, 0),
						coalesce((o.delivery -> 'position' ->> 1)::float8, 0),
						coalesce((o.delivery -> 'position' ->> 2)::float8, 0));
	FOR i IN SELECT * FROM dtmv.order_items x WHERE x.order_id = o.order_id AND x.item IS NOT NULL ORDER BY x.line LOOP
		t := dtmv._new_twin(o.customer, 'inventory', i.item,
							jsonb_build_object('item', i.item, 'quantity', i.quantity, 'unit', i.unit,
											   'order', o.order_id));
		INSERT INTO dtmv.twin_positions (twin, site, space, position, cell)
		VALUES (t, (SELECT s.site FROM dtmv.spaces s WHERE s.space_id = target), target, pos, dtmv._cell(pos));
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION dtmv._stock_delivery(bigint) IS
	'internal: delivered catalogue items become inventory twins of the customer in the delivery''s space (scenario 7.1.2)';

-- The parts the acting subject plays in an order: 'customer', 'provider'
-- (the operator of the service's system), or both; 42501 if none, so that
-- an order one is not party to looks like one that does not exist.
CREATE FUNCTION dtmv._order_parties(order_id bigint) RETURNS text[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	subs bigint[] := dtmv.current_subjects();
	parties text[];
BEGIN
	SELECT array_remove(ARRAY[CASE WHEN o.customer = ANY (subs) THEN 'customer' END,
							  CASE WHEN s.operator_subject = ANY (subs) THEN 'provider' END], NULL)
	  INTO parties
	  FROM dtmv.orders o JOIN dtmv.services v USING (service_id) JOIN dtmv.systems s ON s.system_no = v.system_no
	 WHERE o.order_id = _order_parties.order_id;
	IF coalesce(cardinality(parties), 0) = 0 THEN
		RAISE EXCEPTION 'permission denied: order % is neither yours nor your service''s', order_id
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN parties;
END
$$;
COMMENT ON FUNCTION dtmv._order_parties(bigint) IS
	'internal: customer and/or provider, the parts the acting subject plays in an order; 42501 if none';

CREATE FUNCTION dtmv.advance_order(order_id bigint, status text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	parties text[] := dtmv._order_parties(order_id);
	o record;
	party text;
BEGIN
	IF status IS NULL THEN
		RAISE EXCEPTION 'a status is required' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT * INTO o FROM dtmv.orders x WHERE x.order_id = advance_order.order_id FOR UPDATE;
	IF o.status = advance_order.status THEN
		RETURN;	-- already there: a retried step changes nothing
	END IF;
	SELECT t.party INTO party FROM dtmv.order_transitions t
	 WHERE t.from_status = o.status AND t.to_status = advance_order.status;
	IF party IS NULL THEN
		RAISE EXCEPTION 'an order cannot go from % to %', o.status, status
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = coalesce('From ' || o.status || ' it can go to: '
								  || (SELECT string_agg(t.to_status || ' (' || t.party || ')', ', ' ORDER BY t.to_status)
										FROM dtmv.order_transitions t WHERE t.from_status = o.status) || '.',
								  'It is final.');
	END IF;
	IF NOT party = ANY (parties) THEN
		RAISE EXCEPTION 'permission denied: only the % moves an order from % to %', party, o.status, status
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	UPDATE dtmv.orders x SET status = advance_order.status, updated_at = now() WHERE x.order_id = advance_order.order_id;
	IF advance_order.status = 'delivered' THEN
		PERFORM dtmv._stock_delivery(order_id);
	END IF;
	PERFORM dtmv._order_event(order_id, 'order_' || status);
END
$$;
COMMENT ON FUNCTION dtmv.advance_order(bigint, text) IS
	'move an order along its state machine (dtmv.order_transitions), by the party allowed to; each step is an event to the customer';

CREATE FUNCTION dtmv.order_missing(bom bigint, space bigint, service bigint, request_key text,
								   servings integer DEFAULT NULL, delivery jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	items jsonb;
BEGIN
	SELECT jsonb_agg(jsonb_build_object('item', m.item, 'quantity', m.missing, 'unit', m.unit) ORDER BY m.item)
	  INTO items FROM dtmv.missing_items(bom, space, servings) m;
	IF items IS NULL THEN
		RETURN NULL;	-- nothing is missing
	END IF;
	RETURN dtmv.place_order(service, items, request_key, delivery);
END
$$;
COMMENT ON FUNCTION dtmv.order_missing(bigint, bigint, bigint, text, integer, jsonb) IS
	'order, in one call, what a bill of materials needs beyond a space''s inventory; NULL if nothing is missing (scenario 7.1.2)';

-- What a party to an order may know of it: for the provider, the design it
-- must build and the delivery address, and nothing else of the customer's
-- twins (REQ-SI-04).
CREATE FUNCTION dtmv.order_details(order_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	o record;
BEGIN
	PERFORM dtmv._order_parties(order_id);
	SELECT * INTO o FROM dtmv.orders x WHERE x.order_id = order_details.order_id;
	RETURN jsonb_build_object(
		'order', o.order_id, 'service', o.service_id, 'status', o.status, 'delivery', o.delivery,
		'items', (SELECT jsonb_agg(CASE WHEN i.design IS NULL
										THEN jsonb_build_object('item', i.item, 'quantity', i.quantity, 'unit', i.unit)
										ELSE jsonb_build_object('design', i.design, 'name', t.name, 'kind', t.kind,
																'properties', t.properties, 'model_uri', t.model_uri,
																'quantity', i.quantity) END
								   ORDER BY i.line)
					FROM dtmv.order_items i LEFT JOIN dtmv.twin_registry t ON t.id = i.design
				   WHERE i.order_id = o.order_id));
END
$$;
COMMENT ON FUNCTION dtmv.order_details(bigint) IS
	'an order as its customer or provider may know it: items, and for designs what must be built (name, properties, 3D model) (REQ-SI-04)';

CREATE FUNCTION dtmv.bind_product(design dtmv.twin_id, serial text) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._lock_twin_for(design, 'admin');	-- the twin's lock before its rows
	IF NOT EXISTS (SELECT 1 FROM dtmv.orders o JOIN dtmv.order_items i USING (order_id)
					WHERE i.design = bind_product.design AND o.status = 'delivered'
					  AND o.customer = ANY (dtmv.current_subjects())) THEN
		RAISE EXCEPTION 'design % has not been delivered to you', design
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'A design is bound to its product once an order for it is delivered.';
	END IF;
	UPDATE dtmv.twin_states s SET physical_binding = serial WHERE s.twin = bind_product.design;
	RETURN dtmv._append_event(design, NULL, 'product_bound', jsonb_build_object('serial', serial));
END
$$;
COMMENT ON FUNCTION dtmv.bind_product(dtmv.twin_id, text) IS
	'bind the delivered physical product (its serial number) to the design it was made from, which from then on is its twin (scenario 7.1.1); returns the event''s entry number';

GRANT SELECT ON dtmv.units, dtmv.boms, dtmv.bom_lines, dtmv.orders, dtmv.order_items, dtmv.order_transitions TO dtmv_user;
ALTER TABLE dtmv.units ENABLE ROW LEVEL SECURITY;
CREATE POLICY units_public ON dtmv.units FOR SELECT TO dtmv_user USING (true);
COMMENT ON POLICY units_public ON dtmv.units IS 'units are public';
ALTER TABLE dtmv.order_transitions ENABLE ROW LEVEL SECURITY;
CREATE POLICY order_transitions_public ON dtmv.order_transitions FOR SELECT TO dtmv_user USING (true);
COMMENT ON POLICY order_transitions_public ON dtmv.order_transitions IS 'the state machine is public';
ALTER TABLE dtmv.boms ENABLE ROW LEVEL SECURITY;
CREATE POLICY boms_public ON dtmv.boms FOR SELECT TO dtmv_user USING (true);
COMMENT ON POLICY boms_public ON dtmv.boms IS 'recipes and instructions are public';
ALTER TABLE dtmv.bom_lines ENABLE ROW LEVEL SECURITY;
CREATE POLICY bom_lines_public ON dtmv.bom_lines FOR SELECT TO dtmv_user USING (true);
COMMENT ON POLICY bom_lines_public ON dtmv.bom_lines IS 'recipes and instructions are public';
-- A customer sees its orders; a 3rd party sees the orders of its services,
-- and nothing else of the customer (REQ-SI-04).
ALTER TABLE dtmv.orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY orders_parties ON dtmv.orders FOR SELECT TO dtmv_user
	USING (customer = ANY ((SELECT dtmv.current_subjects())::bigint[])
		   OR EXISTS (SELECT 1 FROM dtmv.services v JOIN dtmv.systems s ON s.system_no = v.system_no
					   WHERE v.service_id = orders.service_id
						 AND s.operator_subject = ANY ((SELECT dtmv.current_subjects())::bigint[])));
COMMENT ON POLICY orders_parties ON dtmv.orders IS 'an order is visible to its customer and to the operator of its service';
ALTER TABLE dtmv.order_items ENABLE ROW LEVEL SECURITY;
CREATE POLICY order_items_parties ON dtmv.order_items FOR SELECT TO dtmv_user
	USING (EXISTS (SELECT 1 FROM dtmv.orders o WHERE o.order_id = order_items.order_id));
COMMENT ON POLICY order_items_parties ON dtmv.order_items IS 'the items of the orders one may see';

SELECT pg_catalog.pg_extension_config_dump('dtmv.boms', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.boms_bom_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.bom_lines', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.orders', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.orders_order_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.order_items', '');
-- Function privileges, for every function of every file above. Nothing of
-- dtmv is executable by PUBLIC except what the twin_id type needs.
REVOKE ALL ON ALL TABLES IN SCHEMA dtmv FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA dtmv FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA dtmv TO dtmv_user;
-- Internal functions (names starting with an underscore) serve dtmv's own
-- functions, which run as the extension owner; clients call none of them.
-- Some would tell a client about other subjects (who reads a twin, what
-- rights another subject holds) and some take locks: none is theirs to call.
-- (The acting-subject setter checks dtmv_gateway itself, in C, as well.)
DO $$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
			  WHERE p.pronamespace = 'dtmv'::regnamespace AND p.proname LIKE '\_%'
				AND p.prokind = 'f' LOOP
		EXECUTE pg_catalog.format('REVOKE EXECUTE ON FUNCTION %s FROM dtmv_user', f);
	END LOOP;
END
$$;
-- Row-level security policies call these as the querying role.
GRANT EXECUTE ON FUNCTION dtmv._effective_rights(dtmv.twin_id), dtmv._outer_has_role(text) TO dtmv_user;
-- Type I/O and operator support must stay callable by anyone using the type.
GRANT EXECUTE ON FUNCTION
	dtmv.twin_id_in(cstring), dtmv.twin_id_out(dtmv.twin_id),
	dtmv.twin_id_recv(internal), dtmv.twin_id_send(dtmv.twin_id),
	dtmv.twin_id_eq(dtmv.twin_id, dtmv.twin_id), dtmv.twin_id_ne(dtmv.twin_id, dtmv.twin_id),
	dtmv.twin_id_lt(dtmv.twin_id, dtmv.twin_id), dtmv.twin_id_le(dtmv.twin_id, dtmv.twin_id),
	dtmv.twin_id_gt(dtmv.twin_id, dtmv.twin_id), dtmv.twin_id_ge(dtmv.twin_id, dtmv.twin_id),
	dtmv.twin_id_cmp(dtmv.twin_id, dtmv.twin_id), dtmv.twin_id_sortsupport(internal),
	dtmv.twin_id_hash(dtmv.twin_id), dtmv.twin_id_hash_extended(dtmv.twin_id, bigint),
	dtmv.twin_id(uuid), dtmv.twin_system(dtmv.twin_id), dtmv.twin_created_at(dtmv.twin_id),
	dtmv.twin_id_smaller(dtmv.twin_id, dtmv.twin_id), dtmv.twin_id_larger(dtmv.twin_id, dtmv.twin_id)
	TO PUBLIC;
-- Called by CHECK constraints, which check EXECUTE as whoever writes the row.
GRANT EXECUTE ON FUNCTION dtmv._is_identifier(text) TO PUBLIC;

