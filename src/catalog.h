/*
 * catalog.h
 *		dtmv's own tables, as the C code knows them: each table, index and
 *		sequence of schema dtmv that C reads or writes directly, and each
 *		table's column numbers (Anum_<table>_<column>).
 *
 * One place for the names the library relies on.  The column numbers are
 * those of the install script: a column is only ever added at the end of
 * a table (an upgrade script never drops or reorders one), so they hold in
 * every version.  Each table's columns (name and type) are checked against
 * its tuple descriptor when the library first opens it (an ERROR on a mismatch: a
 * library and schema of different versions), and dtmv.catalog_check()
 * lists every mismatch for an operator (docs/operations.md).
 *
 * Relation ids are looked up once per backend and forgotten on a relcache
 * invalidation of that relation (catalog.c).
 */
#ifndef DTMV_CATALOG_H
#define DTMV_CATALOG_H

#include "postgres.h"

#include "storage/lockdefs.h"
#include "utils/relcache.h"

typedef enum CatalogTable
{
	CATALOG_SUBJECTS,
	CATALOG_GROUP_MEMBERS,
	CATALOG_GRANTS,
	CATALOG_TWIN_REGISTRY,
	CATALOG_TWIN_STATES,
	CATALOG_TWIN_POSITIONS,
	CATALOG_WORLDS,
	CATALOG_WORLD_TWINS,
	CATALOG_SYNC_PRIORITIES,
	CATALOG_SYNC_REQUESTS,
	CATALOG_SYNC_SCHEDULE,
	CATALOG_EVENT_INBOX,
	CATALOG_GATEWAYS,
	CATALOG_DELEGATIONS,
	CATALOG_CHANNEL_KEY,
	_CATALOG_NTABLES
} CatalogTable;

/* dtmv.subjects */
enum
{
	Anum_subjects_subject_id = 1,
	Anum_subjects_name,
	Anum_subjects_kind,
	Anum_subjects_login,
	Anum_subjects_created_at,
	_Anum_subjects_max
};

/* dtmv.group_members */
enum
{
	Anum_group_members_group_id = 1,
	Anum_group_members_member_id,
	_Anum_group_members_max
};

/* dtmv.grants */
enum
{
	Anum_grants_subject_id = 1,
	Anum_grants_twin,
	Anum_grants_space_id,
	Anum_grants_granted,
	Anum_grants_revoked,
	Anum_grants_refused,		/* new in 0.2 */
	_Anum_grants_max
};

/* dtmv.twin_registry */
enum
{
	Anum_twin_registry_id = 1,
	Anum_twin_registry_system_no,
	Anum_twin_registry_kind,
	Anum_twin_registry_name,
	Anum_twin_registry_properties,
	Anum_twin_registry_model_uri,
	Anum_twin_registry_sync_period,
	Anum_twin_registry_sync_priority,
	Anum_twin_registry_created_by,
	Anum_twin_registry_created_at,
	Anum_twin_registry_updated_at,
	Anum_twin_registry_acl,
	_Anum_twin_registry_max
};

/* dtmv.twin_states */
enum
{
	Anum_twin_states_twin = 1,
	Anum_twin_states_reported,
	Anum_twin_states_desired,
	Anum_twin_states_reported_at,
	Anum_twin_states_desired_at,
	Anum_twin_states_physical_binding,
	Anum_twin_states_gateway,
	Anum_twin_states_binding_confirmed_at,
	_Anum_twin_states_max
};

/* dtmv.twin_positions */
enum
{
	Anum_twin_positions_twin = 1,
	Anum_twin_positions_site,
	Anum_twin_positions_space,
	Anum_twin_positions_position,
	Anum_twin_positions_cell,
	Anum_twin_positions_orientation,
	Anum_twin_positions_footprint,
	Anum_twin_positions_moved_at,
	_Anum_twin_positions_max
};

/* dtmv.worlds */
enum
{
	Anum_worlds_world_id = 1,
	Anum_worlds_name,
	Anum_worlds_system_no,
	Anum_worlds_owner_subject,
	Anum_worlds_created_at,
	_Anum_worlds_max
};

/* dtmv.world_twins */
enum
{
	Anum_world_twins_world_id = 1,
	Anum_world_twins_twin,
	Anum_world_twins_added_by,
	Anum_world_twins_added_at,
	_Anum_world_twins_max
};

/* dtmv.sync_priorities */
enum
{
	Anum_sync_priorities_twin = 1,
	Anum_sync_priorities_subject_id,
	Anum_sync_priorities_priority,
	_Anum_sync_priorities_max
};

/* dtmv.sync_requests */
enum
{
	Anum_sync_requests_request_id = 1,
	Anum_sync_requests_twin,
	Anum_sync_requests_subject_id,
	Anum_sync_requests_priority,
	Anum_sync_requests_status,
	Anum_sync_requests_batch,
	Anum_sync_requests_requested_at,
	Anum_sync_requests_started_at,
	Anum_sync_requests_finished_at,
	Anum_sync_requests_lease_until,
	Anum_sync_requests_session_lock,
	Anum_sync_requests_gateway_pid,
	Anum_sync_requests_ready,
	Anum_sync_requests_gateway,
	_Anum_sync_requests_max
};

/* dtmv.sync_schedule */
enum
{
	Anum_sync_schedule_twin = 1,
	Anum_sync_schedule_next_due,
	_Anum_sync_schedule_max
};

