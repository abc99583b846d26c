package policy_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vpce-guard/vpce-guard/lambda/policy"
	"github.com/vpce-guard/vpce-guard/policytemplates"
)

// narrowOlds are policies broader than the templates, or narrower in ways
// the templates do not know: what a narrow rewrite must keep.
var narrowOlds = []string{
	`{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`,
	`{"Version":"2012-10-17","Statement":[{"Sid":"App","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/app"},"Action":"logs:PutLogEvents","Resource":"arn:aws:logs:*:*:log-group:app-*"}]}`,
	`{"Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"444455556666"},"NotAction":"logs:Delete*","NotResource":"arn:aws:logs:*:444455556666:*"},
	  {"Sid":"Odd","Effect":"Deny","Principal":"*","Action":"logs:*","Resource":"*","Condition":{"StringSoundsLike":{"aws:SourceVpc":"vpc-1"}}}]}`,
	`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"events:*","Resource":"arn:aws:events:*:*:event-bus/${aws:username}",
	  "Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`,
}

// A narrow rewrite allows exactly what the old policy and the template
// both allow: Check finds it within the template (so that its own Modify
// event causes no write) and within the old policy (so that nothing the
// owner had narrowed comes back), for every template and form.
func TestNarrow(t *testing.T) {
	t.Parallel()
	for _, name := range policytemplates.Names() {
		carries, err := policytemplates.Carries(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, org := range []string{"", "o-a1b2c3d4e5"} {
			text, err := policytemplates.Render(name, policytemplates.Params{Region: "eu-west-1", AccountID: "111122223333",
				LogGroupPatterns: []string{"app-*", "logs-test-allowed"}, OrganizationID: org, TagException: org != ""})
			if err != nil {
				t.Fatal(err)
			}
			tmpl := mustParse(t, string(text))
			for i, o := range narrowOlds {
				t.Run(fmt.Sprintf("%s/%s/%d", name, org, i), func(t *testing.T) {
					t.Parallel()
					old := mustParse(t, o)
					out, err := policy.Narrow(old, tmpl, carries...)
					if err != nil {
						t.Fatal(err)
					}
					narrowed := mustParse(t, string(out))
					if v := policy.Check(narrowed, tmpl, policy.Subset, carries...); !v.Compliant {
						t.Errorf("not within the template: %q\n%s", v.Reasons, out)
					}
					if v := policy.Check(narrowed, old, policy.Subset); !v.Compliant {
						t.Errorf("not within the old policy: %q\n%s", v.Reasons, out)
					}
					kept, all := old.Statements(), narrowed.Statements()
					for j, st := range all {
						if j < len(kept) {
							if st.Sid != kept[j].Sid || st.Effect != kept[j].Effect || !slices.Equal(st.Action.Values, kept[j].Action.Values) {
								t.Errorf("statement %d of the old policy is not kept: %+v", j+1, st)
							}
						} else if st.Effect != policy.Deny || !strings.HasPrefix(st.Sid, policy.SidPrefix) {
							t.Errorf("added statement %d is %s with Sid %q", j+1, st.Effect, st.Sid)
						}
					}
					if narrowed.Version() != old.Version() {
						t.Errorf("version %q, the old policy's is %q", narrowed.Version(), old.Version())
					}
				})
			}
		}
	}
}

func TestNarrowRefuses(t *testing.T) {
	t.Parallel()
	old := mustParse(t, narrowOlds[0])
	for _, tt := range []struct{ name, template, want string }{
		{"a condition without an exact negation", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"*",
			"Condition":{"NumericLessThan":{"logs:Limit":"10"}}}]}`, "no exact negation"},
		{"an unknown operator", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"*",
			"Condition":{"StringSoundsLike":{"aws:SourceVpc":"vpc-1"}}}]}`, "no exact negation"},
		{"no Principal", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:*","Resource":"*"}]}`, "no Principal"},
		{"variables in another version", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:*",
			"Resource":"arn:aws:logs:*:*:log-group:${aws:username}"}]}`, "reads otherwise"},
		{"two Allows whose actions do not merge", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","NotAction":"logs:Put*","Resource":"arn:aws:logs:*:*:log-group:a"},
			{"Effect":"Allow","Principal":"*","NotAction":"logs:Get*","Resource":"arn:aws:logs:*:*:log-group:b"}]}`, "intersection"},
	} {
		_, err := policy.Narrow(old, mustParse(t, tt.template))
		if !errors.Is(err, policy.ErrNotNarrowable) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want ErrNotNarrowable saying %q", tt.name, err, tt.want)
		}
	}
	// A policy near the limit has no room for the bounds.
	var statements []string
	for i := 0; len(strings.Join(statements, ",")) < policy.MaxPolicyLength-400; i++ {
		statements = append(statements, fmt.Sprintf(`{"Sid":"S%d","Effect":"Allow","Principal":"*","Action":"logs:PutLogEvents","Resource":"arn:aws:logs:*:*:log-group:g%d"}`, i, i))
	}
	long := mustParse(t, `{"Version":"2012-10-17","Statement":[`+strings.Join(statements[:len(statements)-1], ",")+`]}`)
	_, err := policy.Narrow(long, mustParse(t, ownLogGroups))
	if !errors.Is(err, policy.ErrNotNarrowable) || !strings.Contains(err.Error(), "characters") {
		t.Errorf("a policy near the limit: %v", err)
	}
}
