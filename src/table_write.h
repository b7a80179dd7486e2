/*
 * table_write.h
 *		Writing one row of dtmv's own tables from C (an INSERT, or an UPDATE
 *		of the row with a key), without an SQL statement: for the writes
 *		where a benchmark shows a statement costs more than the write (the
 *		event append, twin_states, twin_positions, and the sync queue:
 *		a request's insert, its claim, completion and recovery, and the
 *		twin's next due time on completion).  What it gives up against a statement: see
 *		table_write.c.  Reads are in table_read.h.
 */
#ifndef DTMV_TABLE_WRITE_H
#define DTMV_TABLE_WRITE_H

#include "postgres.h"

#include "access/htup.h"
#include "executor/executor.h"
#include "utils/rel.h"

#include "catalog.h"

/*
 * One table of schema dtmv opened for writing for the length of one call:
 * what a one-row INSERT or UPDATE statement would set up, without parsing,
 * planning or an executor tree.
 */
typedef struct TableWrite
{
	CatalogTable table;
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *rri;
	RangeTblEntry *rte;			/* its updatedCols: what an update changed */
	bool		indices_open;	/* ExecOpenIndices done (only when needed) */
	TupleTableSlot *found;		/* the row being updated */
	TupleTableSlot *next;		/* the row to insert, or the new version */
} TableWrite;

extern void TableWriteInit(void);

extern void table_write_open(TableWrite *tw, CatalogTable table);
extern void table_write_close(TableWrite *tw);

/* change the values (every column) of a row into those of its new version */
typedef void (*TableWriteModify) (TableWrite *tw, Datum *values, bool *nulls, void *arg);

/*
 * Update the row whose key is the given value in a unique index on one
 * column, as UPDATE would: modify gets a copy of its values to change (and
 * is called again with the newer version if a concurrent transaction
 * changed the row first, in READ COMMITTED).  False if there is no row.
 */
extern bool table_write_update_row(TableWrite *tw, CatalogIndex index, Datum key,
								   TableWriteModify modify, void *arg);

/* insert a row of values/nulls (every column; no defaults are applied) */
extern void table_write_insert(TableWrite *tw, Datum *values, bool *nulls);

#endif							/* DTMV_TABLE_WRITE_H */
