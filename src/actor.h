/*
 * actor.h
 *		Who is acting: the subject a statement acts as (REQ-DT-05).
 */
#ifndef DTMV_ACTOR_H
#define DTMV_ACTOR_H

extern void ActorInit(void);

/* the subject set by dtmv.act_as() in this transaction: true and *subject, or false */
extern bool ActorActingSubject(int64 *subject);

#endif							/* DTMV_ACTOR_H */
