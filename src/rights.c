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

#include "access/stratnum.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/formatting.h"

#include "actor.h"
#include "agents.h"
#include "rights.h"
#include "table_read.h"

static const char *const right_names[DTMV_NRIGHTS] =
{"discover", "read", "interact", "sync", "control", "admin"};

/*
 * The tables read here (subjects, group_members, grants, twin_registry) are
 * read through one index each on one key column, and where a grant must be
 * system-wide or a space's, with "twin IS NULL" as a second index key: an
 * index condition, so the other rows are never read (table_read.c).  Who
 * may read a twin is found from the system-wide grants and the grants on
 * the spaces it is in, each through a partial index of its own
 * (grants_system_wide, grants_space), not from every space's grants.
 */

/* ---- acl keys: the one definition (docs/rights.md) ---- */

int64
rights_acl_key(int64 subject, int r, bool veto)
{
	return subject * RIGHTS_KEY_STRIDE + (veto ? RIGHTS_KEY_VETO : 0) + r;
}

int64
rights_space_key(int64 space, int r)
{
	return -(space * RIGHTS_KEY_STRIDE + r);
}

int64
rights_system_key(int r)
{
	return r;
}

/* the space of a space key, and its r; 0 for a key of another kind */
static int64
rights_key_space(int64 key, int *r)
{
	if (key >= 0 || key == PG_INT64_MIN)
		return 0;
	*r = (int) ((-key) % RIGHTS_KEY_STRIDE);
	return (-key) / RIGHTS_KEY_STRIDE;
}

static int
rights_arg_right(FunctionCallInfo fcinfo, int argno)
{
	int32		r = PG_GETARG_INT32(argno);

	if (r < 0 || r >= DTMV_NRIGHTS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("right number %d is out of range", r),
				 errhint("Right numbers go from 0 (discover) to %d (admin).", DTMV_NRIGHTS - 1)));
	return r;
}

/* dtmv._acl_key(subject, r, veto): the acl key of a subject's grant (or veto) of right r */
PG_FUNCTION_INFO_V1(dtmv_acl_key);
Datum
dtmv_acl_key(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(rights_acl_key(PG_GETARG_INT64(0), rights_arg_right(fcinfo, 1), PG_GETARG_BOOL(2)));
}

/* dtmv._acl_space_key(space, r): the acl key of a twin in a space, for right r */
PG_FUNCTION_INFO_V1(dtmv_acl_space_key);
Datum
dtmv_acl_space_key(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(rights_space_key(PG_GETARG_INT64(0), rights_arg_right(fcinfo, 1)));
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

	if (ActorActingSubject(&subject))
		return subject;
	return agents_login_subject();
}

/*
 * Add to found, transitively, along group_members: the groups each subject
 * belongs to (up), or the members of each group (down).  found grows while
 * it is walked, so each new one is asked in turn.
 */
static void
rights_membership_closure(Int64Array *found, bool up)
{
	int			i;

	for (i = 0; i < found->n; i++)
	{
		TableRead	tr;

		table_read_begin(&tr, up ? CATALOG_GROUP_MEMBERS_MEMBER_ID_IDX : CATALOG_GROUP_MEMBERS_PKEY, NULL);
		table_read_key(&tr, 1, BTEqualStrategyNumber, Int64GetDatum(found->v[i]));
		while (table_read_next(&tr))
		{
			bool		isnull;
			Datum		d = table_read_value(&tr, up ? Anum_group_members_group_id : Anum_group_members_member_id,
											 &isnull);

			if (!isnull && !int64_array_has(found, DatumGetInt64(d)))
				int64_array_add(found, DatumGetInt64(d));
		}
		table_read_end(&tr);
	}
}

int64 *
rights_subjects_of(int64 subject, int *n)
{
	Int64Array	found = {0};

	int64_array_add(&found, subject);
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
	Int64Array	probe[DTMV_NRIGHTS];
	Int64Array	veto[DTMV_NRIGHTS];
} RightsKeys;

typedef struct GrantRow
{
	int64		space;			/* 0: system-wide */
	int			granted;
	int			revoked;
} GrantRow;

/*
 * What a grants row denies: its revokes, and every right where its subject
 * refused grants (dtmv.refuse_grants; a column since 0.2): a refusal wins
 * over any grant, as a revoke does, the subject's groups' included.
 */
