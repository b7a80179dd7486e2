/*
 * catalog.c
 *		dtmv's own tables, indexes and sequences: their names and column
 *		numbers checked against the installed schema, their relation ids
 *		cached per backend (see catalog.h).
 *
 * The cache has the shape of contrib postgres_fdw's shippable.c and
 * pg_cron's relid cache: filled lazily, an entry at a time, and an entry
 * forgotten by a relcache invalidation of its relation (ALTER TABLE, DROP
 * EXTENSION, a rename), so that a dropped and re-created extension is found
 * again and a changed table is checked again.  Dropping schema dtmv drops
 * every relation in it, so the schema's oid is forgotten with any of them.
 * Without the cache each write looked its table up by name (a namespace
 * and a relation lookup) and each read its index too.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "catalog.h"

/*
 * A column as the library reads or writes it: its name and its type's name
 * (pg_type.typname; "_int8" is bigint[]), compared with what the table has.
 * The name catches a column moved or renamed; the type, one that another
 * version changed (the C code reads each column with its type's macros).
 */
typedef struct CatalogColumnDef
{
	const char *name;
	const char *type;
	bool		later;			/* added after release 0.1: a schema still at
								 * 0.1 ends before it (catalog_table_has) */
} CatalogColumnDef;

typedef struct CatalogTableDef
{
	const char *name;
	int			natts;
	const CatalogColumnDef *columns;	/* column attnum - 1 */
} CatalogTableDef;

typedef struct CatalogIndexDef
{
	const char *name;
	CatalogTable table;
	int			nkeys;
	AttrNumber	keys[3];		/* the table's columns, in index key order */
	bool		only_0_1;		/* a schema still at release 0.1 has it; it
								 * is dropped by the update */
} CatalogIndexDef;

static const CatalogColumnDef subjects_columns[] = {
	{"subject_id", "int8"}, {"name", "text"}, {"kind", "text"}, {"login", "regrole"},
	{"created_at", "timestamptz"}
};
static const CatalogColumnDef group_members_columns[] = {
	{"group_id", "int8"}, {"member_id", "int8"}
};
static const CatalogColumnDef grants_columns[] = {
	{"subject_id", "int8"}, {"twin", "twin_id"}, {"space_id", "int8"}, {"granted", "int4"},
	{"revoked", "int4"}, {"refused", "bool", true}
};
static const CatalogColumnDef twin_registry_columns[] = {
	{"id", "twin_id"}, {"system_no", "int4"}, {"kind", "text"}, {"name", "text"},
	{"properties", "jsonb"}, {"model_uri", "text"}, {"sync_period", "interval"},
	{"sync_priority", "int4"}, {"created_by", "int8"}, {"created_at", "timestamptz"},
	{"updated_at", "timestamptz"}, {"acl", "_int8"}
};
static const CatalogColumnDef twin_states_columns[] = {
	{"twin", "twin_id"}, {"reported", "jsonb"}, {"desired", "jsonb"},
	{"reported_at", "timestamptz"}, {"desired_at", "timestamptz"}, {"physical_binding", "text"},
	{"gateway", "int8", true}, {"binding_confirmed_at", "timestamptz", true}
};
static const CatalogColumnDef twin_positions_columns[] = {
	{"twin", "twin_id"}, {"site", "int8"}, {"space", "int8"}, {"position", "geometry"},
	{"cell", "geometry"}, {"orientation", "_float8"}, {"footprint", "geometry"},
	{"moved_at", "timestamptz"}
};
static const CatalogColumnDef worlds_columns[] = {
	{"world_id", "int8"}, {"name", "text"}, {"system_no", "int4"}, {"owner_subject", "int8"},
	{"created_at", "timestamptz"}
};
static const CatalogColumnDef world_twins_columns[] = {
	{"world_id", "int8"}, {"twin", "twin_id"}, {"added_by", "int8"}, {"added_at", "timestamptz"}
};
static const CatalogColumnDef sync_priorities_columns[] = {
	{"twin", "twin_id"}, {"subject_id", "int8"}, {"priority", "int4"}
};
static const CatalogColumnDef sync_requests_columns[] = {
	{"request_id", "int8"}, {"twin", "twin_id"}, {"subject_id", "int8"}, {"priority", "int4"},
	{"status", "text"}, {"batch", "int8"}, {"requested_at", "timestamptz"},
	{"started_at", "timestamptz"}, {"finished_at", "timestamptz"}, {"lease_until", "timestamptz"},
	{"session_lock", "bool"}, {"gateway_pid", "int4"}, {"ready", "bool"}, {"gateway", "int8", true}
};
static const CatalogColumnDef sync_schedule_columns[] = {
	{"twin", "twin_id"}, {"next_due", "timestamptz"}
};
static const CatalogColumnDef event_inbox_columns[] = {
	{"entry_id", "int8"}, {"twin", "twin_id"}, {"subject_id", "int8"}, {"kind", "text"},
	{"payload", "jsonb"}, {"created_at", "timestamptz"}
};
static const CatalogColumnDef gateways_columns[] = {
	{"subject_id", "int8"}, {"owner_subject", "int8"}, {"registered_at", "timestamptz"}
};
static const CatalogColumnDef delegations_columns[] = {
	{"subject_id", "int8"}, {"service_id", "int8"}, {"rights", "int4"}, {"created_at", "timestamptz"}
};
static const CatalogColumnDef channel_key_columns[] = {
	{"one", "bool"}, {"secret", "bytea"}
};