/* dtmv.event_inbox */
enum
{
	Anum_event_inbox_entry_id = 1,
	Anum_event_inbox_twin,
	Anum_event_inbox_subject_id,
	Anum_event_inbox_kind,
	Anum_event_inbox_payload,
	Anum_event_inbox_created_at,
	_Anum_event_inbox_max
};

/* dtmv.gateways */
enum
{
	Anum_gateways_subject_id = 1,
	Anum_gateways_owner_subject,
	Anum_gateways_registered_at,
	_Anum_gateways_max
};

/* dtmv.delegations */
enum
{
	Anum_delegations_subject_id = 1,
	Anum_delegations_service_id,
	Anum_delegations_rights,
	Anum_delegations_created_at,
	_Anum_delegations_max
};

/* dtmv.channel_key (new in 0.2) */
enum
{
	Anum_channel_key_one = 1,
	Anum_channel_key_secret,
	_Anum_channel_key_max
};

/* the btree indexes C reads through (and writes find rows with) */
typedef enum CatalogIndex
{
	CATALOG_SUBJECTS_PKEY,		/* (subject_id) */
	CATALOG_SUBJECTS_LOGIN_KEY, /* (login) */
	CATALOG_GROUP_MEMBERS_PKEY, /* (group_id, member_id) */
	CATALOG_GROUP_MEMBERS_MEMBER_ID_IDX,	/* (member_id) */
	CATALOG_GRANTS_SUBJECT_ID_TWIN_SPACE_ID_KEY,	/* (subject_id, twin,
													 * space_id) */
	CATALOG_GRANTS_TWIN,		/* (twin) */
	CATALOG_GRANTS_SPACE,		/* (space_id) WHERE space_id IS NOT NULL */
	CATALOG_GRANTS_SYSTEM_WIDE, /* (subject_id) WHERE twin IS NULL AND
								 * space_id IS NULL; new in 0.2 */
	CATALOG_TWIN_REGISTRY_PKEY, /* (id) */
	CATALOG_TWIN_STATES_PKEY,	/* (twin) */
	CATALOG_TWIN_POSITIONS_PKEY,	/* (twin) */
	CATALOG_WORLDS_PKEY,		/* (world_id) */
	CATALOG_WORLD_TWINS_TWIN,	/* (twin) */
	CATALOG_SYNC_PRIORITIES_PKEY,	/* (twin, subject_id) */
	CATALOG_SYNC_REQUESTS_PKEY, /* (request_id) */
	CATALOG_SYNC_REQUESTS_PENDING,	/* (twin, priority DESC, request_id)
									 * WHERE pending */
	CATALOG_SYNC_REQUESTS_RUNNING,	/* UNIQUE (twin) WHERE running */
	CATALOG_SYNC_REQUESTS_READY,	/* (priority DESC, request_id) WHERE
									 * ready: release 0.1's queue, gone
									 * since */
	CATALOG_SYNC_REQUESTS_QUEUE,	/* (gateway, request_id) WHERE ready:
									 * since 0.2 */
	CATALOG_SYNC_SCHEDULE_PKEY, /* (twin) */
	CATALOG_GATEWAYS_PKEY,		/* (subject_id) */
	CATALOG_DELEGATIONS_PKEY,	/* (subject_id, service_id) */
	CATALOG_CHANNEL_KEY_PKEY,	/* (one): its one row */
	_CATALOG_NINDEXES
} CatalogIndex;

typedef enum CatalogSequence
{
	CATALOG_EVENT_ENTRIES,		/* an event's entry number */
	CATALOG_SYNC_REQUESTS_REQUEST_ID_SEQ,	/* sync_requests' identity */
	_CATALOG_NSEQUENCES
} CatalogSequence;

extern void CatalogInit(void);

/* relation ids; 42P01 if the relation is missing */
extern Oid	catalog_table_relid(CatalogTable table);
extern Oid	catalog_index_relid(CatalogIndex index);
extern Oid	catalog_sequence_relid(CatalogSequence seq);

/*
 * Whether an index that the library can do without is installed (one that
 * a database at an older version lacks until ALTER EXTENSION dtmv UPDATE):
 * its callers then read as that version did.
 */
extern bool catalog_index_present(CatalogIndex index);

extern const char *catalog_table_name(CatalogTable table);
extern CatalogTable catalog_index_table(CatalogIndex index);

/*
 * Open a table (its columns checked against the Anum_ constants once per
 * lookup of its relid) or one of its indexes (a btree with the key columns
 * expected, checked likewise).
 */
extern Relation catalog_table_open(CatalogTable table, LOCKMODE lockmode);

/*
 * Does an open table have this column?  Only a column added after release
 * 0.1 may be missing: from a database whose library was replaced but whose
 * schema is not updated yet (ALTER EXTENSION dtmv UPDATE), where the rules
 * of 0.1 hold until the update.
 */
extern bool catalog_table_has(Relation rel, AttrNumber attnum);

/* Is a table added after release 0.1 there (the same reason)? */
extern bool catalog_table_present(CatalogTable table);
extern Relation catalog_index_open(CatalogIndex index, LOCKMODE lockmode);

/* the equality procedure of an index's first key column, from its opfamily */
extern RegProcedure catalog_index_eqproc(CatalogIndex index, Relation indexrel);

#endif							/* DTMV_CATALOG_H */