static int
rights_row_denied(TableRead *tr)
{
	bool		isnull;
	int			denied = DatumGetInt32(table_read_value(tr, Anum_grants_revoked, &isnull));

	if (catalog_table_has(tr->rel, Anum_grants_refused) &&
		DatumGetBool(table_read_value(tr, Anum_grants_refused, &isnull)))
		denied |= DTMV_RIGHTS_ALL_MASK;
	return denied;
}

/* the system-wide and space grants of subjects (grants on one twin are in the twin's acl) */
static GrantRow *
rights_wide_grants(const int64 *subs, int nsubs, int *n)
{
	GrantRow   *rows = NULL;
	int			cap = 0;
	int			i;

	*n = 0;
	for (i = 0; i < nsubs; i++)
	{
		TableRead	tr;

		table_read_begin(&tr, CATALOG_GRANTS_SUBJECT_ID_TWIN_SPACE_ID_KEY, NULL);
		table_read_key(&tr, 1, BTEqualStrategyNumber, Int64GetDatum(subs[i]));
		table_read_key_null(&tr, 2);	/* twin IS NULL */
		while (table_read_next(&tr))
		{
			bool		isnull;
			Datum		space = table_read_value(&tr, Anum_grants_space_id, &isnull);

			rows = array_reserve(rows, *n, &cap, sizeof(GrantRow));
			rows[*n].space = isnull ? 0 : DatumGetInt64(space);
			rows[*n].granted = DatumGetInt32(table_read_value(&tr, Anum_grants_granted, &isnull));
			rows[*n].revoked = rights_row_denied(&tr);
			(*n)++;
		}
		table_read_end(&tr);
	}
	return rows;
}

static void
rights_keys_for(const int64 *subs, int nsubs, RightsKeys *keys)
{
	GrantRow   *grants;
	int			ngrants;
	int			sys_granted = 0;
	int			sys_revoked = 0;
	int			i,
				r;

	memset(keys, 0, sizeof(*keys));
	grants = rights_wide_grants(subs, nsubs, &ngrants);
	for (i = 0; i < ngrants; i++)
		if (grants[i].space == 0)
		{
			sys_granted |= grants[i].granted;
			sys_revoked |= grants[i].revoked;
		}
	for (r = 0; r < DTMV_NRIGHTS; r++)
	{
		for (i = 0; i < nsubs; i++)
			int64_array_add(&keys->veto[r], rights_acl_key(subs[i], r, true));
		for (i = 0; i < ngrants; i++)
			if (grants[i].space != 0 && (grants[i].revoked & RIGHT_MASK(r)))
				int64_array_add(&keys->veto[r], rights_space_key(grants[i].space, r));
		if (sys_revoked & RIGHT_MASK(r))
			continue;			/* revoked system-wide: no probe key at all */
		for (i = 0; i < nsubs; i++)
			int64_array_add(&keys->probe[r], rights_acl_key(subs[i], r, false));
		if (sys_granted & RIGHT_MASK(r))
			int64_array_add(&keys->probe[r], rights_system_key(r));
		for (i = 0; i < ngrants; i++)
			if (grants[i].space != 0 && (grants[i].granted & RIGHT_MASK(r)))
				int64_array_add(&keys->probe[r], rights_space_key(grants[i].space, r));
	}
}

static bool
keys_overlap(const int64 *acl, int nacl, const Int64Array *keys)
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
			mask |= RIGHT_MASK(r);
	return mask;
}

/* the keys of a twin's acl; false for a twin that does not exist */
bool
rights_twin_acl(const TwinId *twin, int64 **acl, int *nacl)
{
	Datum		d;

	if (!table_read_first_value(CATALOG_TWIN_REGISTRY_PKEY, PointerGetDatum(twin), Anum_twin_registry_acl, &d))
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

	/* a service acting for a user: the user's rights, within the delegation's */
	return rights_for(twin, subs, n) & ActorActingRights();
}

/* ---- who may read: the wake-ups of events ---- */

/* a system-wide grant (space 0) or a space's, of one subject */
typedef struct WideGrant
{
	int64		subject;
	int64		space;
	int			granted;
	int			revoked;
} WideGrant;

typedef struct WideGrants
{
	WideGrant  *v;
	int			n;
	int			cap;
} WideGrants;

static int
wide_grant_cmp(const void *a, const void *b)
{
	const WideGrant *x = a;
	const WideGrant *y = b;

	if (x->subject != y->subject)
		return x->subject < y->subject ? -1 : 1;
	return (x->space > y->space) - (x->space < y->space);
}

