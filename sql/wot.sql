-- W3C Web of Things (docs/thing-descriptions.md): Thing Descriptions of
-- twins (TD 1.1) and kinds defined from Thing Models. Their validity against
-- the W3C's own JSON Schema is checked by test/wot/validate.py.
SET search_path = public, dtmv;
\set SHOW_CONTEXT never
CREATE ROLE regress_wot_admin LOGIN IN ROLE dtmv_admin;
CREATE ROLE regress_wot_alice LOGIN IN ROLE dtmv_user;
CREATE ROLE regress_wot_bob LOGIN IN ROLE dtmv_user;
CREATE ROLE regress_wot_eve LOGIN IN ROLE dtmv_user;
CREATE ROLE regress_wot_gw LOGIN IN ROLE dtmv_gateway;
SET ROLE regress_wot_admin;
SELECT count(*) FROM (VALUES
	(dtmv.create_subject('wot_alice', 'regress_wot_alice')),
	(dtmv.create_subject('wot_bob', 'regress_wot_bob')),
	(dtmv.create_subject('wot_eve', 'regress_wot_eve')),
	(dtmv.create_subject('wot_gw', 'regress_wot_gw', 'system'))) s;
SELECT dtmv.register_gateway('wot_gw', 'wot_alice') > 0 AS registered;
RESET ROLE;
-- A TD with its twin's id (new each run) masked, without its times.
CREATE FUNCTION pg_temp.td(twin dtmv.twin_id) RETURNS text LANGUAGE sql AS $$
	SELECT replace(jsonb_pretty(dtmv.thing_description(twin) - '{created,modified}'::text[]), twin::text, '<twin>')
$$;

-- ---- A twin described: alice's front door, which rang ----
SET ROLE regress_wot_alice;
SELECT dtmv.create_twin('door', 'Front door', '{"room": "hall"}', physical_binding => 'WOT-DOOR') AS door \gset
SELECT dtmv.create_twin('lamp', 'Desk lamp', physical_binding => 'WOT-LAMP') AS lamp \gset
SELECT dtmv.create_twin('sofa', 'Sofa', physical_binding => 'WOT-SOFA') AS sofa \gset
SET ROLE regress_wot_gw;
SELECT dtmv.confirm_binding('WOT-DOOR') = :'door' AS door_served, dtmv.confirm_binding('WOT-LAMP') = :'lamp' AS lamp_served,
	   dtmv.confirm_binding('WOT-SOFA') = :'sofa' AS sofa_served;
SELECT dtmv.report(:'door', 'doorbell', '{"doorbell": "ringing", "camera": "cam/1.jpg", "battery": 80, "seen by/~": true}') > 0 AS rang;
SET ROLE regress_wot_alice;
-- The kind's actions (dtmv.kind_actions) with forms that call dtmv.interact,
-- its events (the model's doorbell; dtmv's own location and command
-- outcomes) read with events_since, and its state as read-only properties:
-- the built-in model's door, doorbell and camera, and the other keys of the
-- state, each read from twin_info's reported state (its name escaped in
-- the JSON pointer and the URI). The database's own authentication (auto).
SELECT pg_temp.td(:'door');
-- id is the twin id as a URN; created and modified are the registry's times.
SELECT td ->> 'id' = 'urn:uuid:' || :'door' AS id_is_urn,
	   (td ->> 'created')::timestamptz = t.created_at AS created,
	   (td ->> 'modified')::timestamptz = t.updated_at AS modified
  FROM dtmv.thing_description(:'door') td, dtmv.twins t WHERE t.id = :'door';
