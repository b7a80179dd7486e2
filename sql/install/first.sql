-- Run first by every install and update script, before anything is made.
--
-- dtmv's privileged functions run as the superuser who installed dtmv, and
-- search schema dtmv (search_path pg_catalog, dtmv, pg_temp), as does this
-- script: a role that may create objects there could put an operator or a
-- function of its own in their way, and have it run as that superuser.
-- CREATE EXTENSION takes a schema dtmv that exists already as it finds it
-- (made by the database owner, say), and a superuser may since have granted
-- CREATE on it: refuse, while nothing has been made yet (docs/rights.md,
-- "No path to superuser").
DO $$
DECLARE
	creators text;
	owner name;
BEGIN
	SELECT pg_catalog.string_agg(pg_catalog.quote_ident(r.rolname), ', ' ORDER BY r.rolname)
	  INTO creators
	  FROM pg_catalog.pg_roles r
	 WHERE NOT r.rolsuper AND pg_catalog.has_schema_privilege(r.oid, 'dtmv', 'CREATE');
	IF creators IS NOT NULL THEN
		SELECT r.rolname INTO owner
		  FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) n.nspowner
		 WHERE n.nspname OPERATOR(pg_catalog.=) 'dtmv';
		RAISE EXCEPTION 'schema "dtmv" is writable by roles that are not superusers: %', creators
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = pg_catalog.format('Its owner is %I. dtmv''s functions run as a superuser and search schema dtmv: '
											 'an object put there could run as that superuser.', owner),
				  HINT = 'Drop schema dtmv, or give it to a superuser (ALTER SCHEMA dtmv OWNER TO) and revoke CREATE on it from '
						 'every other role, then try again.';
	END IF;
END
$$;
