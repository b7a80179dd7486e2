/*
 * table_read.c
 *		Reading rows of dtmv's own tables from C (see table_read.h).
 *
 * The hot paths (the rights test, the sync queue's decisions, the wake-ups
 * of events) read a handful of rows each through dtmv's own indexes: an
 * index scan started here costs a fraction of an SQL statement's plan and
 * executor.  The tables are read without privilege checks or row-level
 * security, as the extension owner would read them; callers check the
 * caller's rights themselves.
 *
 * Always an index scan proper, not systable_beginscan: that one falls back
 * to a heap scan under ignore_system_indexes (a setting any session may
 * take), which would lose a partial index's predicate and its order, and
 * match no row at all for an IS NULL key.
 */
#include "postgres.h"

#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "fmgr.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "table_read.h"

void
table_read_begin(TableRead *tr, CatalogIndex index, Snapshot snapshot)
{
	tr->index = index;
	tr->rel = catalog_table_open(catalog_index_table(index), AccessShareLock);
	tr->indexrel = catalog_index_open(index, AccessShareLock);
	if (snapshot == NULL)
		snapshot = ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot();
	tr->snapshot = snapshot;
	tr->nkeys = 0;
	tr->scan = NULL;
	tr->slot = table_slot_create(tr->rel, NULL);
}

void
table_read_key(TableRead *tr, int indexcol, StrategyNumber strategy, Datum value)
{
	RegProcedure proc;

	Assert(tr->scan == NULL && tr->nkeys < TABLE_READ_MAX_KEYS);
	if (indexcol == 1 && strategy == BTEqualStrategyNumber)
		proc = catalog_index_eqproc(tr->index, tr->indexrel);
	else
	{
		Oid			type = tr->indexrel->rd_opcintype[indexcol - 1];
		Oid			op = get_opfamily_member(tr->indexrel->rd_opfamily[indexcol - 1], type, type, strategy);

		if (!OidIsValid(op))
			elog(ERROR, "dtmv index %s has no operator of strategy %d on column %d",
				 RelationGetRelationName(tr->indexrel), strategy, indexcol);
		proc = get_opcode(op);
	}
	ScanKeyInit(&tr->keys[tr->nkeys++], indexcol, strategy, proc, value);
}

void
table_read_key_null(TableRead *tr, int indexcol)
{
	Assert(tr->scan == NULL && tr->nkeys < TABLE_READ_MAX_KEYS);
	ScanKeyEntryInitialize(&tr->keys[tr->nkeys++], SK_ISNULL | SK_SEARCHNULL, indexcol,
						   InvalidStrategy, InvalidOid, InvalidOid, InvalidOid, (Datum) 0);
}

bool
table_read_next(TableRead *tr)
{
	if (tr->scan == NULL)
	{
		tr->scan = index_beginscan(tr->rel, tr->indexrel, tr->snapshot, tr->nkeys, 0);
		index_rescan(tr->scan, tr->keys, tr->nkeys, NULL, 0);
	}
	return index_getnext_slot(tr->scan, ForwardScanDirection, tr->slot);
}

Datum
table_read_value(TableRead *tr, AttrNumber attnum, bool *isnull)
{
	return slot_getattr(tr->slot, attnum, isnull);
}

void
table_read_end(TableRead *tr)
{
	if (tr->scan != NULL)
		index_endscan(tr->scan);
	ExecDropSingleTupleTableSlot(tr->slot);
	index_close(tr->indexrel, AccessShareLock);
	table_close(tr->rel, AccessShareLock);
}

bool
table_read_first_value(CatalogIndex index, Datum key, AttrNumber column, Datum *value)
{
	TableRead	tr;
	bool		found = false;

	*value = (Datum) 0;
	table_read_begin(&tr, index, NULL);
	table_read_key(&tr, 1, BTEqualStrategyNumber, key);
	if (table_read_next(&tr))
	{
		Form_pg_attribute att = TupleDescAttr(RelationGetDescr(tr.rel), column - 1);
		bool		isnull;
		Datum		d = table_read_value(&tr, column, &isnull);

		if (!isnull)
		{
			/* a varlena detoasted too: nothing of it points into the scan */
			*value = att->attlen == -1 ? PointerGetDatum(PG_DETOAST_DATUM_COPY(d)) :
				datumCopy(d, att->attbyval, att->attlen);
			found = true;
		}
	}
	table_read_end(&tr);
	return found;
}

void *
array_reserve(void *v, int n, int *cap, Size elemsize)
{
	if (v == NULL || n >= *cap)
	{
		Size		newcap = v == NULL ? Max(*cap, 8) : (Size) *cap * 2;

		while (newcap <= (Size) n)
			newcap *= 2;
		/* an int count, and an allocation palloc can make */
		if (newcap > (Size) INT_MAX || newcap > MaxAllocHugeSize / elemsize)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many elements: %d", n)));
		*cap = (int) newcap;
		v = v == NULL ? palloc_extended(newcap * elemsize, MCXT_ALLOC_HUGE) :
			repalloc_huge(v, newcap * elemsize);
	}
	return v;
}

void
int64_array_add(Int64Array *a, int64 value)
{
	a->v = array_reserve(a->v, a->n, &a->cap, sizeof(int64));
	a->v[a->n++] = value;
}

bool
int64_array_has(const Int64Array *a, int64 value)
{
	int			i;

	for (i = 0; i < a->n; i++)
		if (a->v[i] == value)
			return true;
	return false;
}
