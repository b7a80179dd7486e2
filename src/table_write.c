/*
 * table_write.c
 *		Writing one row of dtmv's own tables from C, where a benchmark shows
 *		that an SQL statement would cost more than the write itself.
 *
 * Used by: the event append (events.c), the reported state (events.c),
 * the location update (spatial.c), and the sync queue's request, claim
 * and completion (sync_queue.c).  Done as SQL statements inside PL/pgSQL
 * these cost several times the write itself: a plan to check and an
 * executor to start per statement, and a GUC nest level per function with
 * SET search_path.  Here they go through the executor's own single-row
 * entry points: ExecSimpleRelationInsert, the one logical replication
 * applies rows with, and table_tuple_update with what ExecUpdate does
 * around it.  Constraints are checked, indexes opened and maintained only
 * when an update is not HOT, AFTER row triggers queued and fired as for a
 * statement, WAL written as for any heap change.
 *
 * What a caller gives up compared with an INSERT or UPDATE statement, and
 * must say so where it calls: rules, statement triggers and BEFORE or
 * INSTEAD OF row triggers (refused, not skipped), generated columns
 * (refused), table privileges and row-level security (not checked: the
 * callers are dtmv functions that check the caller's rights themselves, as
 * the SECURITY DEFINER functions they replace did), and the executor hooks
 * (pg_stat_statements and pgaudit see the calling statement).  The UPDATE
 * semantics (a concurrent update followed in READ COMMITTED, 40001 above)
 * are re-implemented here and must be audited for each major version.
 *
 * The rows are found and read with table_read.c; the relations named
 * through catalog.c.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "storage/bufmgr.h"
#include "tcop/utility.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "table_write.h"

/*
 * The CHECK constraints of the tables written, compiled once per backend.
 * A statement compiles them for every INSERT or UPDATE (parse of the
 * stored expression, planning, executor set-up): on a one-row write that
 * was a third of an event append.  Kept in their own memory context and
 * forgotten on any relcache invalidation of the table (ALTER TABLE, DROP);
 * a writer open at that moment may still be using them, so their memory is
 * handed to the transaction and freed when it ends.
 */
#define CHECK_CACHE_SIZE 8

typedef struct CheckCache
{
	Oid			relid;
	MemoryContext context;
	ExprState **exprs;
} CheckCache;

static CheckCache check_cache[CHECK_CACHE_SIZE];

static void
table_write_forget_checks(CheckCache *entry)
{
	if (TopTransactionContext != NULL)
		MemoryContextSetParent(entry->context, TopTransactionContext);
	else
		MemoryContextDelete(entry->context);
	memset(entry, 0, sizeof(CheckCache));
}

static void
table_write_relcache_callback(Datum arg, Oid relid)
{
	int			i;

	for (i = 0; i < CHECK_CACHE_SIZE; i++)
		if (OidIsValid(check_cache[i].relid) && (!OidIsValid(relid) || check_cache[i].relid == relid))
			table_write_forget_checks(&check_cache[i]);
}

void
TableWriteInit(void)
{
	CacheRegisterRelcacheCallback(table_write_relcache_callback, (Datum) 0);
}

/*
 * An expression whose compiled form keeps per-query state from its first
 * evaluation (a whole-row reference's tuple descriptor, a row conversion
 * map) cannot outlive the executor state it first ran in: not cached.
 */
static bool
table_write_check_unsafe(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if ((IsA(node, Var) && ((Var *) node)->varattno == InvalidAttrNumber) ||
		IsA(node, ConvertRowtypeExpr) || IsA(node, SubPlan))
		return true;
	return expression_tree_walker(node, table_write_check_unsafe, context);
}

