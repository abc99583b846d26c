package cli_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/vpce-guard/vpce-guard/internal/fakeec2"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
)

func TestAudit(t *testing.T) {
	t.Parallel()
	region := map[string]string{"AWS_REGION": "eu-west-1"}
	tests := []struct {
		name      string
		vars      map[string]string
		args      []string
		compliant bool // every endpoint starts compliant
		code      int
		want      string // verdict/action per endpoint of a guarded service, in ID order
		stderr    string
		modifies  int
		regions   string // the regions NewEC2 was asked for
	}{
		{name: "report only", vars: region, args: []string{"audit"},
			code: 1, want: "noncompliant/wouldRewrite compliant/none exempt/none", regions: ""},
		{name: "DRY_RUN=false does not fix", vars: map[string]string{"AWS_REGION": "eu-west-1", "DRY_RUN": "false"}, args: []string{"audit"},
			code: 1, want: "noncompliant/wouldRewrite compliant/none exempt/none"},
		{name: "fix", vars: region, args: []string{"audit", "--fix"},
			code: 0, want: "noncompliant/rewritten compliant/none exempt/none", modifies: 1},
		{name: "all compliant", vars: region, args: []string{"audit"}, compliant: true,
			code: 0, want: "compliant/none compliant/none exempt/none"},
		{name: "a region flag", args: []string{"audit", "--region", "eu-west-1"},
			code: 1, want: "noncompliant/wouldRewrite compliant/none exempt/none", regions: "eu-west-1"},
		{name: "no region", args: []string{"audit"}, code: 2, stderr: "no region: give --region or set AWS_REGION"},
		{name: "a stray argument", vars: region, args: []string{"audit", "eu-west-1"}, code: 2, stderr: `unexpected argument "eu-west-1"`},
		{name: "a bad setting", vars: map[string]string{"AWS_REGION": "eu-west-1", "SWEEP_CONCURRENCY": "100"}, args: []string{"audit"},
			code: 2, stderr: "SWEEP_CONCURRENCY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			first := fakeec2.DefaultPolicy
			if tt.compliant {
				first = template(t)
			}
			ec2 := fakeec2.New(
				fakeec2.Endpoint("vpce-00000001", logsSvc, account, first),
				fakeec2.Endpoint("vpce-00000002", logsSvc, account, template(t)),
				fakeec2.Endpoint("vpce-00000003", logsSvc, account, fakeec2.DefaultPolicy, "vpce-guard:exempt", "true"),
				fakeec2.Endpoint("vpce-00000004", "com.amazonaws.eu-west-1.s3", account, fakeec2.DefaultPolicy))
			r := runWithEC2(t, ec2, tt.vars, "", tt.args...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
			}
			var got []string
			printed := outcomes(t, r.stdout)
			slices.SortFunc(printed, func(a, b remediate.Outcome) int { return strings.Compare(a.EndpointID, b.EndpointID) })
			for _, o := range printed {
				got = append(got, string(o.Verdict)+"/"+string(o.Action))
				if o.EventName != "audit" || o.Region != "eu-west-1" {
					t.Errorf("%s labelled %q in %q", o.EndpointID, o.EventName, o.Region)
				}
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("outcomes %v, want %s", got, tt.want)
			}
			if !strings.Contains(r.stderr, tt.stderr) || (tt.stderr == "" && r.stderr != "") {
				t.Errorf("stderr %q, want %q", r.stderr, tt.stderr)
			}
			if ec2.ModifyCalls() != tt.modifies {
				t.Errorf("%d writes, want %d", ec2.ModifyCalls(), tt.modifies)
			}
			if tt.code != 2 && strings.Join(r.regions, ",") != tt.regions {
				t.Errorf("clients for %q, want %q", r.regions, tt.regions)
			}
		})
	}
}

func TestAuditReportsAListingError(t *testing.T) {
	t.Parallel()
	ec2 := fakeec2.New(fakeec2.Endpoint("vpce-00000001", logsSvc, account, fakeec2.DefaultPolicy))
	r := runWithEC2(t, unauthorizedLister{ec2}, map[string]string{"AWS_REGION": "eu-west-1"}, "", "audit")
	if r.code != 2 || !strings.Contains(r.stderr, "list vpc endpoints: missing permission ec2:DescribeVpcEndpoints") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

var _ remediate.EC2 = unauthorizedLister{}
