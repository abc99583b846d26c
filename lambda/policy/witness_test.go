package policy_test

import (
	"strings"
	"testing"

	"github.com/vpce-guard/vpce-guard/lambda/policy"
)

// A witness is a request someone can make: every part of its resource's ARN
// is filled in, whatever the wildcards of the policy allowed to be empty.
func TestWitnessResourcesHaveEveryPart(t *testing.T) {
	t.Parallel()
	template := mustParse(t, ownLogGroups)
	for _, resource := range []string{
		"arn:aws:logs:*:*:log-group:vendor-*",
		"arn:aws:logs:*:*:log-group:*",
		"arn:*:logs:*:*:*",
		"arn:aws:logs:eu-west-1:444455556666:log-group:team/*:log-stream:*",
		"*",
	} {
		p := mustParse(t, `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:PutLogEvents","Resource":"`+resource+`"}]}`)
		v := policy.Check(p, template, policy.Subset, "logs")
		if v.Compliant || v.Proof != policy.ProofWitness {
			t.Fatalf("%s: %+v, want a witness", resource, v)
		}
		for _, w := range v.Witnesses {
			parts := strings.Split(w.Resource, ":")
			for i, part := range parts {
				if part == "" || i > 0 && strings.HasSuffix(part, "-") || strings.HasSuffix(part, "/") {
					t.Errorf("%s: the witness %s leaves part %d of its ARN empty or cut", resource, w.Resource, i)
				}
			}
		}
	}
}

// A witness of an action without resource types names "*", the only
// resource AWS asks about for it, also when the policy allows it on "*".
func TestWitnessOfAnActionWithoutResourceTypes(t *testing.T) {
	t.Parallel()
	template := mustParse(t, ownLogGroups)
	for _, resource := range []string{"*", "arn:aws:logs:eu-west-1:111122223333:*", "arn:*"} {
		p := mustParse(t, `{"Statement":[{"Effect":"Allow","Principal":"*","Action":["ec2:Describe*","logs:DescribeLogGroups"],"Resource":"`+resource+`"}]}`)
		v := policy.Check(p, template, policy.Subset, "logs")
		if v.Compliant {
			t.Fatalf("%s: compliant, want DescribeLogGroups on * to escape", resource)
		}
		for _, w := range v.Witnesses {
			if w.Resource != "*" {
				t.Errorf("%s: the witness %+v names %q, a resource AWS never asks about for it", resource, w, w.Resource)
			}
		}
		if resource == "*" && v.Proof != policy.ProofWitness {
			t.Errorf("%s: proof %q, want a witness on *", resource, v.Proof)
		}
	}
}
