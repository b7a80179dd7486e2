/*
 * rights.c
 *		The rights test, in C (REQ-DT-05).
 *
 * Every check of a right goes through here: the row-level security
 * policies (through dtmv._keys_for, which gives acl_probe and acl_veto),
 * the functions that need a right (dtmv._require_rights), has_right and
 * my_rights, the event wake-ups.  One definition, so RLS and the functions
 * cannot disagree.
 *
 * Written in C because it runs on every call of every function that acts
 * on a twin: the same test as nested SQL functions cost about eight times
 * a plain single-row SELECT, which made it the largest part of a sync
 * request or a location update.  Here it is a few index probes of dtmv's
 * own tables (subjects, group_members, grants, twin_registry) with the
 * statement's snapshot, like the queries they replace; the tables are read
 * directly, without privilege checks or RLS, as the extension owner would
 * read them.
 *
 * Keys (see rights.h and docs/rights.md), for subjects S (a subject and its
 * groups) and right r:
 *	 probe(r) = {} if r is revoked from S system-wide, else
 *				{s * 16 + r : s in S}
 *				+ {r} if r is granted to S system-wide
 *				+ {-(space * 16 + r) : S was granted r on space}
 *	 veto(r)  = {s * 16 + 8 + r : s in S}
 *				+ {-(space * 16 + r) : S was denied r on space}
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/formatting.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "actor.h"
#include "rights.h"
#include "table_write.h"

static const char *const right_names[DTMV_NRIGHTS] =
{"discover", "read", "interact", "sync", "control", "admin"};

/*
 * The tables read here, each through one index on one key column (and,
 * where nullcol is set, only rows where the index's next column is NULL:
 * an index condition, so the other rows are never read).  Looked up by name
 * on first use and forgotten on any relcache invalidation of
 * them (DROP EXTENSION, ALTER TABLE), so a dropped and re-created extension
 * is found again.
 */
typedef struct RightsRel
{
	const char *table;
	const char *index;
	const char *keycol;
	const char *nullcol;
	Oid			relid;
	Oid			indexid;
	RegProcedure eqproc;		/* equality of the key, from the index's opfamily */
	AttrNumber	keycolno;		/* the key's column of the index */
	AttrNumber	nullcolno;		/* the IS NULL column's, or InvalidAttrNumber */
} RightsRel;

enum
{
	REL_TWINS,
	REL_SUBJECTS_BY_LOGIN,
	REL_SUBJECTS_BY_ID,
	REL_MEMBERS,
	REL_WIDE_GRANTS,			/* a subject's system-wide and space grants */
	REL_MEMBERS_BY_GROUP,
	REL_GRANTS_BY_TWIN,
	NRELS
};

static RightsRel rels[NRELS] = {
	{"twin_registry", "twin_registry_pkey", "id"},
	{"subjects", "subjects_login_key", "login"},
	{"subjects", "subjects_pkey", "subject_id"},
	{"group_members", "group_members_member_id_idx", "member_id"},
	{"grants", "grants_subject_id_twin_space_id_key", "subject_id", "twin"},
	{"group_members", "group_members_pkey", "group_id"},
	{"grants", "grants_twin", "twin"},
};

/* the other columns read */
static struct
{
	AttrNumber	twin_acl;
	AttrNumber	subject_id;
	AttrNumber	subject_name;
	AttrNumber	subject_kind;
	AttrNumber	member_group;
	AttrNumber	member_member;
	AttrNumber	grant_subject;
	AttrNumber	grant_space;
	AttrNumber	grant_granted;
	AttrNumber	grant_revoked;
}			cols;

static bool rels_valid = false;

static void
rights_relcache_callback(Datum arg, Oid relid)
{
	int			i;

	if (!OidIsValid(relid))
	{
		rels_valid = false;
		return;
	}
	for (i = 0; i < NRELS; i++)
		if (rels[i].relid == relid || rels[i].indexid == relid)
			rels_valid = false;
}

