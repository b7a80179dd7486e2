/*
 * table_write.h
 *		Writing rows of dtmv's own tables from C, for the hottest write paths
 *		(a location update, a report, an event append).
 */
#ifndef DTMV_TABLE_WRITE_H
#define DTMV_TABLE_WRITE_H

#include "postgres.h"

#include "access/htup.h"
#include "access/skey.h"
#include "executor/executor.h"
#include "utils/rel.h"

/*
 * One table of schema dtmv opened for writing for the length of one call:
 * what a one-row INSERT or UPDATE statement would set up, without parsing,
 * planning or an executor tree.
 */
typedef struct TableWrite
{
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *rri;
	RangeTblEntry *rte;			/* its updatedCols: what an update changed */
	bool		indices_open;	/* ExecOpenIndices done (only when needed) */
	TupleTableSlot *found;		/* the row being updated */
	TupleTableSlot *next;		/* the row to insert, or the new version */
} TableWrite;

extern void TableWriteInit(void);

/* the oid of a relation of schema dtmv (a table, an index, a sequence); 42P01 if missing */
extern Oid	table_write_relid(const char *name);

/* the equality procedure of a btree index's first key column (with unique: a unique one-column index) */
extern RegProcedure table_index_eqproc(Relation indexrel, Oid relid, bool unique);

/* called for each row found; returns false to stop */
typedef bool (*TableRowFn) (HeapTuple tuple, TupleDesc desc, void *arg);

/* visit the rows that scan keys on index columns select, in index order (an index scan, always) */
extern void table_index_visit(Relation rel, Relation indexrel, Snapshot snapshot, ScanKey keys, int nkeys,
							  TableRowFn fn, void *arg);
/* visit the rows whose first column of index equals key, with the active snapshot */
extern void table_scan_key(const char *table, const char *index, Datum key, TableRowFn fn, void *arg);

/* visit the rows whose first column of index is above key, in its order */
extern void table_scan_after(const char *table, const char *index, Datum key, TableRowFn fn, void *arg);
/* visit every row an index holds, in its order, with the active snapshot */
extern void table_scan_ordered(const char *table, const char *index, TableRowFn fn, void *arg);
/* the number of a column of a row type, by name (elog if missing) */
extern AttrNumber table_desc_attnum(TupleDesc desc, const char *column);
/* a column's value in a row a scan visits, by name; false if NULL */
extern bool table_column(HeapTuple tuple, TupleDesc desc, const char *column, Datum *value);

extern void table_write_open(TableWrite *tw, const char *table);
extern void table_write_close(TableWrite *tw);

/* attribute number of a column (elog if missing) */
extern AttrNumber table_write_attnum(TableWrite *tw, const char *column);

/* change the values (every column) of a row into those of its new version */
typedef void (*TableWriteModify) (TableWrite *tw, Datum *values, bool *nulls, void *arg);

/*
 * Update the row whose key is the given value in a unique index on one
 * column, as UPDATE would: modify gets a copy of its values to change (and
 * is called again with the newer version if a concurrent transaction
 * changed the row first, in READ COMMITTED).  False if there is no row.
 */
extern bool table_write_update_row(TableWrite *tw, const char *index, Datum key,
								   TableWriteModify modify, void *arg);

/* insert a row of values/nulls (every column; no defaults are applied) */
extern void table_write_insert(TableWrite *tw, Datum *values, bool *nulls);

#endif							/* DTMV_TABLE_WRITE_H */
