# One command to test, one to build, one to measure.
GO ?= go
BIN := vpce-guard

.PHONY: test build bench fmt-check vet unit clean

## test: everything CI runs (formatting, vet, unit and cross-package tests)
test: fmt-check vet unit

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

unit:
	$(GO) test -count=1 ./...

## build: the command-line binary for this machine
build:
	$(GO) build -trimpath -o $(BIN) ./lambda

## bench: the policy engine's benchmarks on one core
bench:
	$(GO) test -run '^$$' -bench . -benchmem -cpu 1 ./lambda/policy/

clean:
	rm -f $(BIN)