void
RightsInit(void)
{
	CacheRegisterRelcacheCallback(rights_relcache_callback, (Datum) 0);
}

static AttrNumber
rights_attnum(Oid relid, const char *table, const char *column)
{
	AttrNumber	attno = get_attnum(relid, column);

	if (attno == InvalidAttrNumber)
		elog(ERROR, "column dtmv.%s.%s is missing", table, column);
	return attno;
}

/* the column of an index that holds a table's column attno */
static AttrNumber
rights_index_column(Relation index, AttrNumber attno)
{
	int			i;

	for (i = 0; i < index->rd_index->indnkeyatts; i++)
		if (index->rd_index->indkey.values[i] == attno)
			return i + 1;
	return InvalidAttrNumber;
}

static void
rights_lookup_rels(void)
{
	Oid			nsp;
	int			i;

	if (rels_valid)
		return;
	nsp = get_namespace_oid("dtmv", false);
	for (i = 0; i < NRELS; i++)
	{
		RightsRel  *r = &rels[i];
		Relation	index;

		r->relid = get_relname_relid(r->table, nsp);
		r->indexid = get_relname_relid(r->index, nsp);
		if (!OidIsValid(r->relid) || !OidIsValid(r->indexid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("dtmv table %s or its index %s is missing", r->table, r->index),
					 errhint("Reinstall the extension: DROP EXTENSION dtmv; CREATE EXTENSION dtmv.")));
		index = index_open(r->indexid, AccessShareLock);
		r->eqproc = table_index_eqproc(index, r->relid, false);
		r->keycolno = rights_index_column(index, rights_attnum(r->relid, r->table, r->keycol));
		r->nullcolno = r->nullcol ?
			rights_index_column(index, rights_attnum(r->relid, r->table, r->nullcol)) : InvalidAttrNumber;
		if (r->keycolno != 1 || (r->nullcol && r->nullcolno != 2))
			elog(ERROR, "dtmv index %s does not lead with %s%s%s", r->index, r->keycol,
				 r->nullcol ? ", " : "", r->nullcol ? r->nullcol : "");
		index_close(index, AccessShareLock);
	}
	cols.twin_acl = rights_attnum(rels[REL_TWINS].relid, "twin_registry", "acl");
	cols.subject_id = rights_attnum(rels[REL_SUBJECTS_BY_ID].relid, "subjects", "subject_id");
	cols.subject_name = rights_attnum(rels[REL_SUBJECTS_BY_ID].relid, "subjects", "name");
	cols.subject_kind = rights_attnum(rels[REL_SUBJECTS_BY_ID].relid, "subjects", "kind");
	cols.member_group = rights_attnum(rels[REL_MEMBERS].relid, "group_members", "group_id");
	cols.member_member = rights_attnum(rels[REL_MEMBERS].relid, "group_members", "member_id");
	cols.grant_subject = rights_attnum(rels[REL_WIDE_GRANTS].relid, "grants", "subject_id");
	cols.grant_space = rights_attnum(rels[REL_WIDE_GRANTS].relid, "grants", "space_id");
	cols.grant_granted = rights_attnum(rels[REL_WIDE_GRANTS].relid, "grants", "granted");
	cols.grant_revoked = rights_attnum(rels[REL_WIDE_GRANTS].relid, "grants", "revoked");
	rels_valid = true;
}


/* a scan key "attno IS NULL" */
static void
rights_is_null_key(ScanKey skey, AttrNumber attno)
{
	ScanKeyEntryInitialize(skey, SK_ISNULL | SK_SEARCHNULL, attno,
						   InvalidStrategy, InvalidOid, InvalidOid, InvalidOid, (Datum) 0);
}

/*
 * Visit the rows of one of the tables whose key column equals key (or is
 * NULL, if key_is_null), as the running statement sees them.  Through its
 * index always (table_index_visit): a heap scan, which systable_beginscan
 * falls back to under ignore_system_indexes, matches no row for an IS NULL
 * key, and would then lose system-wide grants and revocations.
 */
