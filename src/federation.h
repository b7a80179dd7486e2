/*
 * federation.h
 *		Settings of the links to other systems (docs/federation.md).
 */
#ifndef DTMV_FEDERATION_H
#define DTMV_FEDERATION_H

extern void FederationInit(void);

#endif							/* DTMV_FEDERATION_H */
