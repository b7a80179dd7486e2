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

CREATE OR REPLACE FUNCTION dtmv._rights_mask(rights text) RETURNS integer
	AS 'MODULE_PATHNAME', 'dtmv_rights_mask' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION dtmv._rights_mask(text) IS 'internal: a comma list of rights as a bit mask; 22023 for an unknown right';

-- The rights' names are in C (src/rights.c), once.
CREATE OR REPLACE FUNCTION dtmv._rights_text(mask integer) RETURNS text
	AS 'MODULE_PATHNAME', 'dtmv_rights_text' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION dtmv._rights_text(integer) IS 'internal: a bit mask of rights as a comma list';

-- What granting the rights in mask grants: the rights and all they imply.
CREATE OR REPLACE FUNCTION dtmv._rights_implied(mask integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
	SELECT CASE WHEN mask & dtmv._rights_mask('admin') <> 0 THEN dtmv._rights_mask('discover,read,interact,sync,control,admin')
				WHEN mask & dtmv._rights_mask('interact,sync,control') <> 0 THEN mask | dtmv._rights_mask('discover,read')
				WHEN mask & dtmv._rights_mask('read') <> 0 THEN mask | dtmv._rights_mask('discover')
				ELSE mask END
$$;
COMMENT ON FUNCTION dtmv._rights_implied(integer) IS 'internal: the rights and every right they imply';

-- What revoking the rights in mask revokes: the rights and all that imply them.
CREATE OR REPLACE FUNCTION dtmv._rights_implying(mask integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
	SELECT CASE WHEN mask & dtmv._rights_mask('discover') <> 0 THEN dtmv._rights_mask('discover,read,interact,sync,control,admin')
				WHEN mask & dtmv._rights_mask('read') <> 0 THEN mask | dtmv._rights_mask('read,interact,sync,control,admin')
				WHEN mask & dtmv._rights_mask('interact,sync,control') <> 0 THEN mask | dtmv._rights_mask('admin')
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
CREATE OR REPLACE FUNCTION dtmv._keys_for(subs bigint[]) RETURNS TABLE (r integer, probe bigint[], veto bigint[])
	AS 'MODULE_PATHNAME', 'dtmv_keys_for' LANGUAGE C STABLE PARALLEL SAFE ROWS 6;
COMMENT ON FUNCTION dtmv._keys_for(bigint[]) IS
	'internal: for each right number r, the acl keys under which these subjects hold it (probe) and those that deny it (veto)';

CREATE OR REPLACE FUNCTION dtmv._acting_keys() RETURNS TABLE (r integer, probe bigint[], veto bigint[])
	AS 'MODULE_PATHNAME', 'dtmv_acting_keys' LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 6;
COMMENT ON FUNCTION dtmv._acting_keys() IS
	'internal: the keys of dtmv._keys_for for the acting subject and its groups, without probes for rights a service acting for a user was not delegated';

CREATE OR REPLACE FUNCTION dtmv.acl_probe(r integer) RETURNS bigint[]
LANGUAGE sql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$ SELECT k.probe FROM dtmv._acting_keys() k WHERE k.r = acl_probe.r $$;
COMMENT ON FUNCTION dtmv.acl_probe(integer) IS
	'acl keys under which the acting subject holds right number r (see docs/rights.md); empty if denied system-wide';

CREATE OR REPLACE FUNCTION dtmv.acl_veto(r integer) RETURNS bigint[]
LANGUAGE sql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$ SELECT k.veto FROM dtmv._acting_keys() k WHERE k.r = acl_veto.r $$;
COMMENT ON FUNCTION dtmv.acl_veto(integer) IS
	'acl keys that deny right number r to the acting subject (see docs/rights.md)';

-- The acl key formulas, defined once in C (src/rights.c).
CREATE OR REPLACE FUNCTION dtmv._acl_key(subject bigint, r integer, veto boolean) RETURNS bigint
	AS 'MODULE_PATHNAME', 'dtmv_acl_key' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION dtmv._acl_key(bigint, integer, boolean) IS
	'internal: the acl key of a subject''s grant (veto false) or denial (veto true) of right number r on a twin: subject * 16 + r, or subject * 16 + 8 + r';
CREATE OR REPLACE FUNCTION dtmv._acl_space_key(space bigint, r integer) RETURNS bigint
	AS 'MODULE_PATHNAME', 'dtmv_acl_space_key' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION dtmv._acl_space_key(bigint, integer) IS
	'internal: the acl key of a twin in a space (or a space below it), which a grant or denial of right number r on that space matches: -(space * 16 + r)';

-- The acl of one twin, from dtmv.grants.
CREATE OR REPLACE FUNCTION dtmv._twin_acl(twin dtmv.twin_id) RETURNS bigint[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	-- twin_positions and spaces come with 90_spatial.sql; plpgsql resolves them when run.
	RETURN (SELECT array_agg(k ORDER BY k) FROM (
		SELECT r::bigint AS k FROM generate_series(0, 5) r
		UNION
		SELECT dtmv._acl_key(g.subject_id, r, g.granted & (1 << r) = 0)
		  FROM dtmv.grants g CROSS JOIN generate_series(0, 5) r
		 WHERE g.twin = _twin_acl.twin AND ((g.granted | g.revoked) & (1 << r) <> 0 OR g.refused)
		UNION
		SELECT dtmv._acl_space_key(a.space_id, r)
		  FROM dtmv._space_ancestry((SELECT p.space FROM dtmv.twin_positions p WHERE p.twin = _twin_acl.twin)) a
		 CROSS JOIN generate_series(0, 5) r
	) keys);
END
$$;
COMMENT ON FUNCTION dtmv._twin_acl(dtmv.twin_id) IS 'internal: the acl keys of a twin, derived from dtmv.grants';

CREATE OR REPLACE FUNCTION dtmv._grants_refresh_acl() RETURNS trigger
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
CREATE OR REPLACE TRIGGER grants_acl_insert AFTER INSERT ON dtmv.grants
	REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dtmv._grants_refresh_acl();
CREATE OR REPLACE TRIGGER grants_acl_update AFTER UPDATE ON dtmv.grants
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dtmv._grants_refresh_acl();
CREATE OR REPLACE TRIGGER grants_acl_delete AFTER DELETE ON dtmv.grants
	REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION dtmv._grants_refresh_acl();

CREATE OR REPLACE FUNCTION dtmv._effective_rights(twin dtmv.twin_id) RETURNS integer
	AS 'MODULE_PATHNAME', 'dtmv_effective_rights' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._effective_rights(dtmv.twin_id) IS 'internal: mask of the rights the acting subject holds on a twin';

-- Whether the acting subject holds every right named in a comma list on a
-- twin: what policies, views and functions ask, by name, instead of a mask
-- literal. Plain SQL, so that PostgreSQL inlines it and folds the mask of
-- constant names at plan time; its operators are qualified, since an inlined
-- body is parsed with the caller's search_path.
CREATE OR REPLACE FUNCTION dtmv._holds(twin dtmv.twin_id, rights text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL RESTRICTED
AS $$
	SELECT dtmv._effective_rights(twin) OPERATOR(pg_catalog.&) dtmv._rights_mask(rights)
		   OPERATOR(pg_catalog.=) dtmv._rights_mask(rights)
$$;
COMMENT ON FUNCTION dtmv._holds(dtmv.twin_id, text) IS
	'internal: whether the acting subject holds every right in a comma list on a twin (for policies and views)';

-- The readers that take what a writer returns (a twin, a request, a
-- command) are VOLATILE, not STABLE: a STABLE function reads with the
-- snapshot of the statement that calls it, taken before anything in that
-- statement ran, so in SELECT dtmv.twin_info(dtmv.create_twin(...)) it
-- would not see the twin just made (42501), and has_right would say false.
-- VOLATILE: each call sees what the statement has done so far. These are
-- the has_right, my_rights, twin_info, sync_priority, sync_status and
-- command_status that clients call; the policies' own tests stay STABLE.
CREATE OR REPLACE FUNCTION dtmv.has_right(twin dtmv.twin_id, rights text) RETURNS boolean
LANGUAGE sql VOLATILE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$ SELECT dtmv._holds(twin, rights) $$;
COMMENT ON FUNCTION dtmv.has_right(dtmv.twin_id, text) IS
	'whether the acting subject holds every right in a comma list on a twin (REQ-DT-05)';

CREATE OR REPLACE FUNCTION dtmv.my_rights(twin dtmv.twin_id) RETURNS text
LANGUAGE sql VOLATILE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$ SELECT dtmv._rights_text(dtmv._effective_rights(twin)) $$;
COMMENT ON FUNCTION dtmv.my_rights(dtmv.twin_id) IS 'the rights the acting subject holds on a twin, as a comma list';

-- 42501 naming the first missing right, unless the acting subject holds all.
CREATE OR REPLACE FUNCTION dtmv._require_rights(twin dtmv.twin_id, rights text) RETURNS void
	AS 'MODULE_PATHNAME', 'dtmv_require_rights' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._require_rights(dtmv.twin_id, text) IS
	'internal: raise 42501 naming the missing right unless the acting subject holds all the rights';

-- A writer of a twin's rows takes the twin's lock first (one lock order,
-- docs/events.md): checked before (no lock is taken on a twin the caller
-- may not touch) and again once held (a revoke or a move that committed
-- while it waited counts).
CREATE OR REPLACE FUNCTION dtmv._lock_twin_for(twin dtmv.twin_id, rights text) RETURNS void
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
-- one column and removed from the other. A grant to a subject that refused
-- grants there (dtmv.refuse_grants) is turned away: the two meet on the
-- row's key, so a grant and a refusal racing cannot both win.
CREATE OR REPLACE FUNCTION dtmv._set_rights(subject bigint, twin dtmv.twin_id, mask_on integer, deny boolean,
								 space bigint DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	refused boolean;
BEGIN
	INSERT INTO dtmv.grants AS g (subject_id, twin, space_id, granted, revoked)
		VALUES (_set_rights.subject, _set_rights.twin, _set_rights.space,
				CASE WHEN deny THEN 0 ELSE mask_on END,
				CASE WHEN deny THEN mask_on ELSE 0 END)
	ON CONFLICT ON CONSTRAINT grants_subject_id_twin_space_id_key DO UPDATE
		SET granted = CASE WHEN deny OR g.refused THEN g.granted & ~mask_on ELSE g.granted | mask_on END,
			revoked = CASE WHEN deny THEN g.revoked | mask_on ELSE g.revoked & ~mask_on END
	RETURNING g.refused INTO refused;
	IF refused AND NOT deny THEN
		RAISE EXCEPTION 'permission denied: subject "%" refuses grants on this %',
				(SELECT s.name FROM dtmv.subjects s WHERE s.subject_id = _set_rights.subject),
				CASE WHEN twin IS NOT NULL THEN 'twin' ELSE 'space' END
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'It refused them (dtmv.refuse_grants, dtmv.refuse_space_grants); only it can accept them again.';
	END IF;
END
$$;
COMMENT ON FUNCTION dtmv._set_rights(bigint, dtmv.twin_id, integer, boolean, bigint) IS
	'internal: record a grant (deny false) or a revoke (deny true) of a rights mask; 42501 for a grant the subject refuses';

-- The acting subject refuses (refuse true) or accepts again the grants of
-- others on one twin or one space. Refusing drops what was granted to it
-- there, turns away later grants, and denies it every right there, as a
-- revoke would (the acl and src/rights.c read refused as all revoked): so
-- grants to its groups, on a space above or system-wide give it nothing
-- there either. Revokes stay either way: accepting lifts only the refusal.
-- The caller takes the twin's lock first, as every writer of a twin's
-- grants does.
CREATE OR REPLACE FUNCTION dtmv._set_refusal(twin dtmv.twin_id, space bigint, refuse boolean) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	me bigint := dtmv._require_subject();
BEGIN
	PERFORM dtmv._require_acting_allows('admin', CASE WHEN refuse THEN 'refuse grants' ELSE 'accept grants' END);
	INSERT INTO dtmv.grants AS g (subject_id, twin, space_id, refused)
		VALUES (me, _set_refusal.twin, _set_refusal.space, refuse)
	ON CONFLICT ON CONSTRAINT grants_subject_id_twin_space_id_key DO UPDATE
		SET refused = refuse,
			granted = CASE WHEN refuse THEN 0 ELSE g.granted END;
	-- a row that no longer says anything goes
	DELETE FROM dtmv.grants g
	 WHERE g.subject_id = me AND NOT g.refused AND g.granted = 0 AND g.revoked = 0
	   AND CASE WHEN _set_refusal.twin IS NOT NULL THEN g.twin = _set_refusal.twin
			    ELSE g.space_id = _set_refusal.space END;
END
$$;
COMMENT ON FUNCTION dtmv._set_refusal(dtmv.twin_id, bigint, boolean) IS
	'internal: the acting subject refuses, or accepts again, grants of others on a twin or a space';

-- Refusing needs only that the twin is visible (discover): what a stranger
-- granted makes it so. A twin one may not discover gets the same 42501 as
-- a twin that does not exist. A twin one administers is not refused: the
-- refusal would deny its own admin.
CREATE OR REPLACE FUNCTION dtmv.refuse_grants(twin dtmv.twin_id) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._lock_twin_for(twin, 'discover');	-- the twin's lock before its rows
	IF dtmv._holds(twin, 'admin') THEN
		RAISE EXCEPTION 'a subject does not refuse grants on a twin it administers'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'Refusing denies the subject every right on the twin, its own admin too.',
				  HINT = 'If others granted you admin, clear your rights first: dtmv.clear_rights(twin, dtmv.whoami()).';
	END IF;
	PERFORM dtmv._set_refusal(twin, NULL, true);
END
$$;
COMMENT ON FUNCTION dtmv.refuse_grants(dtmv.twin_id) IS
	'the acting subject refuses grants on a twin: it holds no right there (its events leave the subject''s stream; grants to its groups, spaces or system-wide included) and later grants to it fail with 42501, until dtmv.accept_grants; revokes stay';

CREATE OR REPLACE FUNCTION dtmv.accept_grants(twin dtmv.twin_id) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	-- A twin it refused, it may not discover: its own refusal lets it take
	-- the lock. Any other, it must discover before any lock is taken (no
	-- wait tells whether a twin it cannot see exists).
	IF EXISTS (SELECT 1 FROM dtmv.grants g
				WHERE g.twin = accept_grants.twin AND g.subject_id = dtmv.current_subject() AND g.refused) THEN
		PERFORM dtmv._lock_twin(twin);	-- the twin's lock before its rows
	ELSE
		PERFORM dtmv._lock_twin_for(twin, 'discover');
	END IF;
	PERFORM dtmv._set_refusal(twin, NULL, false);
END
$$;
COMMENT ON FUNCTION dtmv.accept_grants(dtmv.twin_id) IS
	'the acting subject accepts grants on a twin again, after dtmv.refuse_grants';


-- A service acting for a user grants nothing to itself (or its groups):
-- what it was delegated ends with the delegation (dtmv.undelegate), and a
-- grant to itself would outlive it.
CREATE OR REPLACE FUNCTION dtmv._require_not_granting_itself(subject bigint, deny boolean) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	service bigint := dtmv._login_subject();
BEGIN
	IF NOT deny AND service IS NOT NULL AND dtmv.current_subject() IS DISTINCT FROM service
	   AND subject = ANY (dtmv._subjects_of(service)) THEN
		RAISE EXCEPTION 'permission denied to grant rights to the service acting for %', dtmv.whoami()
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'A service acting for a user grants no rights to itself or its groups: it holds the user''s only while the user delegates them.';
	END IF;
END
$$;
COMMENT ON FUNCTION dtmv._require_not_granting_itself(bigint, boolean) IS
	'internal: 42501 for a grant, by a service acting for a user, to the service itself or a group of it';

-- A grant or a revoke of a comma list of rights, for a named subject, at
-- one place (a twin, a space, or system-wide when both are NULL): a grant
-- adds what the rights imply, a revoke what implies them.
CREATE OR REPLACE FUNCTION dtmv._change_rights(subject text, rights text, deny boolean,
									twin dtmv.twin_id DEFAULT NULL, space bigint DEFAULT NULL)
RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
	SELECT dtmv._require_not_granting_itself(dtmv._subject_id(subject), deny);
	SELECT dtmv._set_rights(dtmv._subject_id(subject), twin,
							CASE WHEN deny THEN dtmv._rights_implying(dtmv._rights_mask(rights))
								 ELSE dtmv._rights_implied(dtmv._rights_mask(rights)) END,
							deny, space)
$$;
COMMENT ON FUNCTION dtmv._change_rights(text, text, boolean, dtmv.twin_id, bigint) IS
	'internal: record a grant or a revoke of a comma list of rights for a named subject at one place';

CREATE OR REPLACE FUNCTION dtmv.grant(twin dtmv.twin_id, subject text, rights text) RETURNS void
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

CREATE OR REPLACE FUNCTION dtmv.revoke(twin dtmv.twin_id, subject text, rights text) RETURNS void
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

-- Forget a subject's grants and revokes at one place, but not its refusal
-- there: the refusal is the subject's own, not the administrator's.
CREATE OR REPLACE FUNCTION dtmv._clear_rights(subject bigint, twin dtmv.twin_id, space bigint DEFAULT NULL)
RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
	DELETE FROM dtmv.grants g
	 WHERE g.subject_id = _clear_rights.subject AND NOT g.refused
	   AND CASE WHEN _clear_rights.twin IS NOT NULL THEN g.twin = _clear_rights.twin
				ELSE g.space_id = _clear_rights.space END;
	UPDATE dtmv.grants g SET revoked = 0
	 WHERE g.subject_id = _clear_rights.subject AND g.refused
	   AND CASE WHEN _clear_rights.twin IS NOT NULL THEN g.twin = _clear_rights.twin
				ELSE g.space_id = _clear_rights.space END;
$$;
COMMENT ON FUNCTION dtmv._clear_rights(bigint, dtmv.twin_id, bigint) IS
	'internal: forget a subject''s grants and revokes on a twin or a space, keeping its refusal';

CREATE OR REPLACE FUNCTION dtmv.clear_rights(twin dtmv.twin_id, subject text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._lock_twin_for(twin, 'admin');	-- the twin's lock before its rows
	PERFORM dtmv._clear_rights(dtmv._subject_id(subject), twin);
END
$$;
COMMENT ON FUNCTION dtmv.clear_rights(dtmv.twin_id, text) IS
	'forget every grant and revoke of a subject on a twin; needs admin on the twin';

CREATE OR REPLACE FUNCTION dtmv.grant_system(subject text, rights text) RETURNS void
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

CREATE OR REPLACE FUNCTION dtmv.revoke_system(subject text, rights text) RETURNS void
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
