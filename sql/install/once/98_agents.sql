-- Services: the parties that speak for others (docs/rights.md, "Trust
-- model"). A gateway speaks for physical objects: only for the devices
-- bound to a twin through it (dtmv.twin_states.gateway, confirmed). A
-- service (a metaverse system, a 3rd party) acts for a user only where that
-- user delegated to it, and only with the rights the delegation allows.

CREATE TABLE dtmv.gateways (
	subject_id bigint PRIMARY KEY REFERENCES dtmv.subjects ON DELETE CASCADE,
	owner_subject bigint NOT NULL REFERENCES dtmv.subjects ON DELETE CASCADE,
	registered_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX gateways_owner ON dtmv.gateways (owner_subject);
COMMENT ON TABLE dtmv.gateways IS
	'gateways to physical objects: a system subject mapped to the gateway''s login, and the user or group whose devices it may serve';
COMMENT ON COLUMN dtmv.gateways.owner_subject IS
	'the user or group (its members too) that may bind devices through this gateway';

CREATE TABLE dtmv.delegations (
	subject_id bigint NOT NULL REFERENCES dtmv.subjects ON DELETE CASCADE,
	service_id bigint NOT NULL REFERENCES dtmv.subjects ON DELETE CASCADE,
	rights integer NOT NULL CHECK (rights > 0 AND rights < 64),
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (subject_id, service_id),
	CHECK (subject_id <> service_id)
);
CREATE INDEX delegations_service ON dtmv.delegations (service_id);
COMMENT ON TABLE dtmv.delegations IS
	'which service may act for which user (dtmv.act_as), and with which of the user''s rights at most (REQ-DT-05)';

ALTER TABLE dtmv.gateways ENABLE ROW LEVEL SECURITY;
ALTER TABLE dtmv.delegations ENABLE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('dtmv.gateways', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.delegations', '');
