/*
 * wake_channels.c
 *		Who hears an event (REQ-DT-06, scenario 7.2.1): the NOTIFY channels
 *		that events wake, for writers that NOTIFY themselves (one event) and
 *		for the orderer (event_order.c: every event of a batch it ordered).
 *
 * An event addressed to a subject wakes that subject's channel only
 * (dtmv_s<subject>).  Any other event wakes the channels of the users and
 * systems that may read its twin, and of the worlds that use the twin and
 * whose owner may read it (dtmv_w<world>).  Readers depend on the twin's
 * acl alone, so a batch works them out once per distinct acl.  Each channel
 * is woken once, with the newest event id it has as payload.
 *
 * A service acting for a user (act_as) hears her wake-ups on a channel of
 * its own for her, dtmv_d<user>_<tag>, woken only while she delegates read
 * to it: the tag names the pair, so the channel is the service's, and
 * undelegate ends it (her own channel's name would outlive the delegation).
 *
 * A channel's name is dtmv_<kind><id>_<tag>, the tag a keyed hash of kind
 * and id(s) (HMAC-SHA-256 with dtmv.channel_key's secret, 96 bits in hex).
 * PostgreSQL checks nothing on LISTEN, so without the tag anyone could
 * listen on another subject's channel and learn when its twins change;
 * with it, only dtmv.listen() gives a client the names it may hear.  A
 * database still at release 0.1 has no key: its names are 0.1's, untagged,
 * as its dtmv.listen() expects, until ALTER EXTENSION dtmv UPDATE.
 *
 * In C with explicit index scans: the worker orders a batch every few
 * milliseconds under a stream of moves.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/async.h"
#include "common/hmac.h"
#include "common/sha2.h"
#include "fmgr.h"
#include "storage/proc.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "catalog.h"
#include "rights.h"
#include "table_read.h"
#include "twin_id.h"
#include "wake_channels.h"

/* bytes of the keyed hash in a channel's name (printed as hex) */
#define CHANNEL_TAG_BYTES 12

/*
 * The channel key, read again in each transaction that names channels: an
 * UPDATE of dtmv.channel_key (dtmv.rotate_channel_key) counts from the
 * next transaction on, in every backend and the worker.
 */
static LocalTransactionId channel_key_lxid = InvalidLocalTransactionId;
static bool channel_key_found = false;
static uint8 *channel_key = NULL;
static size_t channel_key_len = 0;

/* the key loaded; false where there is none (a database still at 0.1) */
static bool
wake_channel_key(void)
{
	Datum		d;
	bytea	   *secret;

	if (channel_key_lxid == MyProc->lxid && channel_key_lxid != InvalidLocalTransactionId)
		return channel_key_found;
	channel_key_found = false;
	if (catalog_table_present(CATALOG_CHANNEL_KEY))
	{
		if (!table_read_first_value(CATALOG_CHANNEL_KEY_PKEY, BoolGetDatum(true), Anum_channel_key_secret, &d))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("dtmv.channel_key holds no key"),
					 errdetail("Wake-up channel names are derived with that table's one row."),
					 errhint("Make one with dtmv.rotate_channel_key(), then have clients call dtmv.listen() again.")));
		secret = DatumGetByteaPP(d);
		if (channel_key != NULL)
			pfree(channel_key);
		channel_key_len = VARSIZE_ANY_EXHDR(secret);
		channel_key = MemoryContextAlloc(TopMemoryContext, Max(channel_key_len, 1));
		memcpy(channel_key, VARDATA_ANY(secret), channel_key_len);
		channel_key_found = true;
	}
	channel_key_lxid = MyProc->lxid;
	return channel_key_found;
}

/*
 * The name of channel kind of id: 's' a subject's, 'w' a world's, 'g' a
 * gateway's, 'd' that of the service (a subject id) acting for user id
 */
