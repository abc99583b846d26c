# One command to test, one to build, one to measure.
GO ?= go
BIN := vpce-guard

VENV := .venv
PYTHON ?= python3

# The CDK toolchain (infra/): the CDK CLI and Node.js 22 pinned in
# infra/package.json, installed in .tools/npm, where go test ./... never looks.
# jsii (the Go CDK's bridge to the JavaScript library) and the CLI run on that
# Node, found through PATH and JSII_NODE, in every recipe below.
NPM_TOOLS := .tools/npm
NODE_BIN := $(CURDIR)/$(NPM_TOOLS)/node_modules/.bin
export PATH := $(NODE_BIN):$(PATH)
export JSII_NODE := $(NODE_BIN)/node
CDK := $(NODE_BIN)/cdk
# cfn-lint, pinned in infra/requirements.txt, in a virtualenv of its own.
INFRA_VENV := .tools/venv-infra
# Context for synth and deploy, e.g. CDK_ARGS="-c regions=eu-west-1,eu-central-1 -c alarmEmail=ops@example.com"
CDK_ARGS ?=
# What infra-test synthesizes besides the defaults: every optional resource, two regions.
INFRA_TEST_ALL := -c regions=eu-west-1,us-gov-west-1 -c createTrail=true -c alarmEmail=ops@example.com -c dryRun=true -c services=logs

.PHONY: test demo build bench fmt-check vet unit venv clean infra-tools infra-lint-venv infra-test synth deploy clean-infra

## test: everything CI runs: formatting, vet, unit, cross-package and emulator tests, the CDK stack
test: fmt-check vet venv infra-tools unit infra-test

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

## demo: the whole story on this machine, no AWS account: moto, the emulated Lambda, before and after
demo: venv
	MOTO_SERVER=$(CURDIR)/$(VENV)/bin/moto_server $(GO) run ./tests/cmd/demo

# Every vpce-guard binary, the Lambda's bootstrap and the command line, is
# built the same way. lambda.norpc leaves out the RPC mode of the retired go1.x
# Lambda runtime: its net/rpc looks methods up by reflection, which makes the
# linker keep every exported method of the EC2 client (machine code of 26 MB
# instead of 5, and 18 MiB resident at start instead of 12).
GO_BUILD_FLAGS := -tags lambda.norpc -trimpath -ldflags='-s -w'

## build: the command-line binary for this machine (the Lambda's binary, built for here)
build:
	CGO_ENABLED=0 $(GO) build $(GO_BUILD_FLAGS) -o $(BIN) ./lambda

## bench: the benchmarks on one core (policy engine, hostile policies included, log-file decoding, one event through the handler), the heap of a sweep of hostile policies, then cold start, peak memory and the arm64 bootstrap's size
bench:
	$(GO) test -run '^$$' -bench . -benchmem -cpu 1 ./lambda/policy/ ./lambda/cloudtrail/ ./lambda/handler/
	$(GO) test -count=1 -run '^TestHostileSweep$$' -v ./tests/ | grep -v '^=== '
	$(GO) run ./tests/cmd/coldstart

clean:
	rm -rf $(BIN) $(VENV)

## infra-tools: the CDK CLI and Node.js 22 (infra/package.json), for the infra tests, synth and deploy
infra-tools: $(NPM_TOOLS)/.installed

$(NPM_TOOLS)/.installed: infra/package.json infra/package-lock.json
	mkdir -p $(NPM_TOOLS)
	cp infra/package.json infra/package-lock.json $(NPM_TOOLS)/
	cd $(NPM_TOOLS) && npm ci --no-audit --no-fund
	touch $@

# The infra tests run the CDK through jsii on Node.js 22.
unit: infra-tools

## oracle: iam-simulate, the IAM evaluator the policy engine's differential test answers to (tests/oracle/package.json), run on the Node.js 22 above
ORACLE_TOOLS := .tools/oracle
.PHONY: oracle
oracle: $(ORACLE_TOOLS)/.installed

$(ORACLE_TOOLS)/.installed: tests/oracle/package.json tests/oracle/package-lock.json
	mkdir -p $(ORACLE_TOOLS)
	cp tests/oracle/package.json tests/oracle/package-lock.json $(ORACLE_TOOLS)/
	cd $(ORACLE_TOOLS) && npm ci --no-audit --no-fund
	touch $@

unit: oracle

## infra-lint-venv: cfn-lint, pinned in infra/requirements.txt
infra-lint-venv: $(INFRA_VENV)/.installed

$(INFRA_VENV)/.installed: infra/requirements.txt
	$(PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements.txt
	touch $@

## infra-test: cdk synth offline (defaults, and every option) and cfn-lint on the templates
# Offline: no credential lookup on the instance metadata service, no version check.
infra-test: infra-tools infra-lint-venv
	rm -rf cdk.out .tools/cdk.out.all
	AWS_EC2_METADATA_DISABLED=true CDK_DISABLE_VERSION_CHECK=true $(CDK) synth --quiet --output cdk.out
	AWS_EC2_METADATA_DISABLED=true CDK_DISABLE_VERSION_CHECK=true $(CDK) synth --quiet --output .tools/cdk.out.all $(INFRA_TEST_ALL)
	$(INFRA_VENV)/bin/cfn-lint --config-file infra/cfnlintrc.yaml -- cdk.out/*.template.json .tools/cdk.out.all/*.template.json

## synth: the CloudFormation templates into cdk.out, with the context in CDK_ARGS
synth: infra-tools
	$(CDK) synth --quiet $(CDK_ARGS)

## deploy: every stack into the account of the current AWS credentials (needs `cdk bootstrap` once per account and region)
deploy: infra-tools
	$(CDK) deploy --all $(CDK_ARGS)

## clean-infra: the CDK toolchain, cfn-lint and the synthesized templates
clean-infra:
	rm -rf $(NPM_TOOLS) $(INFRA_VENV) .tools/cdk.out.all cdk.out

clean: clean-infra

## compare: the head-to-head with Cloud Custodian (tests/compare) against one moto server, N=100 and 1,000 endpoints (COMPARE_ARGS="-n 100,1000 -10000" adds 10,000)
COMPARE_VENV := .tools/venv-compare
COMPARE_ARGS ?= -n 100,1000

.PHONY: compare compare-venv
compare: venv compare-venv
	MOTO_SERVER=$(CURDIR)/$(VENV)/bin/moto_server $(GO) run ./tests/compare -custodian $(COMPARE_VENV)/bin/custodian $(COMPARE_ARGS)

## compare-venv: Cloud Custodian (c7n), pinned in tests/compare/requirements.txt, in a virtualenv of its own
compare-venv: $(COMPARE_VENV)/.installed

$(COMPARE_VENV)/.installed: tests/compare/requirements.txt
	$(PYTHON) -m venv $(COMPARE_VENV)
	$(COMPARE_VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/compare/requirements.txt
	touch $@