static void
rights_scan_key(int which, Datum key, bool key_is_null, TableRowFn fn, void *arg)
{
	RightsRel  *r;
	Relation	rel;
	Relation	index;
	ScanKeyData skey[2];
	int			nkeys = 1;
	Snapshot	snapshot;

	rights_lookup_rels();
	r = &rels[which];
	snapshot = ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot();
	rel = table_open(r->relid, AccessShareLock);
	index = index_open(r->indexid, AccessShareLock);
	if (key_is_null)
		rights_is_null_key(&skey[0], r->keycolno);
	else
		ScanKeyInit(&skey[0], r->keycolno, BTEqualStrategyNumber, r->eqproc, key);
	if (r->nullcolno != InvalidAttrNumber)
		rights_is_null_key(&skey[nkeys++], r->nullcolno);
	table_index_visit(rel, index, snapshot, skey, nkeys, fn, arg);
	index_close(index, AccessShareLock);
	table_close(rel, AccessShareLock);
}

static inline void
rights_scan(int which, Datum key, TableRowFn fn, void *arg)
{
	rights_scan_key(which, key, false, fn, arg);
}

typedef struct FirstValue
{
	AttrNumber	col;
	bool		found;
	Datum		value;
} FirstValue;

static bool
rights_copy_value(HeapTuple tuple, TupleDesc desc, void *arg)
{
	FirstValue *fv = arg;
	Form_pg_attribute att = TupleDescAttr(desc, fv->col - 1);
	bool		isnull;
	Datum		d = heap_getattr(tuple, fv->col, desc, &isnull);

	if (!isnull)
	{
		fv->found = true;
		fv->value = datumCopy(d, att->attbyval, att->attlen);
	}
	return false;
}

/* column col of the row whose key column equals key; false if none (or NULL) */
static bool
rights_lookup(int which, Datum key, AttrNumber col, Datum *value)
{
	FirstValue	fv = {col, false, (Datum) 0};

	rights_scan(which, key, rights_copy_value, &fv);
	*value = fv.value;
	return fv.found;
}

/* a growable array of int64 */
typedef struct KeyList
{
	int64	   *v;
	int			n;
	int			cap;
} KeyList;

static void
keylist_add(KeyList *l, int64 k)
{
	if (l->n == l->cap)
	{
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = l->v ? repalloc(l->v, l->cap * sizeof(int64)) : palloc(l->cap * sizeof(int64));
	}
	l->v[l->n++] = k;
}

static bool
keylist_has(const KeyList *l, int64 k)
{
	int			i;

	for (i = 0; i < l->n; i++)
		if (l->v[i] == k)
			return true;
	return false;
}