/* the table's compiled CHECK constraints, as ExecConstraints would build them */
static ExprState **
table_write_checks(Relation rel)
{
	TupleConstr *constr = RelationGetDescr(rel)->constr;
	CheckCache *entry = NULL;
	MemoryContext context;
	MemoryContext old;
	ExprState **exprs;
	int			i;

	if (constr == NULL || constr->num_check == 0)
		return NULL;
	for (i = 0; i < CHECK_CACHE_SIZE; i++)
		if (check_cache[i].relid == RelationGetRelid(rel))
			return check_cache[i].exprs;
	for (i = 0; i < CHECK_CACHE_SIZE && entry == NULL; i++)
		if (!OidIsValid(check_cache[i].relid))
			entry = &check_cache[i];
	if (entry == NULL)
		return NULL;			/* full: compiled per call, as by a statement */
	/* compiled in a context of its own, kept only once all compiled */
	context = AllocSetContextCreate(CurrentMemoryContext, "dtmv table checks", ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(context);
	exprs = palloc(constr->num_check * sizeof(ExprState *));
	for (i = 0; i < constr->num_check; i++)
	{
		Expr	   *expr = expression_planner(stringToNode(constr->check[i].ccbin));

		if (table_write_check_unsafe((Node *) expr, NULL))
		{
			MemoryContextSwitchTo(old);
			MemoryContextDelete(context);
			return NULL;
		}
		exprs[i] = ExecInitExpr(expr, NULL);
	}
	MemoryContextSwitchTo(old);
	MemoryContextSetParent(context, CacheMemoryContext);
	entry->context = context;
	entry->exprs = exprs;
	entry->relid = RelationGetRelid(rel);
	return exprs;
}

/* open a table of schema dtmv for writing rows, as a one-row statement would */
void
table_write_open(TableWrite *tw, CatalogTable table)
{
	RangeTblEntry *rte;

	/* what the executor checks before any INSERT or UPDATE */
	if (XactReadOnly)
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot write dtmv.%s in a read-only transaction", catalog_table_name(table))));
	PreventCommandIfParallelMode("a dtmv write");

	/* see what earlier statements and calls of this statement wrote */
	CommandCounterIncrement();

	tw->table = table;
	tw->rel = catalog_table_open(table, RowExclusiveLock);
	/* what a statement would apply and this does not: refused, not skipped */
	if (RelationGetDescr(tw->rel)->constr && RelationGetDescr(tw->rel)->constr->has_generated_stored)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("generated columns in dtmv.%s are not supported", catalog_table_name(table))));
	if (tw->rel->rd_rules != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("rules on dtmv.%s are not supported", catalog_table_name(table)),
				 errdetail("dtmv writes this table's rows directly, without applying rules.")));
	tw->estate = CreateExecutorState();
	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_RELATION;
	rte->relid = RelationGetRelid(tw->rel);
	rte->relkind = tw->rel->rd_rel->relkind;
	rte->rellockmode = RowExclusiveLock;
	ExecInitRangeTable(tw->estate, list_make1(rte));
	tw->rte = rte;
	tw->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(tw->rri, tw->rel, 1, NULL, 0);
	tw->rri->ri_ConstraintExprs = table_write_checks(tw->rel);
	tw->estate->es_opened_result_relations = lappend(tw->estate->es_opened_result_relations, tw->rri);
	tw->estate->es_output_cid = GetCurrentCommandId(true);
	tw->estate->es_snapshot = GetActiveSnapshot();
	tw->indices_open = false;
	tw->found = NULL;			/* made by the update path only */
	tw->next = ExecInitExtraTupleSlot(tw->estate, RelationGetDescr(tw->rel), &TTSOpsVirtual);
	AfterTriggerBeginQuery();
}

/* fire the row triggers queued (foreign keys, dtmv's own) and let go */
void
table_write_close(TableWrite *tw)
{
	AfterTriggerEndQuery(tw->estate);
	if (tw->indices_open)
		ExecCloseIndices(tw->rri);
	ExecResetTupleTable(tw->estate->es_tupleTable, false);
	FreeExecutorState(tw->estate);
	/* the lock is kept to the end of the transaction, as for a statement */
	table_close(tw->rel, NoLock);
}

