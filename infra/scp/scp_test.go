// Package scp_test holds the example service control policy that protects
// vpce-guard (protect-vpce-guard.json) to what it promises.
package scp_test

import (
	"os"
	"testing"
	"unicode/utf8"

	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/lambda/policy"
)

// maxSCPLength is the most characters an SCP may have.
const maxSCPLength = 5120

func TestExampleSCP(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("protect-vpce-guard.json")
	if err != nil {
		t.Fatal(err)
	}
	if n := utf8.RuneCount(data); n > maxSCPLength {
		t.Errorf("%d characters, over the %d an SCP may have", n, maxSCPLength)
	}
	doc, err := policy.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range doc.Statements() {
		if st.Effect != policy.Deny {
			t.Errorf("statement %q allows: an SCP here only denies", st.Sid)
		}
	}
	const (
		account   = "111122223333"
		developer = "arn:aws:iam::111122223333:role/Developer"
		security  = "arn:aws:iam::111122223333:role/SecurityEngineering"
		deployer  = "arn:aws:iam::111122223333:role/cdk-hnb659fds-cfn-exec-role-111122223333-eu-west-1"
		guard     = "arn:aws:iam::111122223333:role/VpceGuard-FunctionRole111A5701-ABCDEF"
		endpoint  = "arn:aws:ec2:eu-west-1:111122223333:vpc-endpoint/vpce-0123456789abcdef0"
	)
	for _, tc := range []struct {
		name           string
		caller, action string
		resource       string
		tags           []string
		denied         bool
	}{
		{"a developer disables the rule", developer, "events:DisableRule", "arn:aws:events:eu-west-1:111122223333:rule/VpceGuard-EndpointChanges10E38A04-X", nil, true},
		{"the hub's rule", developer, "events:RemoveTargets", "arn:aws:events:eu-west-1:111122223333:rule/vpce-guard-hub/VpceGuardHub-eu-west-1-EndpointChanges-X", nil, true},
		{"a member's rule", developer, "events:DeleteRule", "arn:aws:events:eu-west-1:111122223333:rule/VpceGuardMemberEndpointChanges", nil, true},
		{"the deployment updates the rule", deployer, "events:PutRule", "arn:aws:events:eu-west-1:111122223333:rule/VpceGuard-EndpointChanges10E38A04-X", nil, false},
		{"another team's rule", developer, "events:DisableRule", "arn:aws:events:eu-west-1:111122223333:rule/Billing", nil, false},
		{"new code for the function", developer, "lambda:UpdateFunctionCode", "arn:aws:lambda:eu-west-1:111122223333:function:vpce-guard", nil, true},
		{"passing the role to a function of one's own", developer, "iam:PassRole", "arn:aws:iam::111122223333:role/VpceGuard-FunctionRole111A5701-ABCDEF", nil, true},
		{"widening the member role", developer, "iam:PutRolePolicy", "arn:aws:iam::111122223333:role/VpceGuardMember", nil, true},
		{"a developer exempts an endpoint", developer, "ec2:CreateTags", endpoint, []string{"team", config.DefaultExemptTagKey}, true},
		{"security exempts an endpoint", security, "ec2:CreateTags", endpoint, []string{config.DefaultExemptTagKey}, false},
		{"a developer tags otherwise", developer, "ec2:CreateTags", endpoint, []string{"team"}, false},
		{"a developer fakes the rewrite mark", developer, "ec2:CreateTags", endpoint, []string{config.RewrittenTagKey}, true},
		{"a developer removes the rewrite mark", developer, "ec2:DeleteTags", endpoint, []string{config.RewrittenTagKey}, true},
		{"vpce-guard marks its rewrite", guard, "ec2:CreateTags", endpoint, []string{config.RewrittenTagKey}, false},
	} {
		context := map[string][]string{"aws:PrincipalArn": {tc.caller}, "aws:PrincipalAccount": {account}}
		if tc.tags != nil {
			context["aws:TagKeys"] = tc.tags
		}
		d, err := doc.Evaluate(policy.Request{Principal: tc.caller, Action: tc.action, Resource: tc.resource, Context: context})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		// Every statement denies: one that matches is an explicit Deny.
		if denied := d.Statement != 0; denied != tc.denied {
			t.Errorf("%s: denied %v (%s), want %v", tc.name, denied, d, tc.denied)
		}
	}
}
