# dtmv: PostgreSQL extension (PGXS). `make demo`, `make test`, `make bench`
# and `make shell` first run test/setup.sh, which installs what is missing.

.DEFAULT_GOAL := all

EXTENSION = dtmv
EXTVERSION = 0.1
MODULE_big = dtmv
OBJS = src/dtmv.o src/twin_id.o src/actor.o src/rights.o src/sync_lock.o src/sync_queue.o src/worker.o src/events.o src/notifier.o src/table_write.o src/geometry.o src/spatial.o src/wake_channels.o src/event_order.o src/catalog.o src/table_read.o
DATA_built = dtmv--$(EXTVERSION).sql
EXTRA_CLEAN = results regression.diffs regression.out output_iso tmp_check gateway/dtmv-home

PG_CONFIG ?= pg_config
PG_CPPFLAGS = -I$(srcdir)/src
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
ifdef DTMV_WERROR
PG_CFLAGS += -Werror
endif

# pg_regress suites: sql/<name>.sql against expected/<name>.out
REGRESS = identity registry rights sync events spatial commerce catalog
REGRESS_OPTS = --load-extension=postgis --load-extension=pg_trgm --load-extension=btree_gist --load-extension=dtmv

# The install script is the concatenation of one file per concern.
INSTALL_PARTS = $(sort $(wildcard sql/install/*.sql))

dtmv--$(EXTVERSION).sql: $(INSTALL_PARTS) Makefile
	{ printf '%s\n' '-- generated from sql/install/*.sql by make; edit those files' \
	    '\echo Use "CREATE EXTENSION dtmv" to load this file. \quit'; \
	  cat $(INSTALL_PARTS); } > $@

# Without the PostgreSQL server headers only the set-up targets below work.
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(wildcard $(PGXS)),)
include $(PGXS)
endif

.PHONY: setup demo test bench shell
setup:
	bash test/setup.sh
	$(MAKE) DTMV_WERROR=1
	$(MAKE) install

demo: setup
	bash test/with-cluster.sh bash demo/run.sh

test: setup
	bash test/run-tests.sh

bench: setup
	bash test/bench/run.sh

shell: setup
	bash test/with-cluster.sh bash demo/shell.sh

# PGXS tracks no header dependencies: rebuild every object when a header
# changes (structs such as TableWrite are shared between files).
$(OBJS): $(wildcard src/*.h)

# The gateway program (gateway/dtmv_home.c), a libpq client built beside the
# extension. Not installed: it is run from the tree by the demo and tests.
GATEWAY = gateway/dtmv-home
all: $(GATEWAY)
$(GATEWAY): gateway/dtmv_home.c
	$(CC) $(filter-out -fPIC,$(CFLAGS)) $(PG_CFLAGS) -I$(shell $(PG_CONFIG) --includedir) -o $@ $< \
		-L$(shell $(PG_CONFIG) --libdir) -lpq
