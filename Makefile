# importer — make targets. `make demo` and `make test` are the two commands a
# newcomer needs; both work on a fresh machine with only Go installed (modules
# come from the Go module proxy).

GO        ?= go
BIN       := bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
FUZZTIME  ?= 10s
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all build test fmt-check vet tidy-check unit fuzz-short fuzz demo bench fake lint fmt clean soak

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/importer ./cmd/importer
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/fakeapi ./cmd/fakeapi

# test: formatting gate, vet, tidy modules, the whole suite under the race
# detector. Fuzzing is `make fuzz` (CI runs `make fuzz-short` after this);
# inputs the fuzzers found are committed under testdata/fuzz and run here
# as regression cases.
test: fmt-check vet tidy-check unit

tidy-check:
	@$(GO) mod tidy -diff >/dev/null 2>&1 || { echo "go.mod/go.sum are not tidy: run 'go mod tidy'"; $(GO) mod tidy -diff; exit 1; }

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 -timeout 8m ./...

# fuzz-short: every fuzz target for FUZZTIME (10s) each; CI runs it after make test.
fuzz-short:
	@FUZZTIME=$(FUZZTIME) GO=$(GO) scripts/fuzz.sh

# fuzz: longer fuzzing of every target (FUZZTIME=5m make fuzz).
fuzz:
	@FUZZTIME=$${FUZZTIME:-2m} GO=$(GO) scripts/fuzz.sh

demo: build
	@scripts/demo.sh

bench: build
	@scripts/bench.sh

# fake: run the fake Altcraft API in the foreground on 127.0.0.1:8080.
fake: build
	$(BIN)/fakeapi --listen 127.0.0.1:8080 --token "$${FAKEAPI_TOKEN:-demo-token}"

lint: vet
	$(GO) run $(STATICCHECK) ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

# soak: the fault, crash and signal matrices many times over (flakes and
# races that one pass misses), then a minute of every fuzz target.
soak:
	$(GO) test -race -count=20 -timeout 60m -run 'TestFaultMatrix|TestKillNine|TestSIGINT|TestSIGTERM|TestSecondSignal|TestInterruptAndResume|TestPerKeyOrder|TestBatchRunMapsResults' ./internal/importer ./cmd/importer
	@FUZZTIME=1m GO=$(GO) scripts/fuzz.sh

clean:
	rm -rf $(BIN) dist demo-out bench-out
