package cli_test

import (
	"strings"
	"testing"

	"github.com/vpce-guard/vpce-guard/internal/fakeec2"
)

func TestReplay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		vars     map[string]string
		stdin    string
		args     []string
		failWith string // an error code for writes to vpce-00000001
		code     int
		want     string // the outcomes, as eventID:verdict/action
		stderr   string // a part of standard error
		modifies int
	}{
		{name: "an EventBridge event", args: []string{"replay", "events/01-create.json"},
			code: 0, want: "ct-1:noncompliant/rewritten", modifies: 1},
		{name: "dry run", args: []string{"replay", "--dry-run", "events/01-create.json"},
			code: 1, want: "ct-1:noncompliant/wouldRewrite"},
		{name: "flag after the file", args: []string{"replay", "events/01-create.json", "--dry-run"},
			code: 1, want: "ct-1:noncompliant/wouldRewrite"},
		{name: "a gzip log file", args: []string{"replay", "events/02-trail.json.gz"},
			code: 0, want: "ct-2:noncompliant/rewritten ct-3:skipped/none ct-4:compliant/none", modifies: 1},
		{name: "a folder, in name order, .json and .json.gz only", args: []string{"replay", "--dry-run", "events"},
			code: 1, want: "ct-1:noncompliant/wouldRewrite ct-2:noncompliant/wouldRewrite ct-3:skipped/none ct-4:compliant/none ct-5:skipped/none"},
		{name: "standard input", stdin: record("ct-1", "CreateVpcEndpoint", "vpce-00000001"), args: []string{"replay", "-"},
			code: 0, want: "ct-1:noncompliant/rewritten", modifies: 1},
		{name: "DRY_RUN does not apply to replay", vars: map[string]string{"DRY_RUN": "true"}, args: []string{"replay", "events/01-create.json"},
			code: 0, want: "ct-1:noncompliant/rewritten", modifies: 1},
		{name: "the Lambda's settings apply", vars: map[string]string{"SERVICES": "events"}, args: []string{"replay", "events/01-create.json"},
			code: 0, want: "ct-1:skipped/none"},
		{name: "a malformed record", args: []string{"replay", "broken.json"},
			code: 2, want: "ct-6:noncompliant/rewritten", stderr: `broken.json: Records[1] (eventID "7")`, modifies: 1},
		{name: "a failed write", args: []string{"replay", "events/01-create.json"}, failWith: "UnauthorizedOperation",
			code: 2, want: "ct-1:noncompliant/none", stderr: "modify vpc endpoint vpce-00000001: missing permission ec2:ModifyVpcEndpoint", modifies: 1},
		{name: "a missing file", args: []string{"replay", "nope.json"}, code: 2, stderr: "nope.json"},
		{name: "no file", args: []string{"replay"}, code: 2, stderr: "give at least one FILE"},
		{name: "a bad setting", vars: map[string]string{"CHECK_MODE": "loose"}, args: []string{"replay", "events/01-create.json"},
			code: 2, stderr: `configuration: CHECK_MODE="loose"`},
		{name: "an unknown flag", args: []string{"replay", "--fix", "events"}, code: 2, stderr: "flag provided but not defined: -fix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ec2 := fakeec2.New(
				fakeec2.Endpoint("vpce-00000001", logsSvc, account, fakeec2.DefaultPolicy),
				fakeec2.Endpoint("vpce-00000002", logsSvc, account, ""),
				fakeec2.Endpoint("vpce-00000003", logsSvc, account, template(t)))
			if tt.failWith != "" {
				ec2.FailModify("vpce-00000001", fakeec2.APIError(tt.failWith, "You are not authorized to perform this operation."))
			}
			r := runWithEC2(t, ec2, tt.vars, tt.stdin, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
			}
			if got := summary(outcomes(t, r.stdout)); got != tt.want {
				t.Errorf("outcomes\n %s\nwant\n %s", got, tt.want)
			}
			if !strings.Contains(r.stderr, tt.stderr) || (tt.stderr == "" && r.stderr != "") {
				t.Errorf("stderr %q, want %q", r.stderr, tt.stderr)
			}
			if got := ec2.ModifyCalls(); got != tt.modifies {
				t.Errorf("%d writes, want %d", got, tt.modifies)
			}
		})
	}
}

// Events that need no AWS call replay without any AWS configuration, and the
// client is made for the region the events come from.
func TestReplayMakesClientsOnlyWhenNeeded(t *testing.T) {
	t.Parallel()
	r := runWithEC2(t, fakeec2.New(), nil, "", "replay", "other-call.json")
	if r.code != 0 || len(r.regions) != 0 {
		t.Errorf("exit %d, clients for %q; want 0 and none", r.code, r.regions)
	}
	r = runWithEC2(t, fakeec2.New(), nil, "", "replay", "events")
	if len(r.regions) != 1 || r.regions[0] != "eu-west-1" {
		t.Errorf("clients for %q, want one for eu-west-1", r.regions)
	}
}
