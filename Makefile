# Causeway: one non-recursive Makefile. Objects go to build/, programs to bin/.
# Sources are found by wildcard, so adding a file needs no edit here:
#   <dir>/*.cc          -> libcauseway.a (except *_main.cc, which are programs)
#   t/unit/**/*_test.cc -> bin/unit-tests (CppUnit)

CXX      ?= g++
CXXFLAGS ?= -O2 -g
PKGS     := libevent libevent_openssl inih openssl zlib
override CXXFLAGS += -std=c++20 -Wall -Wextra -Werror -I. -MMD -MP \
                     $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcrypt -lrt -lpthread
VERSION  := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
override CXXFLAGS += -DCAUSEWAY_VERSION='"$(VERSION)"'

# make SAN=address,undefined: every program and the unit tests built with
# those sanitizers (any error aborts). Objects remember what they were built
# with (a stamp per SAN value), so switching SAN rebuilds them.
# make SAN=address,undefined check: the whole of check under ASan, LeakSanitizer
# and UBSan (not part of check: it is slow, see issue 9 item 8). Each test points
# the sanitizers' log_path at its scratch dir (t/lib/Causeway/Test.pm), so that
# a report from any causewayd process, a worker that aborted and was respawned
# included, fails the test that caused it; the report is kept in
# t/tmp/TEST-PID/sanitizer.PID. The prove part took 15 minutes on 2 shared
# cores (49 files, 2,496 tests), the sanitized build about as long again.
SAN ?=
comma := ,
ifneq ($(strip $(SAN)),)
# GCC 12's -Wmaybe-uninitialized misfires inside libstdc++ (std::regex)
# under the sanitizers' instrumentation: a warning there, not an error.
override CXXFLAGS += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all \
                     -Wno-error=maybe-uninitialized
endif
SAN_STAMP := build/san-$(if $(strip $(SAN)),$(subst $(comma),-,$(strip $(SAN))),none).stamp
$(SAN_STAMP):
	@mkdir -p build && rm -f build/san-*.stamp && touch $@

