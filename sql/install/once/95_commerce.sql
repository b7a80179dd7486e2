-- 3rd parties and commerce: orders with a state machine, bills of materials
-- compared with the inventory twins of a space, and binding a delivered
-- product to its design (scenarios 7.1.1, 7.1.2; REQ-MV-06, REQ-MV-07,
-- REQ-SI-03, REQ-SI-04). Services come from the spatial files. See
-- docs/third-parties.md.

-- Units, by dimension, with the factor to the dimension's base unit.
-- (Literals compared with a column are quoted here, to take its type: see
-- the spaces' CHECK in once/90_spatial.sql.)
CREATE TABLE dtmv.units (
	unit text PRIMARY KEY,
	dimension text NOT NULL CHECK (dimension IN ('mass', 'volume', 'count')),
	factor numeric NOT NULL CHECK (factor > '0')
);
INSERT INTO dtmv.units VALUES
	('mg', 'mass', 0.001), ('g', 'mass', 1), ('kg', 'mass', 1000),
	('ml', 'volume', 1), ('cl', 'volume', 10), ('dl', 'volume', 100), ('l', 'volume', 1000),
	('pc', 'count', 1), ('piece', 'count', 1), ('pieces', 'count', 1);
COMMENT ON TABLE dtmv.units IS 'units of quantities and how they convert (g/kg, ml/l, pieces)';

-- Bills of materials: a recipe, furniture instructions; each line a kind of item.
CREATE TABLE dtmv.boms (
	bom_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name text NOT NULL CHECK (name <> ''),
	kind text NOT NULL DEFAULT 'recipe' CHECK (kind IN ('recipe', 'instructions')),
	servings integer NOT NULL DEFAULT 1 CHECK (servings > 0),
	created_by bigint REFERENCES dtmv.subjects ON DELETE SET NULL,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);

CREATE TABLE dtmv.bom_lines (
	bom_id bigint NOT NULL REFERENCES dtmv.boms ON DELETE CASCADE,
	item text NOT NULL CHECK (item <> ''),
	quantity numeric NOT NULL CHECK (quantity > '0' AND quantity < 'Infinity'),	-- NaN sorts above Infinity
	unit text NOT NULL REFERENCES dtmv.units,
	PRIMARY KEY (bom_id, item)
);
COMMENT ON TABLE dtmv.boms IS 'bills of materials: recipes and instructions, for a number of servings (scenario 7.1.2)';
COMMENT ON TABLE dtmv.bom_lines IS 'what a bill of materials needs: a kind of item, a quantity and a unit';

-- Orders.
CREATE TABLE dtmv.orders (
	order_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	service_id bigint NOT NULL REFERENCES dtmv.services,
	customer bigint NOT NULL REFERENCES dtmv.subjects,
	request_key text NOT NULL,
	status text NOT NULL DEFAULT 'placed'
		CHECK (status IN ('placed', 'confirmed', 'in_production', 'shipped', 'delivered', 'cancelled', 'rejected')),
	delivery jsonb NOT NULL DEFAULT '{}',
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	UNIQUE (customer, request_key)
);
CREATE INDEX orders_service ON dtmv.orders (service_id, order_id);

CREATE TABLE dtmv.order_items (
	order_id bigint NOT NULL REFERENCES dtmv.orders ON DELETE CASCADE,
	line integer NOT NULL,
	design dtmv.twin_id REFERENCES dtmv.twin_registry,
	item text,
	quantity numeric NOT NULL DEFAULT 1 CHECK (quantity > '0' AND quantity < 'Infinity'),	-- NaN sorts above Infinity
	unit text NOT NULL DEFAULT 'pc' REFERENCES dtmv.units,
	PRIMARY KEY (order_id, line),
	CONSTRAINT order_items_check CHECK (pg_catalog.num_nonnulls(design, remote_design, item) = 1),
	design_as_ordered jsonb,
	remote_design dtmv.twin_id
);
COMMENT ON TABLE dtmv.orders IS
	'orders placed by users with a 3rd-party service; request_key makes placing idempotent (REQ-MV-07, REQ-SI-03)';
COMMENT ON TABLE dtmv.order_items IS 'what an order is for: a design twin (scenario 7.1.1) or a catalogue item with a quantity and unit (7.1.2)';
COMMENT ON COLUMN dtmv.order_items.remote_design IS
	'a design twin of another system (federation: an order placed through a metaverse system): what the provider builds is design_as_ordered, as the customer''s system sent it';
COMMENT ON COLUMN dtmv.order_items.design_as_ordered IS
	'the design twin''s name, kind, properties and model as they were when the order was placed: what the provider builds';

-- Who may move an order from one status to another: the customer or the
-- provider (the subject operating the service's system).
CREATE TABLE dtmv.order_transitions (
	from_status text NOT NULL,
	to_status text NOT NULL,
	party text NOT NULL CHECK (party IN ('customer', 'provider')),
	PRIMARY KEY (from_status, to_status)
);
INSERT INTO dtmv.order_transitions VALUES
	('placed', 'confirmed', 'provider'), ('placed', 'rejected', 'provider'),
	('placed', 'cancelled', 'customer'), ('confirmed', 'cancelled', 'customer'),
	('confirmed', 'in_production', 'provider'), ('confirmed', 'shipped', 'provider'),
	('in_production', 'shipped', 'provider'), ('shipped', 'delivered', 'provider');
COMMENT ON TABLE dtmv.order_transitions IS 'the order state machine: allowed transitions and the party that makes each';
ALTER TABLE dtmv.units ENABLE ROW LEVEL SECURITY;
ALTER TABLE dtmv.order_transitions ENABLE ROW LEVEL SECURITY;
ALTER TABLE dtmv.boms ENABLE ROW LEVEL SECURITY;
ALTER TABLE dtmv.bom_lines ENABLE ROW LEVEL SECURITY;

-- A customer sees its orders; a 3rd party sees the orders of its services,
-- and nothing else of the customer (REQ-SI-04).
ALTER TABLE dtmv.orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE dtmv.order_items ENABLE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('dtmv.boms', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.boms_bom_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.bom_lines', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.orders', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.orders_order_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.order_items', '');