void
wake_channel_name(char kind, int64 id, int64 service, char name[NAMEDATALEN])
{
	char		message[64];
	int			len;
	uint8		mac[PG_SHA256_DIGEST_LENGTH];
	char		tag[2 * CHANNEL_TAG_BYTES + 1];
	pg_hmac_ctx *ctx;

	if (!wake_channel_key())
	{
		snprintf(name, NAMEDATALEN, "dtmv_%c" INT64_FORMAT, kind, id);
		return;
	}
	if (kind == 'd')
		len = snprintf(message, sizeof(message), "%c" INT64_FORMAT "." INT64_FORMAT, kind, id, service);
	else
		len = snprintf(message, sizeof(message), "%c" INT64_FORMAT, kind, id);
	ctx = pg_hmac_create(PG_SHA256);
	if (ctx == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	if (pg_hmac_init(ctx, channel_key, channel_key_len) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) message, len) < 0 ||
		pg_hmac_final(ctx, mac, sizeof(mac)) < 0)
	{
		const char *why = pstrdup(pg_hmac_error(ctx));

		pg_hmac_free(ctx);
		elog(ERROR, "could not derive a channel name: %s", why);
	}
	pg_hmac_free(ctx);
	hex_encode((const char *) mac, CHANNEL_TAG_BYTES, tag);
	tag[2 * CHANNEL_TAG_BYTES] = '\0';
	snprintf(name, NAMEDATALEN, "dtmv_%c" INT64_FORMAT "_%s", kind, id, tag);
}

/* a channel to wake: subject ('s'), world ('w') or a service's for a user ('d') */
typedef struct Wake
{
	char		kind;
	int64		id;
	int64		service;		/* 'd' only: the service acting for user id */
	int64		newest;			/* the newest event id it hears */
} Wake;

typedef struct WakeList
{
	Wake	   *v;
	int			n;
	int			cap;
} WakeList;

static void
wake_add(WakeList *l, char kind, int64 id, int64 service, int64 newest)
{
	l->v = array_reserve(l->v, l->n, &l->cap, sizeof(Wake));
	l->v[l->n].kind = kind;
	l->v[l->n].id = id;
	l->v[l->n].service = service;
	l->v[l->n].newest = newest;
	l->n++;
}

static int
wake_cmp(const void *a, const void *b)
{
	const Wake *x = a;
	const Wake *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->id != y->id)
		return (x->id > y->id) - (x->id < y->id);
	return (x->service > y->service) - (x->service < y->service);
}

/* a twin that events woke, with what its readers are */
typedef struct TwinWake
{
	TwinId		twin;
	int64		newest;
	int64	   *acl;
	int			nacl;
} TwinWake;

static int
twin_wake_by_twin(const void *a, const void *b)
{
	return memcmp(&((const TwinWake *) a)->twin, &((const TwinWake *) b)->twin, sizeof(TwinId));
}

static int
twin_wake_by_acl(const void *a, const void *b)
{
	const TwinWake *x = a;
	const TwinWake *y = b;
	int			i;

	if (x->nacl != y->nacl)
		return x->nacl < y->nacl ? -1 : 1;
	for (i = 0; i < x->nacl; i++)
		if (x->acl[i] != y->acl[i])
			return x->acl[i] < y->acl[i] ? -1 : 1;
	return 0;
}

/* the worlds using a twin whose owner is among its readers (sorted) */
static void
wake_worlds_of(const TwinWake *tw, const int64 *readers, int nreaders, WakeList *out)
{
	Int64Array	worlds = {0};
	TableRead	tr;
	int			i;

	table_read_begin(&tr, CATALOG_WORLD_TWINS_TWIN, NULL);
	table_read_key(&tr, 1, BTEqualStrategyNumber, TwinIdPGetDatum(&tw->twin));
	while (table_read_next(&tr))
	{
		bool		isnull;
		Datum		world = table_read_value(&tr, Anum_world_twins_world_id, &isnull);

		if (!isnull)
			int64_array_add(&worlds, DatumGetInt64(world));
	}
	table_read_end(&tr);
	for (i = 0; i < worlds.n; i++)
	{
		Datum		d;
		int64		owner;

		if (nreaders == 0 ||
			!table_read_first_value(CATALOG_WORLDS_PKEY, Int64GetDatum(worlds.v[i]), Anum_worlds_owner_subject, &d))
			continue;
		owner = DatumGetInt64(d);
		if (bsearch(&owner, readers, nreaders, sizeof(int64), int64_cmp) != NULL)
			wake_add(out, 'w', worlds.v[i], 0, tw->newest);
	}
}

