# pgwarp — see README.md. Every target runs from a fresh clone.
GO        ?= go
BIN       := bin/pgwarp
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
NODE_DIR  := tools/node
FUZZTIME  ?= 10s

.PHONY: all build run test test-short e2e bench fuzz lint deps jaeger clean

all: lint build test

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/pgwarp

## run: pgwarp in front of a local throwaway PostgreSQL with the bundled schema.
run: build
	./$(BIN) dev

## deps: test tools that are not Go modules (node-postgres, dbmate).
deps: $(NODE_DIR)/node_modules/.installed

$(NODE_DIR)/node_modules/.installed: $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	@# npm ci refuses a lock whose other-platform optional packages (dbmate's
	@# darwin/win32 binaries) the registry mirror cannot describe; npm install
	@# with --no-save then installs the same pinned versions from the lock.
	cd $(NODE_DIR) && (npm ci --no-audit --no-fund >/dev/null 2>&1 || { \
		echo "npm ci refused the lock; installing its versions with npm install --no-save"; \
		npm install --no-audit --no-fund --no-save; })
	touch $@

## test: everything that must pass before a change lands (CI runs this).
test: deps lint
	$(GO) test -race -timeout 20m ./...

## e2e: slow end-to-end suites: a real Jaeger (built once, cached outside
## the repository) and the 500-client stress run.
e2e: deps
	./scripts/jaeger.sh build
	PGWARP_E2E=1 PGWARP_STRESS_CLIENTS=500 $(GO) test -race -timeout 60m -run 'E2E|Stress' ./...

## bench: Go micro-benchmarks, then scripts/bench.sh: pgwarp beside
## PostgreSQL, PgBouncer and pgpool-II (../shared/bench/peers.sh) and against
## itself (pgwarp-bench); about 35 minutes; see docs/benchmarks.md.
bench: build
	$(GO) build -o bin/pgwarp-bench ./cmd/pgwarp-bench
	$(GO) test -run '^$$' -bench . -benchmem ./...
	./scripts/bench.sh

fuzz:
	@for spec in $$($(GO) test -list '^Fuzz' ./... 2>/dev/null | awk '/^Fuzz/ {f[n++]=$$1} /^ok/ {for (i = 0; i < n; i++) print $$2":"f[i]; n = 0}'); do \
		pkg=$${spec%%:*}; fn=$${spec##*:}; \
		echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10x $$pkg || exit 1; \
	done

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin

## jaeger: build (once, cached outside the repo) and start Jaeger on loopback.
jaeger:
	./scripts/jaeger.sh start
