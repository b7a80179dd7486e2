-- W3C Web of Things, Thing Description 1.1 (docs/thing-descriptions.md):
-- a twin described as a Thing, with forms that say how to act on it through
-- dtmv's own calls, and kinds defined from W3C Thing Models (REQ-DT-04,
-- REQ-DT-06, REQ-MV-01, REQ-SI-02a).
--
-- A form's href is a URI of scheme dtmv: that names the dtmv function to
-- call, its arguments in the query (dtmv:interact?twin=...&action=open),
-- and, for a value inside the jsonb the call returns, a JSON pointer in the
-- fragment (dtmv:twin_info?twin=...#/reported/door).

GRANT SELECT ON dtmv.thing_models TO dtmv_user;
DROP POLICY IF EXISTS thing_models_directory ON dtmv.thing_models;
CREATE POLICY thing_models_directory ON dtmv.thing_models FOR SELECT TO dtmv_user USING (true);
COMMENT ON POLICY thing_models_directory ON dtmv.thing_models IS 'what each kind of twin offers is public to dtmv users';

-- One segment of a URI, percent-encoded (RFC 3986: all but the unreserved
-- characters, byte by byte of the UTF-8 form): a property's name in an href.
CREATE OR REPLACE FUNCTION dtmv._uri_escape(s text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
	SELECT coalesce(string_agg(CASE WHEN x BETWEEN 48 AND 57 OR x BETWEEN 65 AND 90
										 OR x BETWEEN 97 AND 122 OR x IN (45, 46, 95, 126)
									THEN chr(x)
									ELSE '%' || upper(lpad(to_hex(x), 2, '0')) END, '' ORDER BY i), '')
	  FROM (SELECT convert_to(s, 'UTF8') AS b) u,
		   LATERAL (SELECT i, get_byte(u.b, i) AS x FROM generate_series(0, length(u.b) - 1) i) bytes
$$;
COMMENT ON FUNCTION dtmv._uri_escape(text) IS 'internal: a URI segment, percent-encoded (RFC 3986)';

-- The affordances of one part of a Thing Model (properties, actions or
-- events), as dtmv keeps them: without forms (dtmv writes its own) or the
-- uriVariables that a model's forms would have used.
CREATE OR REPLACE FUNCTION dtmv._model_affordances(part jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
	SELECT coalesce(jsonb_object_agg(a.key, a.value - '{forms,uriVariables}'::text[]), '{}')
	  FROM jsonb_each(coalesce(part, '{}')) a
$$;
COMMENT ON FUNCTION dtmv._model_affordances(jsonb) IS 'internal: the affordances of a Thing Model''s part, without forms';

CREATE OR REPLACE FUNCTION dtmv.define_kind_from_thing_model(model jsonb, kind text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	k text;
	types jsonb;
	extras jsonb := '[]';
	part text;
	one text;
	bad text;
BEGIN
	PERFORM dtmv._require_admin_role('define kinds');
	IF model IS NULL THEN
		RAISE EXCEPTION 'a Thing Model is required' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF jsonb_typeof(model) <> 'object' THEN
		RAISE EXCEPTION 'a Thing Model is a JSON object, not %', jsonb_typeof(model)
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	types := CASE jsonb_typeof(model -> '@type') WHEN 'string' THEN jsonb_build_array(model -> '@type')
												 WHEN 'array' THEN model -> '@type' ELSE '[]' END;
	IF NOT types ? 'tm:ThingModel' THEN
		RAISE EXCEPTION 'not a Thing Model: its "@type" does not include "tm:ThingModel"'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'A kind is defined from a W3C Thing Model (WoT Thing Description 1.1, section 10), not from a Thing Description of one thing.';
	END IF;
	FOREACH part IN ARRAY ARRAY['title', 'description'] LOOP
		IF jsonb_typeof(model -> part) <> 'string' THEN
			RAISE EXCEPTION 'the "%" of a Thing Model is a string, not %', part, jsonb_typeof(model -> part)
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
	END LOOP;
	k := coalesce(kind, model ->> 'title');
	IF k IS NULL THEN
		RAISE EXCEPTION 'a Thing Model without a title needs a kind'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Name the kind: dtmv.define_kind_from_thing_model(model, kind => ''...'').';
	ELSIF NOT dtmv._is_identifier(k) THEN
		RAISE EXCEPTION '"%" is not a kind: a kind is a lower-case identifier (a letter, then letters, digits or _)', k
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = CASE WHEN kind IS NULL
							  THEN 'The model''s title is the kind unless one is named: dtmv.define_kind_from_thing_model(model, kind => ''...'').'
							  ELSE 'Name it as twins of the kind are created: dtmv.create_twin(kind, ...).' END;
	END IF;
	-- What would need other models, or values, to become a description.
	IF jsonb_path_exists(model, 'lax $.**."tm:ref"')
	   OR jsonb_path_exists(model, 'lax $.links[*] ? (@.rel == "tm:extends")') THEN
		RAISE EXCEPTION 'Thing Models that extend or reference other models (tm:extends, tm:ref) are not supported'
			USING ERRCODE = 'feature_not_supported', HINT = 'Import the model with those resolved into it.';
	END IF;
	IF model::text ~ '\{\{[^{}]*\}\}' THEN
		RAISE EXCEPTION 'Thing Models with placeholders ({{...}}) are not supported'
			USING ERRCODE = 'feature_not_supported', HINT = 'Import the model with their values put in.';
	END IF;
	-- The vocabularies the model uses beyond the Thing Description's own.
	IF jsonb_typeof(model -> '@context') = 'array' THEN
		SELECT coalesce(jsonb_agg(c ORDER BY n), '[]') INTO extras
		  FROM jsonb_array_elements(model -> '@context') WITH ORDINALITY e(c, n)
		 WHERE c NOT IN ('"https://www.w3.org/2019/wot/td/v1"', '"https://www.w3.org/2022/wot/td/v1.1"');
		IF EXISTS (SELECT 1 FROM jsonb_array_elements(extras) c
					WHERE jsonb_typeof(c) NOT IN ('string', 'object')
					   OR jsonb_typeof(c) = 'object'
						  AND EXISTS (SELECT 1 FROM jsonb_each(c) v WHERE jsonb_typeof(v.value) <> 'string')) THEN
			RAISE EXCEPTION 'the "@context" of a Thing Model lists URIs and objects of prefixes (strings)'
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
	ELSIF jsonb_typeof(model -> '@context') IS DISTINCT FROM 'string' THEN
		RAISE EXCEPTION 'a Thing Model has an "@context": a URI or an array of them'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Its first entry is "https://www.w3.org/2022/wot/td/v1.1".';
	END IF;
	FOR part, one IN VALUES ('properties', 'property'), ('actions', 'action'), ('events', 'event') LOOP
		IF jsonb_typeof(model -> part) <> 'object' THEN
			RAISE EXCEPTION 'the "%" of a Thing Model is an object of affordances by name, not %', part, jsonb_typeof(model -> part)
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		SELECT a.key INTO bad FROM jsonb_each(model -> part) a WHERE jsonb_typeof(a.value) <> 'object' ORDER BY a.key LIMIT 1;
		IF FOUND THEN
			RAISE EXCEPTION 'the % "%" of the Thing Model is not an object', one, bad
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		-- dtmv.interact takes actions, and dtmv.report events, by such names
		SELECT a.key INTO bad FROM jsonb_each(model -> part) a
		 WHERE CASE WHEN part = 'properties' THEN a.key = '' ELSE NOT dtmv._is_identifier(a.key) END
		 ORDER BY a.key LIMIT 1;
		IF FOUND THEN
			RAISE EXCEPTION 'the % "%" of the Thing Model has a name dtmv cannot take', one, bad
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = CASE WHEN part = 'properties' THEN 'A property is named by a key of the reported state.'
								  ELSE 'Actions and events are named by lower-case identifiers (a letter, then letters, digits or _).' END;
		END IF;
	END LOOP;

	INSERT INTO dtmv.thing_models AS m (kind, model, builtin, defined_by)
	VALUES (k,
			jsonb_strip_nulls(jsonb_build_object('title', model -> 'title', 'description', model -> 'description',
												 '@type', nullif(types - 'tm:ThingModel', '[]'),
												 '@context', nullif(extras, '[]')))
			|| jsonb_build_object('properties', dtmv._model_affordances(model -> 'properties'),
								  'actions', dtmv._model_affordances(model -> 'actions'),
								  'events', dtmv._model_affordances(model -> 'events')),
			false, dtmv.current_subject())
	ON CONFLICT ON CONSTRAINT thing_models_pkey
		DO UPDATE SET model = excluded.model, defined_by = excluded.defined_by, defined_at = now();
	-- The kind offers the model's actions from now on; an action it offered
	-- before stays (with the desired-state patch it had), as commands may
	-- name it. A built-in action the model names is offered as built in,
	-- also if it was withdrawn; any other gets a row without a patch.
	DELETE FROM dtmv.kind_action_definitions d WHERE d.kind = k AND d.withdrawn AND model -> 'actions' ? d.action;
	INSERT INTO dtmv.kind_action_definitions (kind, action)
		SELECT k, a FROM jsonb_object_keys(model -> 'actions') a
		 WHERE NOT EXISTS (SELECT 1 FROM dtmv.kind_action_definitions d WHERE d.kind = k AND d.action = a)
	ON CONFLICT ON CONSTRAINT kind_action_definitions_pkey DO NOTHING;
	RETURN k;
END
$$;
COMMENT ON FUNCTION dtmv.define_kind_from_thing_model(jsonb, text) IS
	'define a kind of twin from a W3C Thing Model: its actions become actions the kind offers, its events, properties and their data schemas what Thing Descriptions of its twins say; the kind is the model''s title unless named; returns it; dtmv_admin only (REQ-DT-06)';

-- VOLATILE, to see what the statement made before it (50_rights.sql, has_right).
CREATE OR REPLACE FUNCTION dtmv.thing_description(twin dtmv.twin_id) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	rights integer := dtmv._effective_rights(twin);
	t record;
	m jsonb;
	arg text;
	props jsonb;
	acts jsonb;
	evs jsonb;
	-- what a command's outcome event carries (dtmv.ack_command)
	outcome jsonb := '{"type": "object", "properties": {"command": {"type": "integer"},
					   "action": {"type": "string"}, "result": {}}}';
BEGIN
	PERFORM dtmv._require_rights(twin, 'discover');		-- as twin_info
	SELECT r.id, r.kind, r.name, r.created_at, r.updated_at,
		   coalesce(s.reported, '{}') AS reported, coalesce(s.desired, '{}') AS desired
	  INTO t
	  FROM dtmv.twin_registry r LEFT JOIN dtmv.twin_states s ON s.twin = r.id
	 WHERE r.id = thing_description.twin;
	-- the kind's model: the one imported, else the built-in one
	m := coalesce((SELECT x.model FROM dtmv.thing_models x WHERE x.kind = t.kind ORDER BY x.builtin LIMIT 1), '{}');
	arg := 'twin=' || t.id::text;

	-- Properties: the model's, and, for a reader of the twin, every other
	-- key of its state. Each is the key of the reported state that it names,
	-- read with twin_info; none is written but through actions.
	SELECT coalesce(jsonb_object_agg(p.name, p.affordance
						|| jsonb_build_object('readOnly', true, 'forms', jsonb_build_array(jsonb_build_object(
							   'op', 'readproperty', 'contentType', 'application/json',
							   'href', 'dtmv:twin_info?' || arg || '#/reported/'
									   || dtmv._uri_escape(replace(replace(p.name, '~', '~0'), '/', '~1')))))), '{}')
	  INTO props
	  FROM (SELECT a.key AS name, a.value - '{writeOnly,observable}'::text[] AS affordance
			  FROM jsonb_each(coalesce(m -> 'properties', '{}')) a
			 UNION ALL
			SELECT k, jsonb_build_object('type', jsonb_typeof(coalesce(t.reported -> k, t.desired -> k)))
			  FROM (SELECT jsonb_object_keys(t.reported) UNION SELECT jsonb_object_keys(t.desired)) s(k)
			 WHERE rights & dtmv._rights_mask('read') <> 0 AND NOT coalesce(m -> 'properties', '{}') ? k) p;

	-- Actions: those the kind offers (what dtmv.interact takes), described
	-- by the model where it names them. Commands are carried out later, by
	-- the gateway: interact returns a command id, and the outcome is an event.
	SELECT coalesce(jsonb_object_agg(a.action, (coalesce(m -> 'actions' -> a.action, '{}') - 'synchronous')
						|| jsonb_build_object('synchronous', false, 'forms', jsonb_build_array(jsonb_build_object(
							   'op', 'invokeaction', 'contentType', 'application/json',
							   'href', 'dtmv:interact?' || arg || '&action=' || a.action)))), '{}')
	  INTO acts
	  FROM dtmv.kind_actions a WHERE a.kind = t.kind;

	-- Events: the model's, and those dtmv itself logs for any twin (a move)
	-- and for one with actions (their outcomes); read with events_since.
	SELECT coalesce(jsonb_object_agg(e.key, e.value || jsonb_build_object('forms', jsonb_build_array(jsonb_build_object(
							'op', 'subscribeevent', 'contentType', 'application/json',
							'href', 'dtmv:events_since?' || arg || '&kind=' || e.key)))), '{}')
	  INTO evs
	  FROM jsonb_each(
			   jsonb_build_object('location', jsonb_build_object(
				   'title', 'Moved', 'description', 'The twin was placed or moved (dtmv.place, dtmv.sync_location): its space and local position in metres.',
				   'data', '{"type": "object", "properties": {"space": {"type": "integer"},
							 "position": {"type": "array", "items": {"type": "number"}, "minItems": 3, "maxItems": 3}}}'::jsonb))
			   || CASE WHEN acts <> '{}' THEN jsonb_build_object(
					  'command_succeeded', jsonb_build_object('title', 'Command carried out', 'data', outcome),
					  'command_failed', jsonb_build_object('title', 'Command failed', 'data', outcome))
				  ELSE '{}' END
			   || coalesce(m -> 'events', '{}')) e;

	RETURN jsonb_build_object(
			   '@context', CASE WHEN m ? '@context'
								THEN '["https://www.w3.org/2022/wot/td/v1.1"]'::jsonb || (m -> '@context')
								ELSE '"https://www.w3.org/2022/wot/td/v1.1"' END,
			   'id', 'urn:uuid:' || t.id::text,
			   'title', t.name,
			   'description', coalesce(m ->> 'description', format('A twin of kind %s.', t.kind)),
			   'created', t.created_at, 'modified', t.updated_at,
			   'securityDefinitions', jsonb_build_object('dtmv_sc', jsonb_build_object(
				   'scheme', 'auto',
				   'description', 'The PostgreSQL connection''s own authentication; the rights of the login''s dtmv subject decide what it may do.')),
			   'security', 'dtmv_sc',
			   'properties', props, 'actions', acts, 'events', evs,
			   'forms', jsonb_build_array(
				   jsonb_build_object('op', 'readallproperties', 'contentType', 'application/json',
									  'href', 'dtmv:twin_info?' || arg || '#/reported'),
				   jsonb_build_object('op', 'subscribeallevents', 'contentType', 'application/json',
									  'href', 'dtmv:events_since?' || arg)))
		   || CASE WHEN m ? '@type' THEN jsonb_build_object('@type', m -> '@type') ELSE '{}' END;
END
$$;
COMMENT ON FUNCTION dtmv.thing_description(dtmv.twin_id) IS
	'a W3C WoT Thing Description (TD 1.1) of a twin: its kind''s actions and events, its state as properties (for a reader of the twin), with forms naming the dtmv calls that act on it; needs discover, as twin_info (REQ-DT-04, REQ-DT-06, REQ-MV-01)';

