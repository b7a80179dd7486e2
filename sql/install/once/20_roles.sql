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