LIB_DIRS := common protocol shm worker daemon
LIB_SRC  := $(filter-out %_main.cc,$(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.cc)))
LIB_OBJ  := $(LIB_SRC:%.cc=build/%.o)
TEST_SRC := $(wildcard t/unit/*.cc t/unit/*/*.cc)
TEST_OBJ := $(TEST_SRC:%.cc=build/%.o)
BENCH_SRC := $(wildcard t/bench/*_bench.cc)
PROGRAMS := bin/causewayd $(if $(wildcard daemon/causewayctl_main.cc),bin/causewayctl)
BENCH_PROGRAMS := $(BENCH_SRC:t/bench/%.cc=bin/%)

.PHONY: all check unit integration bench demo deps clean format format-check install fuzz fuzz-replay compat
all: $(PROGRAMS)

build/%.o: %.cc $(SAN_STAMP)
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) -c $< -o $@

build/libcauseway.a: $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

bin/causewayd: build/daemon/causewayd_main.o build/libcauseway.a
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)

bin/causewayctl: build/daemon/causewayctl_main.o build/libcauseway.a
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)

# t/bench/NAME_bench.cc -> bin/NAME_bench (micro-benchmarks run by t/bench/run)
bin/%_bench: build/t/bench/%_bench.o build/libcauseway.a
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)

bin/unit-tests: $(TEST_OBJ) build/libcauseway.a
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS) -lcppunit

# Fuzz targets (libFuzzer, clang 14): t/fuzz/NAME_fuzz.cc -> bin/NAME_fuzz over
# common/ and protocol/ (no I/O there); corpora in t/fuzz/corpus/NAME/.
FUZZ_SRC   := $(wildcard t/fuzz/*_fuzz.cc)
FUZZERS    := $(FUZZ_SRC:t/fuzz/%.cc=bin/%)
FUZZ_LIB   := $(patsubst %.cc,build/fuzz/%.o,$(wildcard common/*.cc protocol/*.cc))
FUZZ_FLAGS := -std=c++20 -I. -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
              -DCAUSEWAY_VERSION='"$(VERSION)"' -MMD -MP

build/fuzz/%.o: %.cc
	@mkdir -p $(@D)
	clang++-14 $(FUZZ_FLAGS) -c $< -o $@

bin/%_fuzz: build/fuzz/t/fuzz/%_fuzz.o $(FUZZ_LIB)
	@mkdir -p $(@D)
	clang++-14 -fsanitize=fuzzer,address,undefined $^ -o $@ -linih -lz

# COM_STMT_EXECUTE and COM_STMT_BULK_EXECUTE surgery and the session id of a
# login live in the worker; their file has no I/O either.
FUZZ_WORKER := bin/stmt_execute_fuzz bin/stmt_bulk_fuzz bin/login_fuzz
$(FUZZ_WORKER): bin/%_fuzz: build/fuzz/t/fuzz/%_fuzz.o build/fuzz/worker/session_state.o $(FUZZ_LIB)
	@mkdir -p $(@D)
	clang++-14 -fsanitize=fuzzer,address,undefined $^ -o $@ -linih -lz

# Replays every corpus once (no new inputs): a regression test for make check.
fuzz-replay: $(FUZZERS)
	@for f in $(FUZZERS); do n=$${f#bin/}; n=$${n%_fuzz}; \
	  $$f -runs=0 t/fuzz/corpus/$$n > build/fuzz/$$n.log 2>&1 || { cat build/fuzz/$$n.log; exit 1; }; \
	  echo "$$n: $$(tail -1 build/fuzz/$$n.log)"; done
.SECONDARY: $(FUZZ_LIB) $(FUZZ_SRC:%.cc=build/fuzz/%.o) build/fuzz/worker/session_state.o

# Runs every target FUZZ_SECONDS (default 60) from its corpus; inputs that
# reach new code are kept in build/fuzz/new-NAME/ (to keep them, merge the
# few that matter: bin/NAME_fuzz -merge=1 t/fuzz/corpus/NAME build/fuzz/new-NAME;
# fuzz-replay replays the corpus). A finding stops with the crashing input
# in build/fuzz/NAME-crash-*.
FUZZ_SECONDS ?= 60
fuzz: $(FUZZERS)
	@for f in $(FUZZERS); do n=$${f#bin/}; n=$${n%_fuzz}; mkdir -p build/fuzz/new-$$n; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -artifact_prefix=build/fuzz/$$n- \
	    build/fuzz/new-$$n t/fuzz/corpus/$$n > build/fuzz/$$n-run.log 2>&1 || { tail -40 build/fuzz/$$n-run.log; exit 1; }; \
	  echo "$$n: $$(grep -m1 stat::number_of_executed_units build/fuzz/$$n-run.log)"; done

# Installs every build, test and demo dependency (Debian 12); quiet when all is present.
deps:
	@t/lib/install-deps

unit: bin/unit-tests
	bin/unit-tests

integration: all
	prove -v t/*.t

check: deps
	$(MAKE) -j$$(nproc) all bin/unit-tests
	bin/unit-tests
	mandoc -Tlint -Wwarning man/*.5 man/*.8
	$(MAKE) -j$$(nproc) fuzz-replay
	prove --timer t/*.t

# The transparency matrix (issue 7): every driver of t/compat/ and the mysql-test-run list of
# t/compat/mtr/, directly and through Causeway in bridge and smartscale mode (~15-20 min; not
# part of check, which runs its fast part as t/24-compat-drivers.t).
compat: deps all
	t/compat/run

bench: deps all $(BENCH_PROGRAMS)
	t/bench/run

demo: deps all
	t/lib/demo

FORMAT_SRC := $(filter-out t/unit/protocol/captured.hh,$(wildcard $(foreach d,$(LIB_DIRS) t/unit t/unit/* t/bench t/fuzz,$(d)/*.cc $(d)/*.hh)))  # captured.hh is generated
format:
	clang-format-14 -i $(FORMAT_SRC)

format-check:
	clang-format-14 --dry-run --Werror $(FORMAT_SRC)

PREFIX ?= /usr/local
install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 755 bin/causewayd $(DESTDIR)$(PREFIX)/sbin/
	install -m 755 bin/causewayctl $(DESTDIR)$(PREFIX)/bin/
	install -m 644 man/*.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 644 man/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/

clean:
	rm -rf build bin

-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(FUZZ_LIB:.o=.d) build/daemon/causewayd_main.d build/daemon/causewayctl_main.d
