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
	space_id bigint,	-- a space's rights cover the twins in it; foreign key in 99_keys.sql
	granted integer NOT NULL DEFAULT 0 CHECK (granted BETWEEN 0 AND 63),
	revoked integer NOT NULL DEFAULT 0 CHECK (revoked BETWEEN 0 AND 63),
	CHECK (granted & revoked = 0),
	CHECK (twin IS NULL OR space_id IS NULL),
	UNIQUE NULLS NOT DISTINCT (subject_id, twin, space_id)
);
-- Refused by the subject (dtmv.refuse_grants): nothing is granted to it on
-- that twin or space until it accepts again; denials stay. In the grant's
-- own row, so a grant and a refusal racing meet on its key (added in 0.2,
-- hence after the other columns).
ALTER TABLE dtmv.grants ADD COLUMN refused boolean NOT NULL DEFAULT false;
ALTER TABLE dtmv.grants ADD CONSTRAINT grants_refused_grants_nothing CHECK (NOT refused OR (granted = 0 AND (twin IS NOT NULL OR space_id IS NOT NULL)));
CREATE INDEX grants_twin ON dtmv.grants (twin);
-- The system-wide grants alone (at most one row a subject, made by dtmv_admin):
-- who may read a twin is found from these and from the grants on the spaces
-- the twin is in (grants_space, 99_keys.sql), never from every space's
-- grants (src/rights.c, rights_acl_readers).
CREATE INDEX grants_system_wide ON dtmv.grants (subject_id) WHERE twin IS NULL AND space_id IS NULL;
COMMENT ON TABLE dtmv.grants IS
	'rights granted and revoked per subject, on one twin, on a space (covering the twins in it) or system-wide (both NULL); bit masks, see docs/rights.md (REQ-DT-05)';

-- Clients read these relations only through RLS (policies: replay/70_policies.sql).
ALTER TABLE dtmv.grants ENABLE ROW LEVEL SECURITY;
-- pg_dump keeps the data of these (the extension recreates the relations).
SELECT pg_catalog.pg_extension_config_dump('dtmv.grants', '');
