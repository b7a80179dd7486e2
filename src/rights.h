/*
 * rights.h
 *		The rights test: who is acting, which subject keys they hold, and
 *		which rights that gives them on a twin (REQ-DT-05).
 *
 * Rights and their bit numbers r (mask bit RIGHT_MASK(r)):
 *	 0 discover  1 read  2 interact  3 sync  4 control  5 admin
 * A twin's acl (twin_registry.acl, bigint[]) holds keys; a set of subjects
 * (a subject and its groups) holds right r on the twin when the acl
 * overlaps the subjects' probe keys of r and none of their veto keys of r.
 * See docs/rights.md.
 */
#ifndef DTMV_RIGHTS_H
#define DTMV_RIGHTS_H

#include "postgres.h"

#include "twin_id.h"

#define DTMV_NRIGHTS 6

/* the rights' bit numbers */
typedef enum DtmvRight
{
	RIGHT_DISCOVER,
	RIGHT_READ,
	RIGHT_INTERACT,
	RIGHT_SYNC,
	RIGHT_CONTROL,
	RIGHT_ADMIN
} DtmvRight;

/* the bit of right r in a rights mask (grants.granted, grants.revoked, ...) */
#define RIGHT_MASK(r)				(1 << (r))
#define DTMV_RIGHT_DISCOVER_MASK	RIGHT_MASK(RIGHT_DISCOVER)
#define DTMV_RIGHT_READ_MASK		RIGHT_MASK(RIGHT_READ)
#define DTMV_RIGHT_INTERACT_MASK	RIGHT_MASK(RIGHT_INTERACT)
#define DTMV_RIGHT_SYNC_MASK		RIGHT_MASK(RIGHT_SYNC)
#define DTMV_RIGHT_CONTROL_MASK		RIGHT_MASK(RIGHT_CONTROL)
#define DTMV_RIGHT_ADMIN_MASK		RIGHT_MASK(RIGHT_ADMIN)
#define DTMV_RIGHTS_ALL_MASK		(RIGHT_MASK(DTMV_NRIGHTS) - 1)

/*
 * The keys of an acl: a subject's grant or veto of right r on a twin, the
 * twin's place in a space (as a space grant or denial matches it), right r
 * granted system-wide.  A key's r is below 8, its veto flag 8, so 16 keys
 * per subject or space.
 */
#define RIGHTS_KEY_STRIDE 16
#define RIGHTS_KEY_VETO 8
extern int64 rights_acl_key(int64 subject, int r, bool veto);
extern int64 rights_space_key(int64 space, int r);
extern int64 rights_system_key(int r);

/* the subject a statement acts as (act_as, else the outer role's), or -1 */
extern int64 rights_current_subject(void);

/* a subject and every group it belongs to, sorted; *n gets the count */
extern int64 *rights_subjects_of(int64 subject, int *n);

/* mask of the rights the acting subject holds on a twin; 0 if it does not exist */
extern int	rights_effective(const TwinId *twin);

/* 42501 naming the first missing right unless the acting subject holds all of mask (NULL twin: never) */
extern void rights_require(const TwinId *twin, int mask);

/* qsort/bsearch comparator of int64s: the order of the id lists returned here */
extern int	int64_cmp(const void *a, const void *b);

/* the keys of a twin's acl (palloc'd); false for a twin that does not exist */
extern bool rights_twin_acl(const TwinId *twin, int64 **acl, int *nacl);

/*
 * the users and systems (not groups) that may read a twin with this acl,
 * sorted; reads only the grants the acl's keys can match (system-wide, and
 * on the spaces the twin is in), whatever grants exist elsewhere
 */
extern int64 *rights_acl_readers(const int64 *acl, int nacl, int *n);

/* the names of the rights in a mask, as a comma list in bit order (palloc'd) */
extern char *rights_text(int mask);

/* the mask of a comma list of right names; 22023 for an unknown one */
extern int	rights_parse(const char *list);

#endif							/* DTMV_RIGHTS_H */