/*
 * Append the grants on one space (space > 0), through grants_space, or the
 * system-wide grants (space 0), through grants_system_wide.  A database
 * still at 0.1 has no grants_system_wide: there, every system-wide and
 * space grant is read and the space grants skipped, as 0.1 did.
 */
static void
rights_read_wide_grants(int64 space, WideGrants *out)
{
	TableRead	tr;

	if (space > 0)
	{
		table_read_begin(&tr, CATALOG_GRANTS_SPACE, NULL);
		table_read_key(&tr, 1, BTEqualStrategyNumber, Int64GetDatum(space));
	}
	else if (catalog_index_present(CATALOG_GRANTS_SYSTEM_WIDE))
		table_read_begin(&tr, CATALOG_GRANTS_SYSTEM_WIDE, NULL);
	else
	{
		table_read_begin(&tr, CATALOG_GRANTS_TWIN, NULL);
		table_read_key_null(&tr, 1);	/* twin IS NULL */
	}
	while (table_read_next(&tr))
	{
		bool		isnull;
		bool		twin_null;
		bool		space_null;
		WideGrant  *g;

		(void) table_read_value(&tr, Anum_grants_twin, &twin_null);
		(void) table_read_value(&tr, Anum_grants_space_id, &space_null);
		if (!twin_null || space_null != (space == 0))
			continue;
		out->v = array_reserve(out->v, out->n, &out->cap, sizeof(WideGrant));
		g = &out->v[out->n++];
		g->subject = DatumGetInt64(table_read_value(&tr, Anum_grants_subject_id, &isnull));
		g->space = space;
		g->granted = DatumGetInt32(table_read_value(&tr, Anum_grants_granted, &isnull));
		g->revoked = rights_row_denied(&tr);
	}
	table_read_end(&tr);
}

/*
 * The rights mask that an acl gives to holders of subs (a subject and its
 * groups): the test of rights_mask_of_acl over rights_keys_for(subs), read
 * from the acl's side.  rights_keys_for reads every system-wide and space
 * grant the subjects hold, and a site's creator may grant anyone rights on
 * as many sites as she makes; the only ones a key of the acl can match are
 * the system-wide grants and the grants on the spaces the twin is in,
 * which grants holds (sorted by subject).  sql/readers_match.inc checks
 * the two tests against each other.
 */
static int
rights_acl_mask(const int64 *acl, int nacl, const int64 *subs, int nsubs, const WideGrants *grants)
{
	WideGrant  *mine = NULL;	/* the subjects' grants among grants */
	int			nmine = 0;
	int			cap = 0;
	int			sys_granted = 0;
	int			sys_revoked = 0;
	int			probe = 0;
	int			veto = 0;
	int			i,
				j;

	for (j = 0; j < nsubs; j++)
	{
		int			lo = 0;
		int			hi = grants->n;

		while (lo < hi)			/* the first grant of subs[j] */
		{
			int			mid = lo + (hi - lo) / 2;

			if (grants->v[mid].subject < subs[j])
				lo = mid + 1;
			else
				hi = mid;
		}
		for (i = lo; i < grants->n && grants->v[i].subject == subs[j]; i++)
		{
			mine = array_reserve(mine, nmine, &cap, sizeof(WideGrant));
			mine[nmine++] = grants->v[i];
			if (grants->v[i].space == 0)
			{
				sys_granted |= grants->v[i].granted;
				sys_revoked |= grants->v[i].revoked;
			}
		}
	}
	for (i = 0; i < nacl; i++)
	{
		int64		key = acl[i];
		int			r = 0;
		int64		space = rights_key_space(key, &r);

		if (space > 0)
		{
			/* the twin is in a space: grants or denials of r there */
			for (j = 0; j < nmine; j++)
				if (mine[j].space == space)
				{
					probe |= mine[j].granted & RIGHT_MASK(r);
					veto |= mine[j].revoked & RIGHT_MASK(r);
				}
		}
		else if (key >= RIGHTS_KEY_STRIDE)
		{
			/* a subject's grant or denial on the twin itself */
			int64		subject = key / RIGHTS_KEY_STRIDE;
			int			rest = (int) (key % RIGHTS_KEY_STRIDE);

			for (j = 0; j < nsubs; j++)
				if (subs[j] == subject)
				{
					if (rest & RIGHTS_KEY_VETO)
						veto |= RIGHT_MASK(rest & ~RIGHTS_KEY_VETO);
					else
						probe |= RIGHT_MASK(rest);
					break;
				}
		}
		else if (key >= 0 && key < DTMV_NRIGHTS)
			probe |= sys_granted & RIGHT_MASK(key); /* r granted system-wide */
	}
	if (mine != NULL)
		pfree(mine);
	/* revoked system-wide: no probe key at all */
	return probe & ~veto & ~sys_revoked & DTMV_RIGHTS_ALL_MASK;
}

