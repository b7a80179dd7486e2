/*
 * actor.h
 *		Who is acting: the subject a statement acts as (REQ-DT-05).
 */
#ifndef DTMV_ACTOR_H
#define DTMV_ACTOR_H

/* the role of gateways: they act for the physical side */
#define GATEWAY_ROLE "dtmv_gateway"

extern void ActorInit(void);

/* whether the role outside any SECURITY DEFINER function has the privileges of a role */
extern bool actor_outer_has_role(const char *rolename);

/* 42501 "permission denied to <what>" unless it has */
extern void actor_require_role(const char *rolename, const char *what);

/* the subject set by dtmv.act_as() in this transaction: true and *subject, or false */
extern bool ActorActingSubject(int64 *subject);

extern int	ActorActingRights(void);

#endif							/* DTMV_ACTOR_H */
