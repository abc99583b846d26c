# One command to test, one to build, one to measure.
GO ?= go
BIN := vpce-guard

VENV := .venv
PYTHON ?= python3

.PHONY: test build bench fmt-check vet unit venv clean

## test: everything CI runs: formatting, vet, unit, cross-package and emulator tests
test: fmt-check vet venv unit

## venv: the Python virtualenv with the EC2/EventBridge emulator (moto), pinned
venv: $(VENV)/.installed

$(VENV)/.installed: tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# Under make, tests that need the emulators fail instead of skipping when
# they are missing.
unit:
	VPCE_GUARD_REQUIRE_EMULATORS=1 MOTO_SERVER=$(CURDIR)/$(VENV)/bin/moto_server $(GO) test -count=1 ./...

## build: the command-line binary for this machine
build:
	$(GO) build -trimpath -o $(BIN) ./lambda

## bench: the policy engine's benchmarks on one core
bench:
	$(GO) test -run '^$$' -bench . -benchmem -cpu 1 ./lambda/policy/

clean:
	rm -rf $(BIN) $(VENV)