/*
 * The users and systems (not groups) that may read a twin with this acl,
 * sorted: the holders of read on it, on a space it is in or system-wide,
 * directly or through groups, less those denied.  Only what the acl's keys
 * can match is read, each through an index: the twin's own keys, the
 * system-wide grants (made by dtmv_admin, at most one a subject) and the
 * grants on the spaces the twin is in.  Candidates come from those; each
 * is then put to the rights test on the same grants (rights_acl_mask).  So
 * the wake-ups of a write cost what the twin's readers cost, whatever
 * grants anyone made on other spaces (issue 14: anyone may make sites and
 * grant rights on them, to herself or to anyone).
 */
int64 *
rights_acl_readers(const int64 *acl, int nacl, int *n)
{
	WideGrants	grants = {NULL, 0, 0};
	Int64Array	spaces = {0};
	Int64Array	found = {0};
	Int64Array	readers = {0};
	int			i;

	rights_read_wide_grants(0, &grants);
	for (i = 0; i < nacl; i++)
	{
		int64		subject = acl[i] / RIGHTS_KEY_STRIDE;
		int			r = 0;
		int64		space = rights_key_space(acl[i], &r);

		/* the subjects granted read on the twin itself: keys subject * 16 + read */
		if (subject > 0 && acl[i] == rights_acl_key(subject, RIGHT_READ, false) &&
			!int64_array_has(&found, subject))
			int64_array_add(&found, subject);
		/* a space the twin is in (keys -(space * 16 + r)) */
		if (space > 0 && !int64_array_has(&spaces, space))
		{
			int64_array_add(&spaces, space);
			rights_read_wide_grants(space, &grants);
		}
	}
	/* read granted system-wide, or on a space the twin is in for read */
	for (i = 0; i < grants.n; i++)
	{
		WideGrant  *g = &grants.v[i];
		bool		matches = g->space == 0;
		int			k;

		for (k = 0; !matches && k < nacl; k++)
			matches = acl[k] == rights_space_key(g->space, RIGHT_READ);
		if (matches && (g->granted & DTMV_RIGHT_READ_MASK) && !int64_array_has(&found, g->subject))
			int64_array_add(&found, g->subject);
	}
	rights_membership_closure(&found, false);	/* and the members of groups among them */
	if (grants.n > 1)
		qsort(grants.v, grants.n, sizeof(WideGrant), wide_grant_cmp);
	for (i = 0; i < found.n; i++)
	{
		Datum		kind;
		int			nsubs;
		int64	   *subs;

		if (!table_read_first_value(CATALOG_SUBJECTS_PKEY, Int64GetDatum(found.v[i]), Anum_subjects_kind, &kind)
			|| strcmp(TextDatumGetCString(kind), "group") == 0)
			continue;			/* gone, or a group */
		subs = rights_subjects_of(found.v[i], &nsubs);
		if (rights_acl_mask(acl, nacl, subs, nsubs, &grants) & DTMV_RIGHT_READ_MASK)
			int64_array_add(&readers, found.v[i]);
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
					 errhint("Rights are a comma list of %s.", rights_text(DTMV_RIGHTS_ALL_MASK))));
		mask |= RIGHT_MASK(r);
	}
	if (mask == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no right named in \"%s\"", list ? list : ""),
				 errhint("Rights are a comma list of %s.", rights_text(DTMV_RIGHTS_ALL_MASK))));
	return mask;
}

/* the names of the rights in mask, as a comma list in bit order ("" for none) */
char *
rights_text(int mask)
{
	StringInfoData list;
	int			r;

	initStringInfo(&list);
	for (r = 0; r < DTMV_NRIGHTS; r++)
		if (mask & RIGHT_MASK(r))
		{
			if (list.len > 0)
				appendStringInfoChar(&list, ',');
			appendStringInfoString(&list, right_names[r]);
		}
	return list.data;
}