/* a table's names and its Anum_ enum must agree (the compiler checks the count) */
#define TABLE_DEF(name, anum_max) \
	{#name, lengthof(name##_columns), name##_columns}; \
	StaticAssertDecl(lengthof(name##_columns) == (anum_max) - 1, "columns of " #name)

static const CatalogTableDef subjects_def = TABLE_DEF(subjects, _Anum_subjects_max);
static const CatalogTableDef group_members_def = TABLE_DEF(group_members, _Anum_group_members_max);
static const CatalogTableDef grants_def = TABLE_DEF(grants, _Anum_grants_max);
static const CatalogTableDef twin_registry_def = TABLE_DEF(twin_registry, _Anum_twin_registry_max);
static const CatalogTableDef twin_states_def = TABLE_DEF(twin_states, _Anum_twin_states_max);
static const CatalogTableDef twin_positions_def = TABLE_DEF(twin_positions, _Anum_twin_positions_max);
static const CatalogTableDef worlds_def = TABLE_DEF(worlds, _Anum_worlds_max);
static const CatalogTableDef world_twins_def = TABLE_DEF(world_twins, _Anum_world_twins_max);
static const CatalogTableDef sync_priorities_def = TABLE_DEF(sync_priorities, _Anum_sync_priorities_max);
static const CatalogTableDef sync_requests_def = TABLE_DEF(sync_requests, _Anum_sync_requests_max);
static const CatalogTableDef sync_schedule_def = TABLE_DEF(sync_schedule, _Anum_sync_schedule_max);
static const CatalogTableDef event_inbox_def = TABLE_DEF(event_inbox, _Anum_event_inbox_max);
static const CatalogTableDef gateways_def = TABLE_DEF(gateways, _Anum_gateways_max);
static const CatalogTableDef delegations_def = TABLE_DEF(delegations, _Anum_delegations_max);
static const CatalogTableDef channel_key_def = TABLE_DEF(channel_key, _Anum_channel_key_max);

static const CatalogTableDef *const tables[_CATALOG_NTABLES] = {
	[CATALOG_SUBJECTS] = &subjects_def,
	[CATALOG_GROUP_MEMBERS] = &group_members_def,
	[CATALOG_GRANTS] = &grants_def,
	[CATALOG_TWIN_REGISTRY] = &twin_registry_def,
	[CATALOG_TWIN_STATES] = &twin_states_def,
	[CATALOG_TWIN_POSITIONS] = &twin_positions_def,
	[CATALOG_WORLDS] = &worlds_def,
	[CATALOG_WORLD_TWINS] = &world_twins_def,
	[CATALOG_SYNC_PRIORITIES] = &sync_priorities_def,
	[CATALOG_SYNC_REQUESTS] = &sync_requests_def,
	[CATALOG_SYNC_SCHEDULE] = &sync_schedule_def,
	[CATALOG_EVENT_INBOX] = &event_inbox_def,
	[CATALOG_GATEWAYS] = &gateways_def,
	[CATALOG_DELEGATIONS] = &delegations_def,
	[CATALOG_CHANNEL_KEY] = &channel_key_def,
};

static const CatalogIndexDef indexes[_CATALOG_NINDEXES] = {
	[CATALOG_SUBJECTS_PKEY] = {"subjects_pkey", CATALOG_SUBJECTS, 1, {Anum_subjects_subject_id}},
	[CATALOG_SUBJECTS_LOGIN_KEY] = {"subjects_login_key", CATALOG_SUBJECTS, 1, {Anum_subjects_login}},
	[CATALOG_GROUP_MEMBERS_PKEY] = {"group_members_pkey", CATALOG_GROUP_MEMBERS, 2,
	{Anum_group_members_group_id, Anum_group_members_member_id}},
	[CATALOG_GROUP_MEMBERS_MEMBER_ID_IDX] = {"group_members_member_id_idx", CATALOG_GROUP_MEMBERS, 1,
	{Anum_group_members_member_id}},
	[CATALOG_GRANTS_SUBJECT_ID_TWIN_SPACE_ID_KEY] = {"grants_subject_id_twin_space_id_key", CATALOG_GRANTS, 3,
	{Anum_grants_subject_id, Anum_grants_twin, Anum_grants_space_id}},
	[CATALOG_GRANTS_TWIN] = {"grants_twin", CATALOG_GRANTS, 1, {Anum_grants_twin}},
	[CATALOG_GRANTS_SPACE] = {"grants_space", CATALOG_GRANTS, 1, {Anum_grants_space_id}},
	[CATALOG_GRANTS_SYSTEM_WIDE] = {"grants_system_wide", CATALOG_GRANTS, 1, {Anum_grants_subject_id}},
	[CATALOG_TWIN_REGISTRY_PKEY] = {"twin_registry_pkey", CATALOG_TWIN_REGISTRY, 1, {Anum_twin_registry_id}},
	[CATALOG_TWIN_STATES_PKEY] = {"twin_states_pkey", CATALOG_TWIN_STATES, 1, {Anum_twin_states_twin}},
	[CATALOG_TWIN_POSITIONS_PKEY] = {"twin_positions_pkey", CATALOG_TWIN_POSITIONS, 1, {Anum_twin_positions_twin}},
	[CATALOG_WORLDS_PKEY] = {"worlds_pkey", CATALOG_WORLDS, 1, {Anum_worlds_world_id}},
	[CATALOG_WORLD_TWINS_TWIN] = {"world_twins_twin", CATALOG_WORLD_TWINS, 1, {Anum_world_twins_twin}},
	[CATALOG_SYNC_PRIORITIES_PKEY] = {"sync_priorities_pkey", CATALOG_SYNC_PRIORITIES, 2,
	{Anum_sync_priorities_twin, Anum_sync_priorities_subject_id}},
	[CATALOG_SYNC_REQUESTS_PKEY] = {"sync_requests_pkey", CATALOG_SYNC_REQUESTS, 1, {Anum_sync_requests_request_id}},
	[CATALOG_SYNC_REQUESTS_PENDING] = {"sync_requests_pending", CATALOG_SYNC_REQUESTS, 3,
	{Anum_sync_requests_twin, Anum_sync_requests_priority, Anum_sync_requests_request_id}},
	[CATALOG_SYNC_REQUESTS_RUNNING] = {"sync_requests_running", CATALOG_SYNC_REQUESTS, 1, {Anum_sync_requests_twin}},
	[CATALOG_SYNC_REQUESTS_READY] = {"sync_requests_ready", CATALOG_SYNC_REQUESTS, 2,
	{Anum_sync_requests_priority, Anum_sync_requests_request_id}, true},
	[CATALOG_SYNC_REQUESTS_QUEUE] = {"sync_requests_queue", CATALOG_SYNC_REQUESTS, 2,
	{Anum_sync_requests_gateway, Anum_sync_requests_request_id}},
	[CATALOG_SYNC_SCHEDULE_PKEY] = {"sync_schedule_pkey", CATALOG_SYNC_SCHEDULE, 1, {Anum_sync_schedule_twin}},
	[CATALOG_GATEWAYS_PKEY] = {"gateways_pkey", CATALOG_GATEWAYS, 1, {Anum_gateways_subject_id}},
	[CATALOG_DELEGATIONS_PKEY] = {"delegations_pkey", CATALOG_DELEGATIONS, 2,
	{Anum_delegations_subject_id, Anum_delegations_service_id}},
	[CATALOG_CHANNEL_KEY_PKEY] = {"channel_key_pkey", CATALOG_CHANNEL_KEY, 1, {Anum_channel_key_one}},
};

static const char *const sequences[_CATALOG_NSEQUENCES] = {
	[CATALOG_EVENT_ENTRIES] = "event_entries",
	[CATALOG_SYNC_REQUESTS_REQUEST_ID_SEQ] = "sync_requests_request_id_seq",
};

/* the backend's cache: InvalidOid where not looked up (or forgotten) */
static struct
{
	Oid			nsp;
	Oid			tables[_CATALOG_NTABLES];
	bool		table_checked[_CATALOG_NTABLES];
	Oid			indexes[_CATALOG_NINDEXES];
	bool		index_checked[_CATALOG_NINDEXES];
	RegProcedure index_eqproc[_CATALOG_NINDEXES];
	Oid			sequences[_CATALOG_NSEQUENCES];
}			cache;

static void
catalog_relcache_callback(Datum arg, Oid relid)
{
	int			i;

	for (i = 0; i < _CATALOG_NTABLES; i++)
		if (OidIsValid(cache.tables[i]) && (!OidIsValid(relid) || cache.tables[i] == relid))
		{
			cache.tables[i] = InvalidOid;
			cache.table_checked[i] = false;
			cache.nsp = InvalidOid;
		}
	for (i = 0; i < _CATALOG_NINDEXES; i++)
		if (OidIsValid(cache.indexes[i]) && (!OidIsValid(relid) || cache.indexes[i] == relid))
		{
			cache.indexes[i] = InvalidOid;
			cache.index_checked[i] = false;
			cache.index_eqproc[i] = InvalidOid;
			cache.nsp = InvalidOid;
		}
	for (i = 0; i < _CATALOG_NSEQUENCES; i++)
		if (OidIsValid(cache.sequences[i]) && (!OidIsValid(relid) || cache.sequences[i] == relid))
		{
			cache.sequences[i] = InvalidOid;
			cache.nsp = InvalidOid;
		}
}

void
CatalogInit(void)
{
	CacheRegisterRelcacheCallback(catalog_relcache_callback, (Datum) 0);
}

/*
 * The relation of schema dtmv named name, or InvalidOid.  The schema's oid
 * is cached too, and looked up again on a miss: the schema may have been
 * dropped and created again while no relation of it was cached (so no
 * relcache callback forgot it).
 */
static Oid
catalog_lookup(const char *name)
{
	Oid			relid = InvalidOid;

	if (OidIsValid(cache.nsp))
		relid = get_relname_relid(name, cache.nsp);
	if (!OidIsValid(relid))
	{
		cache.nsp = get_namespace_oid("dtmv", true);
		if (OidIsValid(cache.nsp))
			relid = get_relname_relid(name, cache.nsp);
	}
	return relid;
}

static Oid
catalog_require(const char *name)
{
	Oid			relid = catalog_lookup(name);

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("dtmv relation %s is missing", name),
				 errhint("Reinstall the extension: DROP EXTENSION dtmv; CREATE EXTENSION dtmv.")));
	return relid;
}

/*
 * Whether a table or index is there, its relation id then cached: looked
 * up by name on every call while it is missing, so that the update that
 * creates it is seen at once; the relcache callback forgets it if it is
 * dropped.
 */
bool
catalog_table_present(CatalogTable table)
{
	if (!OidIsValid(cache.tables[table]))
	{
		Oid			relid = catalog_lookup(tables[table]->name);

		if (!OidIsValid(relid))
			return false;
		cache.table_checked[table] = false;
		cache.tables[table] = relid;
	}
	return true;
}

bool
catalog_index_present(CatalogIndex index)
{
	if (!OidIsValid(cache.indexes[index]))
	{
		Oid			relid = catalog_lookup(indexes[index].name);

		if (!OidIsValid(relid))
			return false;
		cache.index_checked[index] = false;
		cache.index_eqproc[index] = InvalidOid;
		cache.indexes[index] = relid;
	}
	return true;
}

Oid
catalog_table_relid(CatalogTable table)
{
	if (!catalog_table_present(table))
		(void) catalog_require(tables[table]->name);	/* 42P01 */
	return cache.tables[table];
}

Oid
catalog_index_relid(CatalogIndex index)
{
	if (!catalog_index_present(index))
		(void) catalog_require(indexes[index].name);	/* 42P01 */
	return cache.indexes[index];
}

Oid
catalog_sequence_relid(CatalogSequence seq)
{
	if (!OidIsValid(cache.sequences[seq]))
	{
		Oid			relid = catalog_require(sequences[seq]);

		cache.sequences[seq] = relid;
	}
	return cache.sequences[seq];
}

const char *
catalog_table_name(CatalogTable table)
{
	return tables[table]->name;
}

CatalogTable
catalog_index_table(CatalogIndex index)
{
	return indexes[index].table;
}

/* a mismatch between the library and the schema: reported, or an ERROR */
typedef void (*CatalogMismatch) (const char *relation, int attnum, const char *expected,
								 const char *actual, void *arg);

/* a live column as "name type" (typname), or NULL */
static const char *
catalog_column_text(TupleDesc desc, AttrNumber attnum)
{
	Form_pg_attribute att;
	HeapTuple	type;
	char	   *text;

	if (attnum < 1 || attnum > desc->natts)
		return NULL;
	att = TupleDescAttr(desc, attnum - 1);
	if (att->attisdropped)
		return NULL;
	type = SearchSysCache1(TYPEOID, ObjectIdGetDatum(att->atttypid));
	if (!HeapTupleIsValid(type))
		elog(ERROR, "cache lookup failed for type %u", att->atttypid);
	text = psprintf("%s %s", NameStr(att->attname), NameStr(((Form_pg_type) GETSTRUCT(type))->typname));
	ReleaseSysCache(type);
	return text;
}

/* each Anum_ constant against the column (name and type) the table has at that number */
static void
catalog_compare_table(CatalogTable table, Relation rel, CatalogMismatch mismatch, void *arg)
{
	const CatalogTableDef *def = tables[table];
	TupleDesc	desc = RelationGetDescr(rel);
	int			i;

	for (i = 0; i < def->natts; i++)
	{
		const char *expected = psprintf("%s %s", def->columns[i].name, def->columns[i].type);
		const char *actual = catalog_column_text(desc, i + 1);

		if (def->columns[i].later && i >= desc->natts)
			continue;			/* a schema not yet updated: the code asks catalog_table_has */
		if (actual == NULL || strcmp(actual, expected) != 0)
			mismatch(def->name, i + 1, expected, actual, arg);
	}
}

/* a btree index on its table, with the key columns expected */
static void
catalog_compare_index(CatalogIndex index, Relation indexrel, CatalogMismatch mismatch, void *arg)
{
	const CatalogIndexDef *def = &indexes[index];
	const CatalogTableDef *table = tables[def->table];
	Oid			table_relid = catalog_lookup(table->name);
	int			k;

	if (indexrel->rd_rel->relam != BTREE_AM_OID || indexrel->rd_index->indrelid != table_relid)
	{
		mismatch(def->name, 0, psprintf("a btree index on %s", table->name),
				 psprintf("an index of access method %u on %s", indexrel->rd_rel->relam,
						  get_rel_name(indexrel->rd_index->indrelid)), arg);
		return;
	}
	for (k = 0; k < def->nkeys; k++)
	{
		AttrNumber	actual = k < indexrel->rd_index->indnkeyatts ? indexrel->rd_index->indkey.values[k] : 0;

		if (actual != def->keys[k])
			mismatch(def->name, k + 1, table->columns[def->keys[k] - 1].name,
					 actual > 0 ? get_attname(table_relid, actual, true) : NULL, arg);
	}
}

static void
catalog_mismatch_error(const char *relation, int attnum, const char *expected, const char *actual, void *arg)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("dtmv relation %s does not match the dtmv library", relation),
			 errdetail("The library expects %s at position %d, and finds %s.", expected, attnum,
					   actual ? actual : "none"),
			 errhint("The installed library and the extension's SQL objects come from different versions: "
					 "run ALTER EXTENSION dtmv UPDATE, and see SELECT * FROM dtmv.catalog_check().")));
}

