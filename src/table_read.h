/*
 * table_read.h
 *		Reading rows of dtmv's own tables from C: an index scan as a plain
 *		begin / next / end loop, and the few helpers the readers share.
 *
 *		TableRead tr;
 *
 *		table_read_begin(&tr, CATALOG_SYNC_REQUESTS_PENDING, NULL);
 *		table_read_key(&tr, 1, BTEqualStrategyNumber, TwinIdPGetDatum(twin));
 *		while (table_read_next(&tr))
 *			... table_read_value(&tr, Anum_sync_requests_priority, &isnull) ...
 *		table_read_end(&tr);
 */
#ifndef DTMV_TABLE_READ_H
#define DTMV_TABLE_READ_H

#include "postgres.h"

#include "access/genam.h"
#include "access/skey.h"
#include "executor/tuptable.h"
#include "utils/snapshot.h"

#include "catalog.h"

#define TABLE_READ_MAX_KEYS 3

typedef struct TableRead
{
	CatalogIndex index;
	Relation	rel;
	Relation	indexrel;
	Snapshot	snapshot;
	ScanKeyData keys[TABLE_READ_MAX_KEYS];
	int			nkeys;
	IndexScanDesc scan;			/* started by the first table_read_next */
	TupleTableSlot *slot;		/* the row found */
} TableRead;

/* read a table through one of its indexes, as snapshot (NULL: the running statement's) sees it */
extern void table_read_begin(TableRead *tr, CatalogIndex index, Snapshot snapshot);
/* only rows whose index column indexcol compares to value by strategy (a btree strategy) */
extern void table_read_key(TableRead *tr, int indexcol, StrategyNumber strategy, Datum value);
/* only rows whose index column indexcol is NULL */
extern void table_read_key_null(TableRead *tr, int indexcol);
/* the next row, in the index's order; false at the end */
extern bool table_read_next(TableRead *tr);
/* a column of the row found (valid until the next row) */
extern Datum table_read_value(TableRead *tr, AttrNumber attnum, bool *isnull);
extern void table_read_end(TableRead *tr);

/*
 * Column column of the first row whose first index column equals key,
 * copied into the current memory context (it outlives the scan); false if
 * there is none or it is NULL.
 */
extern bool table_read_first_value(CatalogIndex index, Datum key, AttrNumber column, Datum *value);

/* a growable array of int64 */
typedef struct Int64Array
{
	int64	   *v;
	int			n;
	int			cap;
} Int64Array;

extern void int64_array_add(Int64Array *a, int64 value);
extern bool int64_array_has(const Int64Array *a, int64 value);

/* room for n + 1 elements of elemsize in *v (palloc'd, doubled as it grows) */
extern void *array_reserve(void *v, int n, int *cap, Size elemsize);

#endif							/* DTMV_TABLE_READ_H */
