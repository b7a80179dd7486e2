/*
 * wake_channels.h
 *		Who hears an event: the NOTIFY channels events wake (wake_channels.c).
 */
#ifndef DTMV_WAKE_CHANNELS_H
#define DTMV_WAKE_CHANNELS_H

#include "postgres.h"

#include "twin_id.h"

/* an event, as far as its wake-ups go */
typedef struct WakeEvent
{
	TwinId		twin;
	bool		has_twin;
	int64		addressee;
	bool		has_addressee;	/* addressed: heard by the addressee alone */
	int64		id;
} WakeEvent;

/* a channel to NOTIFY, and the newest event id it hears */
typedef struct WakeChannel
{
	char		name[NAMEDATALEN];
	int64		newest;
} WakeChannel;

/*
 * the name of channel kind of id: 's' a subject's, 'w' a world's, 'g' a
 * gateway's, 'd' that of the service (a subject id) acting for user id
 */
extern void wake_channel_name(char kind, int64 id, int64 service, char name[NAMEDATALEN]);

/* the channels n events wake, each once, sorted; *nchannels gets the count */
extern WakeChannel *wake_channels(const WakeEvent *events, int n, int *nchannels);

/* the channels one event wakes (twin and addressee each possibly NULL) */
extern WakeChannel *wake_channels_of_event(Datum twin, bool twin_isnull, Datum addressee,
										   bool addressee_isnull, int64 id, int *nchannels);

/*
 * NOTIFY each of n channels (sent at commit), with its newest event id as
 * payload if with_ids, else an empty one; returns n
 */
extern int	wake_notify(const WakeChannel *channels, int n, bool with_ids);

#endif							/* DTMV_WAKE_CHANNELS_H */