/* the row with this key in a unique one-column index, as snapshot sees it, into tw->found */
static bool
table_write_fetch(TableWrite *tw, CatalogIndex index, Datum key, Snapshot snapshot)
{
	Relation	indexrel = catalog_index_open(index, RowExclusiveLock);
	ScanKeyData skey;
	IndexScanDesc scan;
	bool		found;

	if (catalog_index_table(index) != tw->table || !indexrel->rd_index->indisunique ||
		indexrel->rd_index->indnkeyatts != 1)
		elog(ERROR, "dtmv.%s is not a unique one-column index of dtmv.%s",
			 RelationGetRelationName(indexrel), RelationGetRelationName(tw->rel));
	ScanKeyInit(&skey, 1, BTEqualStrategyNumber, catalog_index_eqproc(index, indexrel), key);
	if (tw->found == NULL)
		tw->found = table_slot_create(tw->rel, &tw->estate->es_tupleTable);
	scan = index_beginscan(tw->rel, indexrel, snapshot, 1, 0);
	index_rescan(scan, &skey, 1, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, tw->found);
	index_endscan(scan);
	index_close(indexrel, NoLock);
	return found;
}

/*
 * The table's indexes, opened when first needed: an update that is HOT
 * (most location updates and reports) touches none of them.
 */
static void
table_write_open_indices(TableWrite *tw)
{
	if (!tw->indices_open)
		ExecOpenIndices(tw->rri, false);
	tw->indices_open = true;
}

/* the columns whose value differs between tw->found and tw->next */
static Bitmapset *
table_write_changed_columns(TableWrite *tw)
{
	TupleDesc	desc = RelationGetDescr(tw->rel);
	Bitmapset  *changed = NULL;
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		bool		was_null = tw->found->tts_isnull[i];
		bool		is_null = tw->next->tts_isnull[i];

		if (att->attisdropped)
			continue;
		if (was_null != is_null ||
			(!is_null && !datumIsEqual(tw->found->tts_values[i], tw->next->tts_values[i],
									   att->attbyval, att->attlen)))
			changed = bms_add_member(changed, i + 1 - FirstLowInvalidHeapAttributeNumber);
	}
	return changed;
}

/*
 * What UPDATE ... WHERE key = $1 does for one row (ExecUpdate): find it with
 * the statement's snapshot, update it; if a concurrent transaction changed
 * it meanwhile, in READ COMMITTED lock its newest version and apply the
 * change to that (modify is called again), in REPEATABLE READ and above
 * fail with 40001.  No row lock is taken before the update: the update is
 * the lock, as for UPDATE.
 */