/* the order of the id lists this file returns (qsort/bsearch comparator) */
int
int64_cmp(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/* ---- who is acting ---- */

int64
rights_current_subject(void)
{
	int64		subject = -1;
	Datum		d;

	if (ActorActingSubject(&subject))
		return subject;
	rights_lookup_rels();
	if (rights_lookup(REL_SUBJECTS_BY_LOGIN, ObjectIdGetDatum(GetOuterUserId()), cols.subject_id, &d))
		subject = DatumGetInt64(d);
	return subject;
}

typedef struct ClosureScan
{
	KeyList    *found;
	AttrNumber	col;
} ClosureScan;

static bool
rights_collect_column(HeapTuple tuple, TupleDesc desc, void *arg)
{
	ClosureScan *cs = arg;
	bool		isnull;
	Datum		d = heap_getattr(tuple, cs->col, desc, &isnull);

	if (!isnull && !keylist_has(cs->found, DatumGetInt64(d)))
		keylist_add(cs->found, DatumGetInt64(d));
	return true;
}

/*
 * Add to found, transitively, along group_members: the groups each subject
 * belongs to (up), or the members of each group (down).  found grows while
 * it is walked, so each new one is asked in turn.
 */
static void
rights_membership_closure(KeyList *found, bool up)
{
	ClosureScan cs = {found, up ? cols.member_group : cols.member_member};
	int			i;

	for (i = 0; i < found->n; i++)
		rights_scan(up ? REL_MEMBERS : REL_MEMBERS_BY_GROUP, Int64GetDatum(found->v[i]),
					rights_collect_column, &cs);
}

int64 *
rights_subjects_of(int64 subject, int *n)
{
	KeyList		found = {0};

	keylist_add(&found, subject);
	rights_membership_closure(&found, true);
	qsort(found.v, found.n, sizeof(int64), int64_cmp);
	*n = found.n;
	return found.v;
}

/* ---- keys ---- */

/* the non-null elements of a bigint[] */
static int64 *
int64_array_values(ArrayType *a, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	int64	   *v;
	int			i;

	deconstruct_array(a, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &nelems);
	v = palloc(Max(nelems, 1) * sizeof(int64));
	*n = 0;
	for (i = 0; i < nelems; i++)
		if (!nulls[i])
			v[(*n)++] = DatumGetInt64(elems[i]);
	return v;
}

typedef struct RightsKeys
{
	KeyList		probe[DTMV_NRIGHTS];
	KeyList		veto[DTMV_NRIGHTS];
} RightsKeys;

typedef struct GrantRow
{
	int64		space;			/* 0: system-wide */
	int			granted;
	int			revoked;
} GrantRow;

typedef struct GrantScan
{
	GrantRow   *rows;
	int			n;
	int			cap;
} GrantScan;

/* a system-wide or space grant (grants on one twin are in the twin's acl) */
static bool
rights_collect_grant(HeapTuple tuple, TupleDesc desc, void *arg)
{
	GrantScan  *g = arg;
	bool		isnull;
	Datum		space;
	bool		space_null;

	space = heap_getattr(tuple, cols.grant_space, desc, &space_null);
	if (g->n == g->cap)
	{
		g->cap = g->cap ? g->cap * 2 : 8;
		g->rows = g->rows ? repalloc(g->rows, g->cap * sizeof(GrantRow)) : palloc(g->cap * sizeof(GrantRow));
	}
	g->rows[g->n].space = space_null ? 0 : DatumGetInt64(space);
	g->rows[g->n].granted = DatumGetInt32(heap_getattr(tuple, cols.grant_granted, desc, &isnull));
	g->rows[g->n].revoked = DatumGetInt32(heap_getattr(tuple, cols.grant_revoked, desc, &isnull));
	g->n++;
	return true;
}

static void
rights_keys_for(const int64 *subs, int nsubs, RightsKeys *keys)
{
	GrantScan	g = {0};
	int			sys_granted = 0;
	int			sys_revoked = 0;
	int			i,
				r;

	memset(keys, 0, sizeof(*keys));
	for (i = 0; i < nsubs; i++)
		rights_scan(REL_WIDE_GRANTS, Int64GetDatum(subs[i]), rights_collect_grant, &g);
	for (i = 0; i < g.n; i++)
		if (g.rows[i].space == 0)
		{
			sys_granted |= g.rows[i].granted;
			sys_revoked |= g.rows[i].revoked;
		}
	for (r = 0; r < DTMV_NRIGHTS; r++)
	{
		for (i = 0; i < nsubs; i++)
			keylist_add(&keys->veto[r], subs[i] * 16 + 8 + r);
		for (i = 0; i < g.n; i++)
			if (g.rows[i].space != 0 && (g.rows[i].revoked & (1 << r)))
				keylist_add(&keys->veto[r], -(g.rows[i].space * 16 + r));
		if (sys_revoked & (1 << r))
			continue;			/* revoked system-wide: no probe key at all */
		for (i = 0; i < nsubs; i++)
			keylist_add(&keys->probe[r], subs[i] * 16 + r);
		if (sys_granted & (1 << r))
			keylist_add(&keys->probe[r], r);
		for (i = 0; i < g.n; i++)
			if (g.rows[i].space != 0 && (g.rows[i].granted & (1 << r)))
				keylist_add(&keys->probe[r], -(g.rows[i].space * 16 + r));
	}
}

static bool
keys_overlap(const int64 *acl, int nacl, const KeyList *keys)
{
	int			i,
				j;

	for (i = 0; i < nacl; i++)
		for (j = 0; j < keys->n; j++)
			if (acl[i] == keys->v[j])
				return true;
	return false;
}

/* the rights mask an acl (its keys) gives to holders of keys */
static int
rights_mask_of_acl(const int64 *acl, int nacl, const RightsKeys *keys)
{
	int			r;
	int			mask = 0;

	for (r = 0; r < DTMV_NRIGHTS; r++)
		if (keys_overlap(acl, nacl, &keys->probe[r]) && !keys_overlap(acl, nacl, &keys->veto[r]))
			mask |= 1 << r;
	return mask;
}

/* the keys of a twin's acl; false for a twin that does not exist */
bool
rights_twin_acl(const TwinId *twin, int64 **acl, int *nacl)
{
	Datum		d;

	rights_lookup_rels();
	if (!rights_lookup(REL_TWINS, PointerGetDatum(twin), cols.twin_acl, &d))
		return false;
	*acl = int64_array_values(DatumGetArrayTypeP(d), nacl);
	return true;
}

/* the rights that holders of subs have on a twin; 0 for a twin that does not exist */
static int
rights_for(const TwinId *twin, const int64 *subs, int nsubs)
{
	RightsKeys	keys;
	int64	   *keys_of_twin;
	int			nkeys;

	if (nsubs == 0 || !rights_twin_acl(twin, &keys_of_twin, &nkeys))
		return 0;
	rights_keys_for(subs, nsubs, &keys);
	return rights_mask_of_acl(keys_of_twin, nkeys, &keys);
}

static int64 *
rights_current_subjects(int *n)
{
	int64		me = rights_current_subject();

	if (me < 0)
	{
		*n = 0;
		return NULL;
	}
	return rights_subjects_of(me, n);
}

int
rights_effective(const TwinId *twin)
{
	int			n;
	int64	   *subs = rights_current_subjects(&n);

	return rights_for(twin, subs, n);
}

/* ---- who may read: the wake-ups of events ---- */

typedef struct ReaderScan
{
	KeyList    *found;
	const int64 *acl;
	int			nacl;
} ReaderScan;

/* a system-wide read grant, or a read grant on a space the twin is in */
static bool
rights_collect_read_grant(HeapTuple tuple, TupleDesc desc, void *arg)
{
	ReaderScan *rs = arg;
	bool		isnull;
	bool		space_null;
	int			granted = DatumGetInt32(heap_getattr(tuple, cols.grant_granted, desc, &isnull));
	Datum		space = heap_getattr(tuple, cols.grant_space, desc, &space_null);
	int64		subject = DatumGetInt64(heap_getattr(tuple, cols.grant_subject, desc, &isnull));
	int			i;

	if (!(granted & (1 << 1)) || keylist_has(rs->found, subject))
		return true;
	if (space_null)
		keylist_add(rs->found, subject);
	else
		for (i = 0; i < rs->nacl; i++)
			if (rs->acl[i] == -(DatumGetInt64(space) * 16 + 1))
			{
				keylist_add(rs->found, subject);
				break;
			}
	return true;
}

/*
 * The users and systems (not groups) that may read a twin with this acl,
 * sorted: the holders of read on it, on a space it is in or system-wide,
 * directly or through groups, less those denied.  Candidates come from the
 * keys and grants; each is then put to the same test as everywhere else.
 */
int64 *
rights_acl_readers(const int64 *acl, int nacl, int *n)
{
	KeyList		found = {0};
	KeyList		readers = {0};
	ReaderScan	rs = {&found, acl, nacl};
	int			i;

	for (i = 0; i < nacl; i++)
		if (acl[i] >= 16 && acl[i] % 16 == 1 && !keylist_has(&found, acl[i] / 16))
			keylist_add(&found, acl[i] / 16);
	rights_scan_key(REL_GRANTS_BY_TWIN, (Datum) 0, true, rights_collect_read_grant, &rs);
	rights_membership_closure(&found, false);	/* and the members of groups among them */
	for (i = 0; i < found.n; i++)
	{
		Datum		kind;
		int			nsubs;
		int64	   *subs;
		RightsKeys	keys;

		if (!rights_lookup(REL_SUBJECTS_BY_ID, Int64GetDatum(found.v[i]), cols.subject_kind, &kind)
			|| strcmp(TextDatumGetCString(kind), "group") == 0)
			continue;			/* gone, or a group */
		subs = rights_subjects_of(found.v[i], &nsubs);
		rights_keys_for(subs, nsubs, &keys);
		if (rights_mask_of_acl(acl, nacl, &keys) & (1 << 1))
			keylist_add(&readers, found.v[i]);
	}
	if (readers.n > 1)
		qsort(readers.v, readers.n, sizeof(int64), int64_cmp);
	*n = readers.n;
	return readers.v;
}

int
rights_parse(const char *list)
{
	int			mask = 0;
	char	   *copy = pstrdup(list ? list : "");
	char	   *word;
	char	   *save;

	for (word = strtok_r(copy, ",", &save); word; word = strtok_r(NULL, ",", &save))
	{
		char	   *end;
		int			r;

		while (*word == ' ' || *word == '\t' || *word == '\n')
			word++;
		end = word + strlen(word);
		while (end > word && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n'))
			*--end = '\0';
		if (*word == '\0')
			continue;
		word = asc_tolower(word, strlen(word));
		for (r = 0; r < DTMV_NRIGHTS; r++)
			if (strcmp(word, right_names[r]) == 0)
				break;
		if (r == DTMV_NRIGHTS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown right \"%s\"", word),
					 errhint("Rights are a comma list of discover, read, interact, sync, control, admin.")));
		mask |= 1 << r;
	}
	if (mask == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no right named in \"%s\"", list ? list : ""),
				 errhint("Rights are a comma list of discover, read, interact, sync, control, admin.")));
	return mask;
}

