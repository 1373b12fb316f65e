# persona — PGXS build. `make && make install`, then `CREATE EXTENSION persona;`
EXTENSION    = persona
EXTVERSION   = $(shell grep default_version $(EXTENSION).control | sed -e "s/default_version[[:space:]]*=[[:space:]]*'\([^']*\)'/\1/")

MODULE_big   = persona
OBJS         = $(patsubst %.c,%.o,$(wildcard src/*.c))
DATA_built   = sql/$(EXTENSION)--$(EXTVERSION).sql
# earlier versions' install scripts (frozen) and the upgrade scripts between them
DATA         = $(filter-out $(DATA_built),$(wildcard sql/$(EXTENSION)--*.sql)) \
               $(wildcard $(EXTENSION)--*.control)

TESTS        = $(sort $(wildcard test/sql/*.sql))
REGRESS      = $(patsubst test/sql/%.sql,%,$(TESTS))
REGRESS_OPTS = --inputdir=test --load-extension=persona

# += so flags a packager passes are kept; -Werror only when asked (tools/test does, as CI)
PG_CFLAGS   += -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare -Wno-missing-field-initializers
ifneq ($(WERROR),)
PG_CFLAGS   += -Werror
endif

PG_CONFIG   ?= pg_config
PGXS        := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Every object depends on every header: they are few and small.
$(OBJS): $(wildcard src/*.h)

# The versioned install script is built from the single SQL source.
sql/$(EXTENSION)--$(EXTVERSION).sql: sql/$(EXTENSION).sql
	cp $< $@

# pgTAP property and error tests (needs a running server and pg_prove).
prove:
	pg_prove --ext .sql -r test/pgtap

bench:
	bench/run

# peak backend memory per customer (README, Reliability)
bench-memory:
	bench/memory

# customer_profile at 0.5M, 1M, 2M and 4M customers: time per order and peak memory (also the end of make bench)
bench-scale:
	bench/scale

# How late statement_timeout arrives in the heavy queries (server from PG*; minutes, ~2 GB of tables).
cancel-latency:
	test/cancel_latency.sh

# Fuzz driver (test/fuzz/README.md): `make fuzz` is the full run, `make fuzz-quick` the short one test/run uses.
FUZZ_CFLAGS ?= -O2 -Wall -Wextra -Wno-unused-parameter -Wno-format-truncation
FUZZ_OPTS   ?=
EXTRA_CLEAN += test/fuzz/fuzz

test/fuzz/fuzz: test/fuzz/fuzz.c
	$(CC) $(FUZZ_CFLAGS) -I$(shell $(PG_CONFIG) --includedir) -o $@ $< -L$(shell $(PG_CONFIG) --libdir) -lpq -lm

fuzz: test/fuzz/fuzz
	test/fuzz/fuzz --inputs 100000 --calls 300 --agg-calls 110 $(FUZZ_OPTS)

# The short run flags a cancel only a second late (CI machines are shared and
# noisy); the full run keeps the 100 ms limit.
fuzz-quick: test/fuzz/fuzz
	test/fuzz/fuzz --inputs 1000 --calls 10 --agg-calls 11 --timeout 500 --late-ms 1000 --hang-ms 2000 --time 50 $(FUZZ_OPTS)

# Memory checking (test/memcheck, results in results/memcheck): the suite with
# the server under Valgrind memcheck, and with an ASan + UBSan build of persona.
valgrind:
	PG_CONFIG=$(PG_CONFIG) test/memcheck/valgrind.sh

asan:
	PG_CONFIG=$(PG_CONFIG) test/memcheck/asan.sh

.PHONY: prove bench bench-memory bench-scale cancel-latency fuzz fuzz-quick valgrind asan
