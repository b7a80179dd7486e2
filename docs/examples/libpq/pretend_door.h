/*
 * pretend_door.h: stand-ins for the devices of gateway.c (docs/applications.md),
 * doors reached by their serial numbers.  A real gateway speaks its devices'
 * protocol here (Zigbee, Bluetooth, a vendor's API).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* a stand-in for a door's device, reached by its serial number */
typedef struct Door {
	const char *serial;
	const char *door;  /* its state: open, closed, locked */
	char done[64][32]; /* the last commands carried out: one */
	int ndone;         /* delivered again is not done twice */
} Door;

static double now(void) {
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* its state as JSON, or 0 if it has not answered within wait seconds */
static int door_read(Door *d, double started, double wait, char *out, size_t len) {
	const char *slow = getenv("PRETEND_DEVICE_SECONDS"); /* how slowly it answers */
	double ready = started + (slow ? atof(slow) : 0);

	if (ready > now())
		usleep((useconds_t)(1e6 * (ready - now() < wait ? ready - now() : wait)));
	snprintf(out, len, "{\"door\": \"%s\", \"battery\": 87}", d->door);
	return now() >= ready;
}

/* carry out a command once; its result as JSON, or 0 with the reason */
static int door_act(Door *d, const char *command_id, const char *action, char *out, size_t len) {
	static const char *const moves[][2] = {{"open", "open"}, {"close", "closed"}, {"lock", "locked"}};
	int i, seen = 0;

	for (i = 0; i < d->ndone && i < 64; i++)
		seen |= strcmp(d->done[i], command_id) == 0;
	for (i = 0; !seen && i < 3 && strcmp(action, moves[i][0]) != 0; i++)
		;
	if (!seen && i == 3)
		return snprintf(out, len, "{\"error\": \"a door cannot %s\"}", action), 0;
	if (!seen) {
		d->door = moves[i][1];
		snprintf(d->done[d->ndone++ % 64], 32, "%s", command_id);
	}
	return snprintf(out, len, "{\"door\": \"%s\"}", d->door), 1;
}