void
rights_require(const TwinId *twin, int mask)
{
	int			missing = mask & ~(twin ? rights_effective(twin) : 0);
	int64		me;
	Datum		d;
	const char *twin_text = twin ? twin_id_to_cstring(twin) : "NULL";
	char	   *name = NULL;
	StringInfoData list;
	int			r;
	int			first = -1;

	if (missing == 0)
		return;
	me = rights_current_subject();
	if (me >= 0 && rights_lookup(REL_SUBJECTS_BY_ID, Int64GetDatum(me), cols.subject_name, &d))
		name = TextDatumGetCString(d);
	initStringInfo(&list);
	for (r = 0; r < DTMV_NRIGHTS; r++)
		if (missing & (1 << r))
		{
			if (first < 0)
				first = r;
			else
				appendStringInfoChar(&list, ',');
			appendStringInfoString(&list, right_names[r]);
		}
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied: %s right on twin %s is required",
					right_names[first], twin_text),
			 errdetail("Subject %s lacks the right(s) %s on twin %s, or the twin does not exist.",
					   name ? quote_identifier(name) : "(none)", list.data,
					   twin_text)));
}

/* ---- SQL-callable ---- */

static ArrayType *
int64_array(const int64 *v, int n)
{
	Datum	   *d = palloc(Max(n, 1) * sizeof(Datum));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = Int64GetDatum(v[i]);
	return construct_array(d, n, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}

/* the subject this statement acts as, or NULL */
PG_FUNCTION_INFO_V1(dtmv_current_subject);
Datum
dtmv_current_subject(PG_FUNCTION_ARGS)
{
	int64		me = rights_current_subject();

	if (me < 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(me);
}

/* the acting subject and every group it belongs to; empty if none */
PG_FUNCTION_INFO_V1(dtmv_current_subjects);
Datum
dtmv_current_subjects(PG_FUNCTION_ARGS)
{
	int			n;
	int64	   *subs = rights_current_subjects(&n);

	PG_RETURN_ARRAYTYPE_P(int64_array(subs, n));
}

/* a subject and every group it belongs to, transitively; empty for NULL */
PG_FUNCTION_INFO_V1(dtmv_subjects_of);
Datum
dtmv_subjects_of(PG_FUNCTION_ARGS)
{
	int			n = 0;
	int64	   *subs = NULL;

	if (!PG_ARGISNULL(0))
		subs = rights_subjects_of(PG_GETARG_INT64(0), &n);
	PG_RETURN_ARRAYTYPE_P(int64_array(subs, n));
}

/* for each right number r, the probe and veto keys of a set of subjects */
PG_FUNCTION_INFO_V1(dtmv_keys_for);
Datum
dtmv_keys_for(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	RightsKeys	keys;
	int			nsubs = 0;
	int64	   *subs = NULL;
	int			r;

	InitMaterializedSRF(fcinfo, 0);
	if (!PG_ARGISNULL(0))
		subs = int64_array_values(PG_GETARG_ARRAYTYPE_P(0), &nsubs);
	rights_keys_for(subs, nsubs, &keys);
	for (r = 0; r < DTMV_NRIGHTS; r++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = Int32GetDatum(r);
		values[1] = PointerGetDatum(int64_array(keys.probe[r].v, keys.probe[r].n));
		values[2] = PointerGetDatum(int64_array(keys.veto[r].v, keys.veto[r].n));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* mask of the rights that a subject (itself and its groups) holds on a twin */
PG_FUNCTION_INFO_V1(dtmv_rights_for);
Datum
dtmv_rights_for(PG_FUNCTION_ARGS)
{
	int			nsubs;
	int64	   *subs;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_INT32(0);
	subs = int64_array_values(PG_GETARG_ARRAYTYPE_P(1), &nsubs);
	PG_RETURN_INT32(rights_for(PG_GETARG_TWINID_P(0), subs, nsubs));
}

/* mask of the rights the acting subject holds on a twin */
PG_FUNCTION_INFO_V1(dtmv_effective_rights);
Datum
dtmv_effective_rights(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_INT32(0);
	PG_RETURN_INT32(rights_effective(PG_GETARG_TWINID_P(0)));
}

/* the users and systems that may read a twin with this acl */
PG_FUNCTION_INFO_V1(dtmv_acl_readers);
Datum
dtmv_acl_readers(PG_FUNCTION_ARGS)
{
	int			nacl = 0;
	int64	   *acl = NULL;
	int			n;
	int64	   *readers;

	if (!PG_ARGISNULL(0))
		acl = int64_array_values(PG_GETARG_ARRAYTYPE_P(0), &nacl);
	readers = rights_acl_readers(acl, nacl, &n);
	PG_RETURN_ARRAYTYPE_P(int64_array(readers, n));
}

/* a comma list of rights as a bit mask */
PG_FUNCTION_INFO_V1(dtmv_rights_mask);
Datum
dtmv_rights_mask(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(rights_parse(PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0))));
}

/* 42501 naming the missing right unless the acting subject holds all */
PG_FUNCTION_INFO_V1(dtmv_require_rights);
Datum
dtmv_require_rights(PG_FUNCTION_ARGS)
{
	int			mask = rights_parse(PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1)));

	rights_require(PG_ARGISNULL(0) ? NULL : PG_GETARG_TWINID_P(0), mask);
	PG_RETURN_VOID();
}