/*
 * A subject's channel, and the channels of the services it delegates read
 * to (a release-0.1 schema has no delegations)
 */
static void
wake_add_subject(WakeList *l, int64 subject, int64 newest)
{
	TableRead	tr;

	wake_add(l, 's', subject, 0, newest);
	if (!catalog_table_present(CATALOG_DELEGATIONS))
		return;
	table_read_begin(&tr, CATALOG_DELEGATIONS_PKEY, NULL);
	table_read_key(&tr, 1, BTEqualStrategyNumber, Int64GetDatum(subject));
	while (table_read_next(&tr))
	{
		bool		isnull;
		int32		rights = DatumGetInt32(table_read_value(&tr, Anum_delegations_rights, &isnull));

		if (rights & DTMV_RIGHT_READ_MASK)
			wake_add(l, 'd', subject,
					 DatumGetInt64(table_read_value(&tr, Anum_delegations_service_id, &isnull)), newest);
	}
	table_read_end(&tr);
}

/*
 * The channels n events wake, each once with the newest id it hears, in
 * order of channel (subjects', then worlds'); *nchannels gets the count.
 */
WakeChannel *
wake_channels(const WakeEvent *events, int n, int *nchannels)
{
	WakeList	wakes = {NULL, 0, 0};
	TwinWake   *twins = palloc_extended((Size) Max(n, 1) * sizeof(TwinWake), MCXT_ALLOC_HUGE);
	int			ntwins = 0;
	int			nfound = 0;
	WakeChannel *channels;
	int			i,
				j;

	for (i = 0; i < n; i++)
	{
		if (events[i].has_addressee)
			wake_add_subject(&wakes, events[i].addressee, events[i].id);
		else if (events[i].has_twin)
		{
			twins[ntwins].twin = events[i].twin;
			twins[ntwins].newest = events[i].id;
			ntwins++;
		}
	}

	/* each twin once, with its newest event; then its acl, if it still exists */
	qsort(twins, ntwins, sizeof(TwinWake), twin_wake_by_twin);
	for (i = 0; i < ntwins; i++)
	{
		if (nfound > 0 && twin_wake_by_twin(&twins[nfound - 1], &twins[i]) == 0)
		{
			twins[nfound - 1].newest = Max(twins[nfound - 1].newest, twins[i].newest);
			continue;
		}
		twins[nfound] = twins[i];
		if (rights_twin_acl(&twins[nfound].twin, &twins[nfound].acl, &twins[nfound].nacl))
			nfound++;
		else
			twins[nfound].newest = 0;	/* gone: neither kept nor merged with */
	}

	/* readers once per distinct acl (its keys sorted: the same grants, the same acl) */
	for (i = 0; i < nfound; i++)
		qsort(twins[i].acl, twins[i].nacl, sizeof(int64), int64_cmp);
	qsort(twins, nfound, sizeof(TwinWake), twin_wake_by_acl);
	for (i = 0; i < nfound; i = j)
	{
		int			nreaders;
		int64	   *readers = rights_acl_readers(twins[i].acl, twins[i].nacl, &nreaders);
		int64		newest = 0;
		int			r;

		for (j = i; j < nfound && twin_wake_by_acl(&twins[i], &twins[j]) == 0; j++)
		{
			newest = Max(newest, twins[j].newest);
			wake_worlds_of(&twins[j], readers, nreaders, &wakes);
		}
		for (r = 0; r < nreaders; r++)
			wake_add_subject(&wakes, readers[r], newest);
	}

	/* each channel once, with the newest id */
	qsort(wakes.v, wakes.n, sizeof(Wake), wake_cmp);
	channels = palloc(Max(wakes.n, 1) * sizeof(WakeChannel));
	*nchannels = 0;
	for (i = 0; i < wakes.n; i++)
	{
		if (i > 0 && wake_cmp(&wakes.v[i - 1], &wakes.v[i]) == 0)
		{
			channels[*nchannels - 1].newest = Max(channels[*nchannels - 1].newest, wakes.v[i].newest);
			continue;
		}
		wake_channel_name(wakes.v[i].kind, wakes.v[i].id, wakes.v[i].service, channels[*nchannels].name);
		channels[*nchannels].newest = wakes.v[i].newest;
		(*nchannels)++;
	}
	return channels;
}

