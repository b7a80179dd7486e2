-- Keys between the relations of two concerns, made once both exist: no
-- run-once file alters a relation of another.

-- The gateway a twin's device is bound through (98_agents.sql).
ALTER TABLE dtmv.twin_states ADD FOREIGN KEY (gateway) REFERENCES dtmv.gateways ON DELETE SET NULL;
-- The gateway whose queue a ready sync request is in (80_sync.sql).
ALTER TABLE dtmv.sync_requests ADD FOREIGN KEY (gateway) REFERENCES dtmv.gateways ON DELETE SET NULL;

-- A grant on a space (50_rights.sql) names a space of 90_spatial.sql. Rights
-- on a space cover the twins placed in it and in the spaces below it
-- (REQ-DT-05): acl keys -(space * 16 + r), see docs/rights.md.
ALTER TABLE dtmv.grants ADD FOREIGN KEY (space_id) REFERENCES dtmv.spaces ON DELETE CASCADE;
CREATE INDEX grants_space ON dtmv.grants (space_id) WHERE space_id IS NOT NULL;
