# dtmv: PostgreSQL extension (PGXS). `make demo`, `make test`, `make bench`
# and `make shell` first run test/setup.sh, which installs what is missing.

.DEFAULT_GOAL := all

EXTENSION = dtmv
EXTVERSION = 0.2
MODULE_big = dtmv
OBJS = src/dtmv.o src/twin_id.o src/actor.o src/rights.o src/sync_lock.o src/sync_queue.o src/worker.o src/events.o src/notifier.o src/table_write.o src/geometry.o src/spatial.o src/wake_channels.o src/event_order.o src/catalog.o src/table_read.o src/agents.o src/frames.o src/federation.o src/federation_events.o
# The install script of this version and the update script from each
# released one are generated (below); released install scripts are kept as
# they shipped, never edited (sql/install/released/).
DATA_built = dtmv--$(EXTVERSION).sql \
	$(patsubst sql/install/updates/%.sql,dtmv--%.sql,$(wildcard sql/install/updates/*--$(EXTVERSION).sql))
DATA = $(wildcard sql/install/released/dtmv--*.sql)
EXTRA_CLEAN = results regression.diffs regression.out output_iso tmp_check gateway/dtmv-home

PG_CONFIG ?= pg_config
PG_CPPFLAGS = -I$(srcdir)/src
# PROJ (Debian's libproj-dev), which PostGIS loads into the backend too:
# src/frames.c converts between a site's frame and WGS84 with it
SHLIB_LINK = -lproj
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
ifdef DTMV_WERROR
PG_CFLAGS += -Werror
endif

# make installcheck, against a running server (PGHOST, PGPORT...), runs:
# pg_regress suites: sql/<name>.sql against expected/<name>.out; the first
# loads the tests' helpers (test/sql/test_helpers.sql) that the others call
REGRESS = test_helpers identity registry rights sync events spatial frames commerce agents refusals catalog wot actions twin_ids
LOAD_DTMV = --load-extension=postgis --load-extension=pg_trgm --load-extension=btree_gist --load-extension=dtmv
REGRESS_OPTS = $(LOAD_DTMV)
# isolation specs: test/isolation/specs/<name>.spec against
# test/isolation/expected/<name>.out (results in output_iso/)
ISOLATION = $(sort $(basename $(notdir $(wildcard test/isolation/specs/*.spec))))
ISOLATION_OPTS = --inputdir=test/isolation $(LOAD_DTMV)
# TAP tests: t/*.pl with PostgreSQL::Test::Cluster (clusters of their own;
# shared helpers in test/lib/DtmvTest.pm). One file: PROVE_TESTS=t/<file>.pl
TAP_TESTS = 1

# SQL in two kinds of files (docs/operations.md, "Versions and upgrades"):
#   sql/install/once/    roles, types, tables, indexes, keys: run once, by the
#                        install script; an update script changes them with
#                        its own statements (sql/install/updates/)
#   sql/install/replay/  functions, views, triggers, policies, privileges:
#                        CREATE OR REPLACE, replayed by every install and update
# Within each kind, files run in name order and none uses what a later one
# defines.
# Every script starts with sql/install/first.sql (no one but a superuser may
# write schema dtmv). sql/install/replay.sh prints the replayed files, those
# that name PostGIS's objects (@postgis@) inside a DO block that puts in
# PostGIS's schema.
FIRST = sql/install/first.sql
ONCE_PARTS = $(sort $(wildcard sql/install/once/*.sql))
REPLAY_PARTS = $(sort $(wildcard sql/install/replay/*.sql))
REPLAY = sh sql/install/replay.sh $(REPLAY_PARTS)
SCRIPT_GUARD = printf '%s\n' '-- generated from sql/install/ by make; edit those files' \
	'\echo Use "$(1)" to load this file. \quit'

dtmv--$(EXTVERSION).sql: $(FIRST) $(ONCE_PARTS) $(REPLAY_PARTS) sql/install/replay.sh Makefile
	{ $(call SCRIPT_GUARD,CREATE EXTENSION dtmv); cat $(FIRST) $(ONCE_PARTS); $(REPLAY); } > $@

# An update runs the run-once files added since the release it starts from
# (new relations, made exactly as a fresh install makes them), then its own
# changes to the relations that existed, then every replayed file.
ONCE_NEW_SINCE_0.1 = sql/install/once/11_twin_id_uuid.sql sql/install/once/95_published_frames.sql sql/install/once/96_thing_models.sql sql/install/once/97_channel_key.sql sql/install/once/98_agents.sql sql/install/once/98_federation.sql sql/install/once/98_federation_events.sql sql/install/once/98_federation_orders.sql

dtmv--%--$(EXTVERSION).sql: sql/install/updates/%--$(EXTVERSION).sql $(FIRST) $(ONCE_PARTS) $(REPLAY_PARTS) sql/install/replay.sh Makefile
	{ $(call SCRIPT_GUARD,ALTER EXTENSION dtmv UPDATE); cat $(FIRST) $(ONCE_NEW_SINCE_$*) $<; $(REPLAY); } > $@

# Without the PostgreSQL server headers only the set-up targets below work.
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(wildcard $(PGXS)),)
include $(PGXS)
PG_PROVE_FLAGS += -I test/lib
endif

.PHONY: setup demo test bench shell
setup:
	bash test/setup.sh
	$(MAKE) DTMV_WERROR=1
	$(MAKE) install

demo: setup
	bash test/with-cluster.sh bash demo/run.sh

# every suite, then every suite again on databases updated from release 0.1
test: setup
	bash test/run-tests.sh
	bash test/run-tests.sh --via 0.1

bench: setup
	bash test/bench/run.sh

shell: setup
	bash test/with-cluster.sh bash demo/shell.sh

# PGXS tracks no header dependencies: rebuild every object when a header
# changes (structs such as TableWrite are shared between files).
$(OBJS): $(wildcard src/*.h)

# The gateway program (gateway/*.c), a libpq client built beside the
# extension. Not installed: it is run from the tree by the demo and tests.
GATEWAY = gateway/dtmv-home
all: $(GATEWAY)
$(GATEWAY): $(wildcard gateway/*.c gateway/*.h)
	$(CC) $(filter-out -fPIC,$(CFLAGS)) $(PG_CFLAGS) -I$(shell $(PG_CONFIG) --includedir) -o $@ $(wildcard gateway/*.c) \
		-L$(shell $(PG_CONFIG) --libdir) -lpq
