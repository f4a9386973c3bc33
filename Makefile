# Causeway: one non-recursive Makefile. Objects go to build/, programs to bin/.
# Sources are found by wildcard, so adding a file needs no edit here:
#   <dir>/*.cc          -> libcauseway.a (except *_main.cc, which are programs)
#   t/unit/**/*_test.cc -> bin/unit-tests (CppUnit)

CXX      ?= g++
CXXFLAGS ?= -O2 -g
PKGS     := libevent inih
override CXXFLAGS += -std=c++20 -Wall -Wextra -Werror -I. -MMD -MP \
                     $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lrt -lpthread
VERSION  := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
override CXXFLAGS += -DCAUSEWAY_VERSION='"$(VERSION)"'

LIB_DIRS := common protocol shm worker daemon
LIB_SRC  := $(filter-out %_main.cc,$(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.cc)))
LIB_OBJ  := $(LIB_SRC:%.cc=build/%.o)
TEST_SRC := $(wildcard t/unit/*.cc t/unit/*/*.cc)
TEST_OBJ := $(TEST_SRC:%.cc=build/%.o)
BENCH_SRC := $(wildcard t/bench/*_bench.cc)
PROGRAMS := bin/causewayd $(if $(wildcard daemon/causewayctl_main.cc),bin/causewayctl)
BENCH_PROGRAMS := $(BENCH_SRC:t/bench/%.cc=bin/%)

.PHONY: all check unit integration bench demo deps clean format format-check install
all: $(PROGRAMS)

build/%.o: %.cc
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

# Installs every build, test and demo dependency (Debian 12); quiet when all is present.
deps:
	@t/lib/install-deps

unit: bin/unit-tests
	bin/unit-tests

integration: all
	prove -v t/*.t

check: deps
	$(MAKE) all bin/unit-tests
	bin/unit-tests
	mandoc -Tlint -Wwarning man/*.5 man/*.8
	prove t/*.t

bench: deps all $(BENCH_PROGRAMS)
	t/bench/run

demo: deps all
	t/lib/demo

format:
	clang-format -i $(LIB_SRC) $(wildcard */*.hh) $(TEST_SRC)

format-check:
	clang-format --dry-run --Werror $(LIB_SRC) $(wildcard */*.hh) $(TEST_SRC)

PREFIX ?= /usr/local
install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 755 bin/causewayd $(DESTDIR)$(PREFIX)/sbin/
	install -m 755 bin/causewayctl $(DESTDIR)$(PREFIX)/bin/
	install -m 644 man/*.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 644 man/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/

clean:
	rm -rf build bin

-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) build/daemon/causewayd_main.d build/daemon/causewayctl_main.d
