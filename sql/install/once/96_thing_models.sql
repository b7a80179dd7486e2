-- W3C Web of Things (docs/thing-descriptions.md): the Thing Model that each
-- kind of twin was defined from. dtmv.kind_actions stays the truth about
-- which actions a kind offers (dtmv.interact reads it); a kind's model adds
-- what a Thing Description of its twins says beyond names: titles,
-- descriptions, the data schemas of action inputs and outputs, of events and
-- of properties, and the events the kind's gateways report.

CREATE TABLE dtmv.thing_models (
	kind text NOT NULL CHECK (dtmv._is_identifier(kind)),
	-- the model as imported: "title", "description", "@type" (without
	-- tm:ThingModel), "@context" (the vocabularies beyond the TD's), and
	-- "properties", "actions", "events" (each affordance without forms)
	model jsonb NOT NULL CHECK (pg_catalog.jsonb_typeof(model) = 'object'),
	builtin boolean NOT NULL DEFAULT false,
	defined_by bigint REFERENCES dtmv.subjects ON DELETE SET NULL,
	defined_at timestamptz DEFAULT pg_catalog.now(),	-- NULL: built in
	-- An imported model stands beside a built-in one of its kind, and wins:
	-- the built-in row is never changed, so that a restore (which dumps
	-- only the rows that are not built in, CREATE EXTENSION making the
	-- others) never meets two rows for one key.
	PRIMARY KEY (kind, builtin)
);
COMMENT ON TABLE dtmv.thing_models IS
	'the W3C Thing Model each kind of twin was defined from (dtmv.define_kind_from_thing_model): what Thing Descriptions of its twins say of its properties, actions and events (REQ-DT-04, REQ-DT-06)';
COMMENT ON COLUMN dtmv.thing_models.defined_at IS 'when the model was imported; NULL for a built-in one (the same in every database)';
COMMENT ON COLUMN dtmv.thing_models.model IS
	'the model as imported: title, description, @type, @context beyond the TD''s, and properties, actions and events without forms';

-- The built-in kinds of dtmv.kind_actions, described; their events are the
-- ones dtmv's own gateway program reports (gateway/dtmv_home.c).
INSERT INTO dtmv.thing_models (kind, model, builtin, defined_at) VALUES
	('door', '{
		"title": "Door",
		"description": "A door with a lock, a doorbell and a camera.",
		"properties": {
			"door": {"title": "Door position", "type": "string", "enum": ["open", "closed", "locked"]},
			"doorbell": {"title": "Doorbell", "type": "string"},
			"camera": {"title": "Latest camera picture", "type": "string"}
		},
		"actions": {
			"open": {"title": "Open the door", "idempotent": true},
			"close": {"title": "Close the door", "idempotent": true},
			"lock": {"title": "Lock the door", "idempotent": true},
			"view_camera": {"title": "Take a camera picture", "safe": true}
		},
		"events": {
			"doorbell": {"title": "Someone rang", "data": {"type": "object", "properties": {
				"doorbell": {"type": "string"}, "camera": {"type": "string"}}}}
		}}', true, NULL),
	('lamp', '{
		"title": "Lamp",
		"description": "A lamp that can be switched on and off.",
		"properties": {
			"light": {"title": "Light", "type": "string", "enum": ["on", "off"]}
		},
		"actions": {
			"on": {"title": "Switch on", "idempotent": true},
			"off": {"title": "Switch off", "idempotent": true}
		}}', true, NULL),
	('robot', '{
		"title": "Robot",
		"description": "An industrial robot that can be stopped and resumed.",
		"properties": {
			"motion": {"title": "Motion", "type": "string", "enum": ["stopped", "running"]}
		},
		"actions": {
			"stop": {"title": "Stop moving", "idempotent": true},
			"resume": {"title": "Resume moving", "idempotent": true}
		}}', true, NULL);

ALTER TABLE dtmv.thing_models ENABLE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('dtmv.thing_models', 'WHERE NOT builtin');