-- A form's href is what a client calls: the action's form is dtmv.interact.
SELECT dtmv.interact(:'door', substring(href FROM 'action=([a-z_]+)')) > 0 AS invoked
  FROM (SELECT dtmv.thing_description(:'door') #>> '{actions,open,forms,0,href}' AS href) f;
SELECT desired FROM dtmv.twin_states WHERE twin = :'door';

-- A description of a twin made earlier in the same statement (a STABLE
-- thing_description read the statement's snapshot: 42501).
SELECT dtmv.thing_description(dtmv.create_twin('door', 'Made and described')) ->> 'title' AS made_and_described;

-- A twin of a kind without a model or actions: only dtmv's own event, and
-- the keys of its state as properties, typed by their values.
SET ROLE regress_wot_gw;
SELECT dtmv.report(:'sofa', 'sat_on', '{"occupied": true, "seats": 3, "fabric": {"colour": "grey"}, "tags": ["living"], "note": null}') > 0 AS reported;
SET ROLE regress_wot_alice;
SELECT (SELECT string_agg(key, ', ') FROM jsonb_object_keys(td -> 'events') key) AS sofa_events,
	   td -> 'actions' AS sofa_actions,
	   (SELECT jsonb_object_agg(key, value -> 'type') FROM jsonb_each(td -> 'properties')) AS sofa_properties
  FROM dtmv.thing_description(:'sofa') td;

-- ---- Rights: as for twin_info ----
SELECT dtmv.grant(:'lamp', 'wot_bob', 'discover');
SET ROLE regress_wot_gw;
SELECT dtmv.report(:'lamp', 'switched', '{"light": "on", "watts": 9}') > 0 AS reported;
-- Bob may discover the lamp, not read it: its kind's properties, none of
-- its state's keys (as twin_info shows him no state).
SET ROLE regress_wot_bob;
SELECT jsonb_object_keys(dtmv.thing_description(:'lamp') -> 'properties') AS bob_sees;
SET ROLE regress_wot_alice;
SELECT jsonb_object_keys(dtmv.thing_description(:'lamp') -> 'properties') AS alice_sees;
-- Eve may not even discover it: the error of twin_info, word for word, and
-- the same for a twin that does not exist.
SET ROLE regress_wot_eve;
SELECT dtmv_test.attempt(format('SELECT dtmv.thing_description(%L)', :'lamp')) AS td,
	   dtmv_test.attempt(format('SELECT dtmv.thing_description(%L)', :'lamp'))
	   = dtmv_test.attempt(format('SELECT dtmv.twin_info(%L)', :'lamp')) AS same_as_twin_info;
SELECT dtmv_test.attempt(format('SELECT dtmv.thing_description(%L)', dtmv.twin_id_generate(dtmv.twin_system(:'lamp'))))
	   = dtmv_test.attempt(format('SELECT dtmv.twin_info(%L)', :'lamp')) AS no_twin_alike;
RESET ROLE;

-- ---- A kind from a Thing Model ----
-- A robot arm: actions with input schemas, events with data, properties.
\set arm_model '{"@context": ["https://www.w3.org/2022/wot/td/v1.1", {"saref": "https://saref.etsi.org/core/"}], "@type": ["tm:ThingModel", "saref:Actuator"], "title": "robot_arm", "description": "A six-axis robot arm with a gripper.", "properties": {"joints": {"title": "Joint angles", "type": "array", "items": {"type": "number", "unit": "degree"}, "readOnly": false, "observable": true}, "gripper": {"type": "string", "enum": ["open", "closed"]}}, "actions": {"move_to": {"title": "Move to", "input": {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}, "z": {"type": "number"}}, "required": ["x", "y", "z"]}, "forms": [{"href": "http://arm.example/move", "op": "invokeaction"}]}, "grip": {"title": "Grip", "idempotent": true}, "release": {"description": "Open the gripper.", "synchronous": true}}, "events": {"collision": {"title": "Collision", "data": {"type": "object", "properties": {"joint": {"type": "integer"}}}}, "overheated": {"data": {"type": "number", "unit": "degree Celsius"}}}}'
-- Only dtmv_admin defines kinds, as actions (dtmv.define_action).
SET ROLE regress_wot_alice;
SELECT dtmv_test.attempt($$SELECT dtmv.define_kind_from_thing_model('{"@context": "https://www.w3.org/2022/wot/td/v1.1", "@type": "tm:ThingModel", "title": "x"}')$$);
SET ROLE regress_wot_admin;
-- The kind is the model's title, unless named.
SELECT dtmv.define_kind_from_thing_model(:'arm_model') AS kind;
SELECT action, desired_patch FROM dtmv.kind_actions WHERE kind = 'robot_arm' ORDER BY action;
SELECT jsonb_pretty(model) AS stored FROM dtmv.thing_models WHERE kind = 'robot_arm';
SET ROLE regress_wot_alice;
SELECT dtmv.create_twin('robot_arm', 'Arm 1') AS arm \gset
SELECT pg_temp.td(:'arm');
-- Round trip: the model's actions, events and properties are the TD's, less
-- forms (dtmv's own), uriVariables, and what dtmv decides: commands are
-- carried out later (synchronous false), properties are read-only.
SELECT (SELECT jsonb_object_agg(key, value - '{forms,synchronous}'::text[]) FROM jsonb_each(td -> 'actions'))
	   = (SELECT jsonb_object_agg(key, value - '{forms,synchronous}'::text[]) FROM jsonb_each(m -> 'actions')) AS actions_match,
	   (SELECT jsonb_object_agg(key, value - 'forms') FROM jsonb_each(td -> 'events')
		 WHERE key NOT IN ('location', 'command_succeeded', 'command_failed'))
	   = (m -> 'events') AS events_match,
	   (SELECT jsonb_object_agg(key, value - '{forms,readOnly}'::text[]) FROM jsonb_each(td -> 'properties'))
	   = (SELECT jsonb_object_agg(key, value - '{forms,readOnly,observable}'::text[]) FROM jsonb_each(m -> 'properties')) AS properties_match,
	   td -> '@type' = '["saref:Actuator"]' AND td -> '@context' -> 1 = m -> '@context' -> 1 AS vocabulary
  FROM dtmv.thing_description(:'arm') td, (SELECT :'arm_model'::jsonb AS m) x;
-- The imported actions are offered: interact takes them.
SELECT dtmv.interact(:'arm', 'move_to', '{"x": 1, "y": 2, "z": 0.5}') > 0 AS moved;
SELECT dtmv_test.attempt(format('SELECT dtmv.interact(%L, %L)', :'arm', 'wave'));

-- Imported again, changed: the model is replaced, the actions the kind
-- offered stay (commands may name them), new ones are added.
SET ROLE regress_wot_admin;
SELECT dtmv.define_kind_from_thing_model(jsonb_set(jsonb_set(:'arm_model', '{actions}', '{"home": {"title": "Go home"}}'),
												   '{title}', '"Robot arm"'), kind => 'robot_arm') AS kind;
SELECT string_agg(action, ', ' ORDER BY action) AS offered FROM dtmv.kind_actions WHERE kind = 'robot_arm';
SELECT model -> 'title' AS title, model -> 'actions' AS described FROM dtmv.thing_models WHERE kind = 'robot_arm';
-- A model for a built-in kind stands beside the built-in one and wins.
SELECT dtmv.define_kind_from_thing_model('{"@context": "https://www.w3.org/2022/wot/td/v1.1", "@type": "tm:ThingModel",
	"title": "Smart door", "actions": {"open": {"title": "Open up"}}, "events": {"knock": {}}}', kind => 'door') AS kind;
SELECT builtin, model -> 'title' AS title FROM dtmv.thing_models WHERE kind = 'door' ORDER BY builtin;
SET ROLE regress_wot_alice;
SELECT td #> '{actions,open,title}' AS open_title, td -> 'description' AS description,
	   (SELECT string_agg(key, ', ' ORDER BY key) FROM jsonb_object_keys(td -> 'events') key) AS events,
	   (SELECT string_agg(key, ', ' ORDER BY key) FROM jsonb_object_keys(td -> 'actions') key) AS actions
  FROM dtmv.thing_description(:'door') td;

-- ---- Bad models: 22023 (22004 for none, 0A000 for what dtmv cannot resolve) ----
SET ROLE regress_wot_admin;
\set ctx '"@context": "https://www.w3.org/2022/wot/td/v1.1"'
SELECT m AS model, dtmv_test.attempt(format('SELECT dtmv.define_kind_from_thing_model(%L)', m)) AS refused
  FROM (VALUES (NULL),
			   ('[]'),
			   ('{' || :'ctx' || ', "title": "valve"}'),
			   ('{' || :'ctx' || ', "@type": "Thing", "title": "valve"}'),
			   ('{"@type": "tm:ThingModel", "title": "valve"}'),
			   ('{"@context": ["https://www.w3.org/2022/wot/td/v1.1", 7], "@type": "tm:ThingModel", "title": "valve"}'),
			   ('{' || :'ctx' || ', "@type": "tm:ThingModel"}'),
			   ('{' || :'ctx' || ', "@type": "tm:ThingModel", "title": "Robot arm"}'),
			   ('{' || :'ctx' || ', "@type": "tm:ThingModel", "title": 5}'),
			   ('{' || :'ctx' || ', "@type": "tm:ThingModel", "title": "valve", "description": ["x"]}'),
			   ('{' || :'ctx' || ', "@type": "tm:ThingModel", "title": "valve", "actions": ["open"]}'),
			   ('{' || :'ctx' || ', "@type": "tm:ThingModel", "title": "valve", "actions": {"open": true}}'),
			   ('{' || :'ctx' || ', "@type": "tm:ThingModel", "title": "valve", "actions": {"Open-Valve": {}}}'),
			   ('{' || :'ctx' || ', "@type": "tm:ThingModel", "title": "valve", "events": {"leak detected": {}}}'),
			   ('{' || :'ctx' || ', "@type": "tm:ThingModel", "title": "valve", "properties": {"": {}}}'),
			   ('{' || :'ctx' || ', "@type": "tm:ThingModel", "title": "valve", "actions": {"open": {"tm:ref": "base.tm.json#/actions/open"}}}'),
			   ('{' || :'ctx' || ', "@type": "tm:ThingModel", "title": "valve", "links": [{"rel": "tm:extends", "href": "base.tm.json"}]}'),
			   ('{' || :'ctx' || ', "@type": "tm:ThingModel", "title": "valve", "description": "Valve {{NUMBER}}"}')) v(m);
-- The kind named overrides a title that is not one; nothing was stored before.
SELECT count(*) AS valves_before FROM dtmv.thing_models WHERE kind = 'valve';
SELECT dtmv.define_kind_from_thing_model(('{' || :'ctx' || ', "@type": "tm:ThingModel", "title": "Robot arm"}')::jsonb, kind => 'valve') AS kind;
SELECT dtmv_test.attempt($$SELECT dtmv.define_kind_from_thing_model('{"@context": "https://www.w3.org/2022/wot/td/v1.1", "@type": "tm:ThingModel"}', kind => 'Valve')$$);
RESET ROLE;
