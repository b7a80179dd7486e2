-- The library's view of dtmv's own tables (src/catalog.h) against the
-- installed schema: the operator's check after an upgrade or a restore.
CREATE OR REPLACE FUNCTION dtmv.catalog_check()
RETURNS TABLE (relation text, attnum integer, expected text, actual text)
	AS 'MODULE_PATHNAME', 'dtmv_catalog_check' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv.catalog_check() IS
	'operator''s check after an upgrade or a restore: every difference between the tables, indexes and sequences the loaded dtmv library reads and writes directly and those installed (a column expected at attnum, an index key column at its position, a missing relation); no row when the library matches the schema. A row means the library and the extension''s SQL come from different versions: run ALTER EXTENSION dtmv UPDATE';
