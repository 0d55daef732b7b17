# extcron — `make run` starts the app, `make test` runs every test.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
BIN := bin/extcron
BUNDLES := build/bundles

.PHONY: run test build setup setup-test generate check-generated lint vendor samples test-go test-e2e bench clean

run: setup build samples
	@$(BIN) serve

test: setup-test build samples lint check-generated test-go test-e2e

setup:
	@scripts/setup.sh run

setup-test:
	@scripts/setup.sh test

build:
	$(GO) build -o $(BIN) ./cmd/extcron

# Sample extension bundles (wasip1 modules + manifests); not committed.
samples:
	@extensions/samples/build.sh $(BUNDLES)

generate:
	$(GO) tool templ generate

# Generated templ code is committed; it must match its source.
check-generated:
	@$(GO) tool templ generate >/dev/null 2>&1
	@git diff --quiet -- '*_templ.go' || { echo "templ output differs from its source: run make generate and commit"; git --no-pager diff --stat -- '*_templ.go'; exit 1; }

lint:
	@out="$$(gofmt -l $$(git ls-files '*.go'))"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# htmx comes from its npm package and is committed under static/vendor.
vendor:
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js

test-go:
	EXTCRON_BUNDLES=$(abspath $(BUNDLES)) $(GO) test -race -count=1 ./...

test-e2e:
	EXTCRON_BIN=$(abspath $(BIN)) EXTCRON_BUNDLES=$(abspath $(BUNDLES)) npx playwright test

# Benchmarks: the embedded runner's cold and warm call, then the scheduler
# engine against tuned River and PostgreSQL's single-row update rate (a
# nested module, so River stays out of extcron's own dependencies).
bench: build samples
	EXTCRON_BUNDLES=$(abspath $(BUNDLES)) $(GO) test -run '^$$' -bench Embedded -benchtime 5x ./runner/
	cd scheduler/benchmark && $(GO) run .

clean:
	rm -rf bin build test-results playwright-report