void
rights_require(const TwinId *twin, int mask)
{
	int			missing = mask & ~(twin ? rights_effective(twin) : 0);
	int64		me;
	Datum		d;
	const char *twin_text = twin ? twin_id_to_cstring(twin) : "NULL";
	char	   *name = NULL;
	int			first = 0;

	if (missing == 0)
		return;
	me = rights_current_subject();
	if (me >= 0 && table_read_first_value(CATALOG_SUBJECTS_PKEY, Int64GetDatum(me), Anum_subjects_name, &d))
		name = TextDatumGetCString(d);
	while (!(missing & RIGHT_MASK(first)))
		first++;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied: %s right on twin %s is required",
					right_names[first], twin_text),
			 errdetail("Subject %s lacks the right(s) %s on twin %s, or the twin does not exist.",
					   name ? quote_identifier(name) : "(none)", rights_text(missing),
					   twin_text),
			 (missing & ~ActorActingRights()) ?
			 errhint("A service acting for a user holds at most the rights the user delegated to it: %s.",
					 rights_text(ActorActingRights())) : 0));
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

/*
 * The acting subject and its groups, as the owner of rows that are its own
 * (its commands, requests, orders, captures, grants, addressed events):
 * empty for a service acting for a user who did not delegate read to it.
 */
PG_FUNCTION_INFO_V1(dtmv_own_subjects);
Datum
dtmv_own_subjects(PG_FUNCTION_ARGS)
{
	if (!(ActorActingRights() & DTMV_RIGHT_READ_MASK))
		PG_RETURN_ARRAYTYPE_P(int64_array(NULL, 0));
	return dtmv_current_subjects(fcinfo);
}

/*
 * 42501 unless a service acting for a user was delegated these rights: for
 * the acts in a user's name that no right on a twin covers (creating twins,
 * worlds and spaces, ordering), which need admin.  No-op when not acting.
 */
PG_FUNCTION_INFO_V1(dtmv_require_acting_allows);
Datum
dtmv_require_acting_allows(PG_FUNCTION_ARGS)
{
	int			mask = rights_parse(PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0)));

	if (mask == 0 || (ActorActingRights() & mask) != mask)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s for the user this service acts for",
						PG_ARGISNULL(1) ? "do this" : text_to_cstring(PG_GETARG_TEXT_PP(1))),
				 errdetail("A service acting for a user does this only if the user delegated %s to it; it was delegated: %s.",
						   rights_text(mask), rights_text(ActorActingRights()))));
	PG_RETURN_VOID();
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

/*
 * One row per right number r: the probe and veto keys of a set of
 * subjects; no probe key for a right outside allowed.
 */
static void
keys_rows(FunctionCallInfo fcinfo, const int64 *subs, int nsubs, int allowed)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	RightsKeys	keys;
	int			r;

	InitMaterializedSRF(fcinfo, 0);
	rights_keys_for(subs, nsubs, &keys);
	for (r = 0; r < DTMV_NRIGHTS; r++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};
		bool		probes = (allowed & RIGHT_MASK(r)) != 0;

		values[0] = Int32GetDatum(r);
		values[1] = PointerGetDatum(int64_array(keys.probe[r].v, probes ? keys.probe[r].n : 0));
		values[2] = PointerGetDatum(int64_array(keys.veto[r].v, keys.veto[r].n));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/* for each right number r, the probe and veto keys of a set of subjects */
PG_FUNCTION_INFO_V1(dtmv_keys_for);
Datum
dtmv_keys_for(PG_FUNCTION_ARGS)
{
	int			nsubs = 0;
	int64	   *subs = NULL;

	if (!PG_ARGISNULL(0))
		subs = int64_array_values(PG_GETARG_ARRAYTYPE_P(0), &nsubs);
	keys_rows(fcinfo, subs, nsubs, DTMV_RIGHTS_ALL_MASK);
	return (Datum) 0;
}

/*
 * The keys of the acting subject and its groups: those of dtmv._keys_for,
 * less the probes of rights that a service acting for a user was not
 * delegated (so that every filter by keys is limited as rights_effective is).
 */
PG_FUNCTION_INFO_V1(dtmv_acting_keys);
Datum
dtmv_acting_keys(PG_FUNCTION_ARGS)
{
	int			nsubs;
	int64	   *subs = rights_current_subjects(&nsubs);

	keys_rows(fcinfo, subs, nsubs, ActorActingRights());
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
/* dtmv._rights_text(mask): the rights of a mask as a comma list ('' for NULL) */
PG_FUNCTION_INFO_V1(dtmv_rights_text);
Datum
dtmv_rights_text(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(rights_text(PG_ARGISNULL(0) ? 0 : PG_GETARG_INT32(0))));
}

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