bool
catalog_table_has(Relation rel, AttrNumber attnum)
{
	return attnum <= RelationGetDescr(rel)->natts;
}

Relation
catalog_table_open(CatalogTable table, LOCKMODE lockmode)
{
	Relation	rel = table_open(catalog_table_relid(table), lockmode);

	if (!cache.table_checked[table])
	{
		catalog_compare_table(table, rel, catalog_mismatch_error, NULL);
		cache.table_checked[table] = true;
	}
	return rel;
}

Relation
catalog_index_open(CatalogIndex index, LOCKMODE lockmode)
{
	Relation	indexrel = index_open(catalog_index_relid(index), lockmode);

	if (!cache.index_checked[index])
	{
		catalog_compare_index(index, indexrel, catalog_mismatch_error, NULL);
		cache.index_checked[index] = true;
	}
	return indexrel;
}

RegProcedure
catalog_index_eqproc(CatalogIndex index, Relation indexrel)
{
	if (!OidIsValid(cache.index_eqproc[index]))
	{
		Oid			type = indexrel->rd_opcintype[0];
		Oid			op = get_opfamily_member(indexrel->rd_opfamily[0], type, type, BTEqualStrategyNumber);

		if (!OidIsValid(op))
			elog(ERROR, "dtmv index %s has no equality operator", indexes[index].name);
		cache.index_eqproc[index] = get_opcode(op);
	}
	return cache.index_eqproc[index];
}

