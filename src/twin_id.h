/*
 * twin_id.h
 *		The dtmv.twin_id base type: identity of a digital twin (REQ-DT-01).
 *
 * A twin_id is 16 bytes, laid out as an RFC 9562 version-8 UUID so that it
 * casts to uuid without conversion:
 *
 *	 bytes 0-5	 unix time in milliseconds, big-endian (time-ordered)
 *	 byte  6	 high nibble: version 8; low nibble: sequence bits 11..8
 *	 byte  7	 sequence bits 7..0 (per-backend, monotonic within a millisecond)
 *	 bytes 8-11  two variant bits (10), then the 30-bit number of the twin
 *				 system that maintains the twin, big-endian
 *	 bytes 12-15 32 random bits
 *
 * See docs/identity.md for why.
 */
#ifndef DTMV_TWIN_ID_H
#define DTMV_TWIN_ID_H

#include "postgres.h"
#include "fmgr.h"

#define TWIN_ID_LEN 16
#define TWIN_ID_VERSION 8
#define TWIN_ID_MAX_SYSTEM ((int32) 0x3FFFFFFF)

typedef struct TwinId
{
	unsigned char data[TWIN_ID_LEN];
} TwinId;

#define DatumGetTwinIdP(X)		((TwinId *) DatumGetPointer(X))
#define TwinIdPGetDatum(X)		PointerGetDatum(X)
#define PG_GETARG_TWINID_P(n)	DatumGetTwinIdP(PG_GETARG_DATUM(n))
#define PG_RETURN_TWINID_P(x)	return TwinIdPGetDatum(x)

/* the canonical text form, palloc'd */
extern char *twin_id_to_cstring(const TwinId *id);

/* 22023 unless name is a lower-case identifier (a kind); what: "kind of twin" */
extern void identifier_require(const char *name, const char *what);

#endif							/* DTMV_TWIN_ID_H */
