-- dtmv.catalog_check(): the tables, indexes and sequences the library
-- reads and writes directly (src/catalog.h) against the installed schema.
-- No row: they match.
SELECT * FROM dtmv.catalog_check();

-- A library and a schema that differ: a renamed column (in a transaction,
-- rolled back) is reported, and the library refuses to use the table.
BEGIN;
ALTER TABLE dtmv.sync_requests RENAME COLUMN ready TO is_ready;
SELECT * FROM dtmv.catalog_check();
SAVEPOINT before_use;
SELECT dtmv.recover_syncs();
ROLLBACK TO before_use;
ALTER TABLE dtmv.sync_requests RENAME COLUMN is_ready TO ready;
SELECT dtmv.recover_syncs() AS recovered;
ROLLBACK;
SELECT count(*) AS mismatches FROM dtmv.catalog_check();

-- A column whose type changed is reported too: the C code reads each
-- column with its type's macros.
BEGIN;
ALTER TABLE dtmv.sync_priorities ALTER COLUMN priority TYPE bigint;
SELECT * FROM dtmv.catalog_check();
ROLLBACK;