/* a row of dtmv.catalog_check() */
static void
catalog_mismatch_row(const char *relation, int attnum, const char *expected, const char *actual, void *arg)
{
	ReturnSetInfo *rsinfo = arg;
	Datum		values[4];
	bool		nulls[4] = {false, attnum == 0, expected == NULL, actual == NULL};

	values[0] = CStringGetTextDatum(relation);
	values[1] = Int32GetDatum(attnum);
	values[2] = expected ? CStringGetTextDatum(expected) : (Datum) 0;
	values[3] = actual ? CStringGetTextDatum(actual) : (Datum) 0;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * dtmv.catalog_check(): every difference between the tables, indexes and
 * sequences this library uses and those installed; no row when they match.
 * Read afresh from the system catalogs, not from the cache.
 */
PG_FUNCTION_INFO_V1(dtmv_catalog_check);
Datum
dtmv_catalog_check(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	cache.nsp = InvalidOid;
	for (i = 0; i < _CATALOG_NTABLES; i++)
	{
		Oid			relid = catalog_lookup(tables[i]->name);
		Relation	rel;

		if (!OidIsValid(relid) || get_rel_relkind(relid) != RELKIND_RELATION)
		{
			catalog_mismatch_row(tables[i]->name, 0, "a table", NULL, rsinfo);
			continue;
		}
		rel = table_open(relid, AccessShareLock);
		catalog_compare_table(i, rel, catalog_mismatch_row, rsinfo);
		table_close(rel, AccessShareLock);
	}
	for (i = 0; i < _CATALOG_NINDEXES; i++)
	{
		Oid			relid = catalog_lookup(indexes[i].name);
		Relation	indexrel;

		if (!OidIsValid(relid) && indexes[i].only_0_1)
			continue;			/* updated from 0.1, or installed since */
		if (!OidIsValid(relid) || get_rel_relkind(relid) != RELKIND_INDEX)
		{
			catalog_mismatch_row(indexes[i].name, 0, "an index", NULL, rsinfo);
			continue;
		}
		indexrel = index_open(relid, AccessShareLock);
		catalog_compare_index(i, indexrel, catalog_mismatch_row, rsinfo);
		index_close(indexrel, AccessShareLock);
	}
	for (i = 0; i < _CATALOG_NSEQUENCES; i++)
	{
		Oid			relid = catalog_lookup(sequences[i]);

		if (!OidIsValid(relid) || get_rel_relkind(relid) != RELKIND_SEQUENCE)
			catalog_mismatch_row(sequences[i], 0, "a sequence", NULL, rsinfo);
	}
	return (Datum) 0;
}
