/*
 * actor.h
 *		Who is acting: the subject a statement acts as (REQ-DT-05).
 */
#ifndef DTMV_ACTOR_H
#define DTMV_ACTOR_H

extern void ActorInit(void);

#endif							/* DTMV_ACTOR_H */
