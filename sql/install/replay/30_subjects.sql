-- Subjects: who holds rights (REQ-DT-05). A user, a system (metaverse, twin
-- or 3rd-party service) or a group of subjects.

-- The acting subject, in C (src/actor.c): no GUC is involved.
CREATE OR REPLACE FUNCTION dtmv._set_acting_subject(subject bigint) RETURNS void
	AS 'MODULE_PATHNAME', 'dtmv_set_acting_subject' LANGUAGE C PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._set_acting_subject(bigint) IS
	'internal: act as a subject until the end of the transaction; checks dtmv_gateway and the subject''s delegation itself';

CREATE OR REPLACE FUNCTION dtmv._acting_rights() RETURNS integer
	AS 'MODULE_PATHNAME', 'dtmv_acting_rights' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._acting_rights() IS
	'internal: the rights mask the acting subject may use: all, or what a user delegated to the service acting for her';

CREATE OR REPLACE FUNCTION dtmv._outer_role() RETURNS oid
	AS 'MODULE_PATHNAME', 'dtmv_outer_role' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._outer_role() IS
	'internal: the role in effect outside any SECURITY DEFINER function';

CREATE OR REPLACE FUNCTION dtmv._outer_has_role(role text) RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_outer_has_role' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._outer_has_role(text) IS
	'internal: whether the role outside any SECURITY DEFINER function has the privileges of a role';

-- Who is acting, and the groups it belongs to, in C (src/rights.c): they
-- run inside every rights check. They read dtmv.subjects and
-- dtmv.group_members directly, as the extension owner would.
CREATE OR REPLACE FUNCTION dtmv.current_subject() RETURNS bigint
	AS 'MODULE_PATHNAME', 'dtmv_current_subject' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv.current_subject() IS
	'the subject this statement acts as: the one set by dtmv.act_as(), else the one mapped to the current role, else NULL';

CREATE OR REPLACE FUNCTION dtmv._subjects_of(subject bigint) RETURNS bigint[]
	AS 'MODULE_PATHNAME', 'dtmv_subjects_of' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION dtmv._subjects_of(bigint) IS 'internal: a subject and all groups it belongs to, transitively; empty for NULL';

CREATE OR REPLACE FUNCTION dtmv.current_subjects() RETURNS bigint[]
	AS 'MODULE_PATHNAME', 'dtmv_current_subjects' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv.current_subjects() IS
	'the acting subject and all groups it belongs to, transitively';

CREATE OR REPLACE FUNCTION dtmv.whoami() RETURNS text
LANGUAGE sql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
	SELECT name FROM dtmv.subjects WHERE subject_id = dtmv.current_subject()
$$;
COMMENT ON FUNCTION dtmv.whoami() IS 'name of the subject this statement acts as, or NULL';

CREATE OR REPLACE FUNCTION dtmv._subject_id(subject text) RETURNS bigint
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
CREATE OR REPLACE FUNCTION dtmv._require_role(role text, what text) RETURNS void
	AS 'MODULE_PATHNAME', 'dtmv_require_role' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._require_role(text, text) IS
	'internal: 42501 unless the calling role has the privileges of the given role';

-- How long the pruning functions keep what they prune: 22023 unless an
-- interval of zero or more.
CREATE OR REPLACE FUNCTION dtmv._require_keep(keep interval) RETURNS void
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

CREATE OR REPLACE FUNCTION dtmv._require_admin_role(what text) RETURNS void
	AS 'MODULE_PATHNAME', 'dtmv_require_admin_role' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._require_admin_role(text) IS
	'internal: 42501 unless the calling role has the privileges of dtmv_admin';

CREATE OR REPLACE FUNCTION dtmv._require_subject() RETURNS bigint
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

CREATE OR REPLACE FUNCTION dtmv.create_subject(name text, login regrole DEFAULT NULL, kind text DEFAULT 'user')
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

CREATE OR REPLACE FUNCTION dtmv.create_group(name text) RETURNS bigint
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$ SELECT dtmv.create_subject(name, NULL, 'group') $$;
COMMENT ON FUNCTION dtmv.create_group(text) IS 'create a group subject; dtmv_admin only';

CREATE OR REPLACE FUNCTION dtmv.add_member(group_name text, member text) RETURNS void
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

CREATE OR REPLACE FUNCTION dtmv.remove_member(group_name text, member text) RETURNS void
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

CREATE OR REPLACE FUNCTION dtmv.act_as(subject text) RETURNS void
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
	-- a login that stands for another system (federation) acts only through
	-- dtmv.act_for_link: the delegations to a system's subject are users'
	-- leave for calls there, not for that system to act as them here
	IF EXISTS (SELECT FROM dtmv.system_links l
				WHERE dtmv._login_subject() IN (l.subject_id, l.login_id)) THEN
		RAISE EXCEPTION 'permission denied to act as subject "%"', subject
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'This login stands for another system (dtmv.system_links): it acts only for that system''s users, through dtmv.act_for_link().';
	END IF;
	-- no 42704 for an unknown name: the C refuses it as it refuses a
	-- subject that did not delegate, so a service learns no names
	SELECT s.subject_id, s.kind INTO id, k FROM dtmv.subjects s WHERE s.name = subject;
	-- (a group delegates nothing: for a service, the C refuses it with the
	-- same 42501 as any name, so that no one learns which groups exist)
	IF k = 'group' AND (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid = dtmv._outer_role()) THEN
		RAISE EXCEPTION 'cannot act as group "%"', subject
			USING ERRCODE = 'wrong_object_type',
				  DETAIL = 'Only users and systems act; groups only hold rights.';
	END IF;
	PERFORM dtmv._set_acting_subject(id);
END
$$;
COMMENT ON FUNCTION dtmv.act_as(text) IS
	'a service acts for a user who delegated to it (dtmv.delegate), with at most the rights delegated, until the transaction ends; dtmv_gateway only, 42501 for anyone else and for a user who did not delegate (REQ-DT-05)';
