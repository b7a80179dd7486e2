/*
 * dtmv_home.h
 *		What the parts of dtmv-home share: the log, the stop flag, the
 *		connection, and the device driver calls of its gateway.
 */
#ifndef DTMV_HOME_H
#define DTMV_HOME_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "libpq-fe.h"

/* set by SIGTERM and SIGINT */
extern volatile sig_atomic_t stop_requested;

/* one line of the log, time-stamped, on standard output */
extern void say(const char *fmt,...) __attribute__((format(printf, 1, 2)));

/*
 * Connect with the PG* environment, retrying every second until the
 * deadline; NULL if it passes.  set_path: pin the session's search_path
 * (not behind a transaction pooler, where a SET stays with a server
 * connection that other clients then get).
 */
extern PGconn *connect_until(time_t deadline, bool set_path);

/* LISTEN on the acting subject's channels; false if the connection failed */
extern bool listen_all(PGconn *conn);

/* wait up to a second for a notification; drain them; false if the connection broke */
extern bool wait_for_wakeup(PGconn *conn);

/* A call of the device driver (device_driver.c) */
typedef struct DeviceCall
{
	int			timeout;		/* seconds the device has to answer */
	int			keep_alive_every;	/* seconds between keep-alives */
	/* run while the device works; false (and why) if the work is no longer wanted */
	bool		(*keep_alive) (void *arg, char *reason, size_t reasonlen);
	void	   *arg;
} DeviceCall;

/*
 * Run the driver (argv: the program and its arguments); true with its
 * standard output in *answer (malloc'd), or false with why in reason.
 */
extern bool device_call(const DeviceCall *call, char *const argv[], char **answer, char *reason,
						size_t reasonlen);

/* dtmv-home gateway (home_gateway.c) */
typedef struct GatewayOptions
{
	char	  **devices;		/* --device: the serials of the devices here */
	int			ndevices;
	const char *driver;			/* --driver: the device driver program */
	bool		pooler;			/* --pooler: behind a transaction pooler */
	int			lease;			/* --lease: seconds of a sync's lease */
	int			device_timeout; /* --device-timeout: seconds a device has */
	int			seconds;		/* --seconds: stop after */
	int			max_acks;		/* --acks: stop after this many commands */
} GatewayOptions;

extern int	run_gateway(const GatewayOptions *opt);

#endif							/* DTMV_HOME_H */