/* the channels one event wakes (twin and addressee each possibly NULL) */
WakeChannel *
wake_channels_of_event(Datum twin, bool twin_isnull, Datum addressee, bool addressee_isnull, int64 id,
					   int *nchannels)
{
	WakeEvent	ev;

	memset(&ev, 0, sizeof(ev));
	ev.has_twin = !twin_isnull;
	if (ev.has_twin)
		ev.twin = *DatumGetTwinIdP(twin);
	ev.has_addressee = !addressee_isnull;
	ev.addressee = ev.has_addressee ? DatumGetInt64(addressee) : 0;
	ev.id = id;
	return wake_channels(&ev, 1, nchannels);
}

/*
 * NOTIFY each channel (sent at commit), with its newest event id as payload,
 * or an empty one where the ids are not known yet (a writer's own NOTIFY)
 */
int
wake_notify(const WakeChannel *channels, int n, bool with_ids)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		char		payload[32] = "";

		if (with_ids)
			snprintf(payload, sizeof(payload), INT64_FORMAT, channels[i].newest);
		Async_Notify(channels[i].name, payload);
	}
	return n;
}

/*
 * dtmv._event_channels(twin, addressee): the channels one event on twin
 * (for addressee alone, if not NULL) wakes, sorted.  For tests and docs:
 * writers call wake_channels directly.
 */
PG_FUNCTION_INFO_V1(dtmv_event_channels);
Datum
dtmv_event_channels(PG_FUNCTION_ARGS)
{
	int			n;
	WakeChannel *channels = wake_channels_of_event(PG_GETARG_DATUM(0), PG_ARGISNULL(0),
												   PG_GETARG_DATUM(1), PG_ARGISNULL(1), 0, &n);
	Datum	   *names;
	int			i;

	names = palloc(Max(n, 1) * sizeof(Datum));
	for (i = 0; i < n; i++)
		names[i] = CStringGetTextDatum(channels[i].name);
	PG_RETURN_ARRAYTYPE_P(construct_array(names, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * dtmv._channel(kind, id, service): the name of a channel (kind 's' a
 * subject's, 'w' a world's, 'g' a gateway's, 'd' service's for user id),
 * for dtmv.listen() and dtmv.interact(); internal: a client who could call
 * it could listen on anyone's channel.
 */
PG_FUNCTION_INFO_V1(dtmv_channel);
Datum
dtmv_channel(PG_FUNCTION_ARGS)
{
	char		kind = PG_GETARG_CHAR(0);
	char		name[NAMEDATALEN];

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || (kind == 'd' && PG_ARGISNULL(2)))
		PG_RETURN_NULL();
	if (kind != 's' && kind != 'w' && kind != 'g' && kind != 'd')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no channel kind \"%c\"", kind),
				 errhint("Channels are of subjects (s), worlds (w), gateways (g) and services acting for users (d).")));
	wake_channel_name(kind, PG_GETARG_INT64(1), kind == 'd' ? PG_GETARG_INT64(2) : 0, name);
	PG_RETURN_TEXT_P(cstring_to_text(name));
}