bool
table_write_update_row(TableWrite *tw, CatalogIndex index, Datum key, TableWriteModify modify, void *arg)
{
	TupleDesc	desc = RelationGetDescr(tw->rel);
	TriggerDesc *triggers = tw->rri->ri_TrigDesc;
	Snapshot	snapshot;
	bool		found;

	/*
	 * Only AFTER row triggers are fired (as an UPDATE would); the others are
	 * refused, not skipped.  dtmv's tables written here have none: modify()
	 * is what a BEFORE trigger would do.
	 */
	if (triggers && (triggers->trig_update_before_row || triggers->trig_update_instead_row ||
					 triggers->trig_update_before_statement || triggers->trig_update_after_statement ||
					 triggers->trig_update_old_table || triggers->trig_update_new_table))
		elog(ERROR, "only AFTER row triggers are supported on dtmv.%s when it is updated from C",
			 RelationGetRelationName(tw->rel));

	/*
	 * The calling statement's snapshot, as one UPDATE statement would use,
	 * seeing this transaction's earlier writes (those of this statement
	 * too).  Not a new snapshot per call: with many backends connected
	 * (idle listeners) taking one costs as much as the update, and a row
	 * that a concurrent transaction changes is followed to its newest
	 * version below anyway.
	 */
	PushCopiedSnapshot(GetActiveSnapshot());
	UpdateActiveSnapshotCommandId();
	snapshot = GetActiveSnapshot();

	found = table_write_fetch(tw, index, key, snapshot);
	while (found)
	{
		TM_Result	result;
		TM_FailureData tmfd;
		LockTupleMode lockmode;
		bool		update_indexes;
		ItemPointerData oldtid;

		slot_getallattrs(tw->found);
		ExecClearTuple(tw->next);
		memcpy(tw->next->tts_values, tw->found->tts_values, desc->natts * sizeof(Datum));
		memcpy(tw->next->tts_isnull, tw->found->tts_isnull, desc->natts * sizeof(bool));
		modify(tw, tw->next->tts_values, tw->next->tts_isnull, arg);
		ExecStoreVirtualTuple(tw->next);
		/* the columns changed: AFTER UPDATE OF triggers look at them */
		tw->rte->updatedCols = table_write_changed_columns(tw);
		if (desc->constr)
			ExecConstraints(tw->rri, tw->next, tw->estate);

		oldtid = tw->found->tts_tid;
		result = table_tuple_update(tw->rel, &oldtid, tw->next, tw->estate->es_output_cid, snapshot,
									InvalidSnapshot, true, &tmfd, &lockmode, &update_indexes);
		if (result == TM_Ok)
		{
			List	   *recheck = NIL;

			if (update_indexes)
				table_write_open_indices(tw);
			if (tw->rri->ri_NumIndices > 0 && update_indexes)
				recheck = ExecInsertIndexTuples(tw->rri, tw->next, tw->estate, true, false, NULL, NIL);
			ExecARUpdateTriggers(tw->estate, tw->rri, NULL, NULL, &oldtid, NULL, tw->next, recheck,
								 NULL, false);
			list_free(recheck);
			break;
		}
		if (result == TM_SelfModified)
			ereport(ERROR,
					(errcode(ERRCODE_TRIGGERED_DATA_CHANGE_VIOLATION),
					 errmsg("tuple to be updated was already modified by an operation triggered by the current command")));
		if (result != TM_Updated && result != TM_Deleted)
			elog(ERROR, "unexpected table_tuple_update status: %u", result);
		if (IsolationUsesXactSnapshot())
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to concurrent %s",
							result == TM_Updated ? "update" : "delete")));
		if (result == TM_Deleted)
			found = false;
		else
		{
			result = table_tuple_lock(tw->rel, &tmfd.ctid, snapshot, tw->found, tw->estate->es_output_cid,
									  lockmode, LockWaitBlock, TUPLE_LOCK_FLAG_FIND_LAST_VERSION, &tmfd);
			if (result == TM_Deleted)
				found = false;
			else if (result != TM_Ok)
				elog(ERROR, "unexpected table_tuple_lock status: %u", result);
		}
	}
	PopActiveSnapshot();
	return found;
}

void
table_write_insert(TableWrite *tw, Datum *values, bool *nulls)
{
	int			natts = RelationGetDescr(tw->rel)->natts;
	TriggerDesc *triggers = tw->rri->ri_TrigDesc;

	/* as for updates: AFTER row triggers only (a BEFORE one could drop the row unseen) */
	if (triggers && (triggers->trig_insert_before_row || triggers->trig_insert_instead_row ||
					 triggers->trig_insert_before_statement || triggers->trig_insert_after_statement ||
					 triggers->trig_insert_new_table))
		elog(ERROR, "only AFTER row triggers are supported on dtmv.%s when rows are inserted from C",
			 RelationGetRelationName(tw->rel));
	ExecClearTuple(tw->next);
	memcpy(tw->next->tts_values, values, natts * sizeof(Datum));
	memcpy(tw->next->tts_isnull, nulls, natts * sizeof(bool));
	ExecStoreVirtualTuple(tw->next);
	table_write_open_indices(tw);
	ExecSimpleRelationInsert(tw->rri, tw->estate, tw->next);
}
