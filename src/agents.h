/*
 * agents.h
 *		Parties that speak for others: gateways, which speak for the physical
 *		objects bound through them, and services, which act for the users
 *		who delegated to them (docs/rights.md, "Trust model").
 */
#ifndef DTMV_AGENTS_H
#define DTMV_AGENTS_H

#include "postgres.h"

#include "twin_id.h"

/* the subject mapped to the login outside any function (not dtmv.act_as's); -1 if none */
extern int64 agents_login_subject(void);

/* are gateways and delegations in force here (not a schema still at 0.1)? */
extern bool agents_schema_scoped(void);

/* the gateway the login is (a registered gateway's subject), or -1 */
extern int64 agents_gateway_self(void);

/* the gateway that serves a twin (its binding confirmed through it); false if none */
extern bool agents_serving_gateway(const TwinId *twin, int64 *gateway);

/* does the calling gateway serve this twin (a superuser serves every twin)? */
extern bool agents_serves(const TwinId *twin);

/* 42501 unless the calling gateway serves this twin; _now: on the latest committed state */
extern void agents_require_serves(const TwinId *twin, const char *what);
extern void agents_require_serves_now(const TwinId *twin, const char *what);

/* the rights a user delegated to a service; false if it did not delegate */
extern bool agents_delegated_rights(int64 subject, int64 service, int *rights);

#endif							/* DTMV_AGENTS_H */
