package tests

import (
	"fmt"
	"testing"

	"github.com/vpce-guard/vpce-guard/lambda/policy"
	"github.com/vpce-guard/vpce-guard/policytemplates"
)

func render(t *testing.T, name string, p policytemplates.Params) *policy.Document {
	t.Helper()
	data, err := policytemplates.Render(name, p)
	if err != nil {
		t.Fatalf("Render(%s, %+v): %v", name, p, err)
	}
	doc, err := policy.Parse(data)
	if err != nil {
		t.Fatalf("template %s does not parse: %v\n%s", name, err, data)
	}
	return doc
}

// Every template, in every partition, with and without log-group patterns:
// it parses, passes its own check in both modes, and a rendering for another
// account or region does not pass.
func TestTemplatesCheckAgainstThemselves(t *testing.T) {
	t.Parallel()
	regions := map[string]string{"aws": "eu-west-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}
	otherRegion := map[string]string{"aws": "us-east-1", "aws-cn": "cn-northwest-1", "aws-us-gov": "us-gov-east-1"}
	for _, name := range policytemplates.Names() {
		for partition, region := range regions {
			for _, groups := range [][]string{nil, {"/aws/lambda/*", "logs-test-allowed"}} {
				t.Run(fmt.Sprintf("%s/%s/%d-patterns", name, partition, len(groups)), func(t *testing.T) {
					t.Parallel()
					own := policytemplates.Params{Region: region, AccountID: "111122223333", LogGroupPatterns: groups}
					template := render(t, name, own)
					for _, mode := range []policy.Mode{policy.Subset, policy.Exact} {
						if v := policy.Check(template, template, mode); !v.Compliant {
							t.Errorf("%s mode: not compliant with itself: %q", mode, v.Reasons)
						}
					}
					foreign := own
					foreign.AccountID = "444455556666"
					elsewhere := own
					elsewhere.Region = otherRegion[partition]
					for what, p := range map[string]policytemplates.Params{"another account": foreign, "another region": elsewhere} {
						v := policy.Check(render(t, name, p), template, policy.Subset)
						if v.Compliant {
							t.Errorf("a rendering for %s passes the check", what)
						} else if len(v.Reasons) == 0 {
							t.Errorf("a rendering for %s fails without a reason", what)
						}
					}
				})
			}
		}
	}
}

// The strict Logs template must be at least as strict as the plain one, and
// the plain one must fail the strict check (it allows what strict denies).
func TestLogsStrictIsStricter(t *testing.T) {
	t.Parallel()
	p := policytemplates.Params{Region: "eu-west-1", AccountID: "111122223333"}
	logs, strict := render(t, policytemplates.Logs, p), render(t, policytemplates.LogsStrict, p)
	if v := policy.Check(strict, logs, policy.Subset); !v.Compliant {
		t.Errorf("logs-strict is not within logs: %q", v.Reasons)
	}
	if v := policy.Check(logs, strict, policy.Subset); v.Compliant {
		t.Error("logs passes the logs-strict check")
	}
}

// The classic experiment from the README: only logs-test-allowed may be written.
func TestClassicExperiment(t *testing.T) {
	t.Parallel()
	doc := render(t, policytemplates.Logs, policytemplates.Params{Region: "eu-west-1", AccountID: "111122223333", LogGroupPatterns: []string{"logs-test-allowed"}})
	for resource, allowed := range map[string]bool{
		"arn:aws:logs:eu-west-1:111122223333:log-group:logs-test-allowed:log-stream:s1": true,
		"arn:aws:logs:eu-west-1:111122223333:log-group:logs-test-denied:log-stream:s1":  false,
		"arn:aws:logs:eu-west-1:444455556666:log-group:logs-test-allowed:log-stream:s1": false,
	} {
		d, err := doc.Evaluate(policy.Request{Principal: "111122223333", Action: "logs:PutLogEvents", Resource: resource})
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed != allowed {
			t.Errorf("%s: %v, want allowed=%v", resource, d, allowed)
		}
	}
}
