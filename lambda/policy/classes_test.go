package policy_test

import (
	"strings"
	"testing"

	"github.com/vpce-guard/vpce-guard/lambda/policy"
)

// The four classes of broader policies an adversarial review found passing
// the check, each with both verdicts. A non-compliant case that names a
// request must be a real counterexample: the policy allows it and the
// template denies it.
func TestCheckAdversarialClasses(t *testing.T) {
	t.Parallel()
	const (
		own       = `"arn:aws:logs:eu-west-1:111122223333:log-group:*"`
		strictOut = `["logs:PutAccountPolicy","logs:PutDestination","logs:PutSubscriptionFilter"]`
	)
	doc := func(statements ...string) string {
		return `{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`
	}
	strict := doc(`{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":`+own+`}`,
		`{"Effect":"Deny","Principal":"*","Action":`+strictOut+`,"Resource":"*"}`)
	namedAccount := doc(`{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"logs:*","Resource":` + own + `}`)
	twoChars := doc(`{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:app-??"}`)
	allowGroup := func(group string) string {
		return doc(`{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:` + group + `"}`)
	}
	// vpcAllow allows the account's log groups from one VPC; vpcDeny takes
	// the strict template's actions back under a condition written as given.
	vpcAllow := `{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":` + own + `,"Condition":{"StringEquals":{"aws:SourceVpc":"vpc-1"}}}`
	vpcDeny := func(operator, key string) string {
		return doc(vpcAllow, `{"Effect":"Deny","Principal":"*","Action":`+strictOut+`,"Resource":"*","Condition":{"`+operator+`":{"`+key+`":"vpc-1"}}}`)
	}
	roleAllow := `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/app"},"Action":"logs:*","Resource":` + own + `}`
	principalDeny := func(entry string) string {
		return doc(roleAllow, `{"Effect":"Deny","Principal":{"AWS":"`+entry+`"},"Action":`+strictOut+`,"Resource":"*"}`)
	}
	principalAllow := func(entry string) string {
		return doc(`{"Effect":"Allow","Principal":{"AWS":"` + entry + `"},"Action":"logs:*","Resource":` + own + `}`)
	}
	fromVPC := map[string][]string{"aws:SourceVpc": {"vpc-1"}}
	subscribe := func(caller string, ctx map[string][]string) *policy.Request {
		return &policy.Request{Principal: caller, Action: "logs:PutSubscriptionFilter",
			Resource: "arn:aws:logs:eu-west-1:111122223333:log-group:app", Context: ctx}
	}
	const role = "arn:aws:iam::111122223333:role/app"

	tests := []struct {
		name, policy, template string
		compliant              bool
		counterexample         *policy.Request // for some non-compliant cases
	}{
		{"unicode-case/deny key with a long s covers nothing", vpcDeny("StringEquals", "aws:ſourceVpc"), strict, false, subscribe(role, fromVPC)},
		{"unicode-case/deny key with a Kelvin sign covers nothing",
			doc(`{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":`+own+`,"Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":"team"}}}`,
				`{"Effect":"Deny","Principal":"*","Action":`+strictOut+`,"Resource":"*","Condition":{"ForAnyValue:StringEquals":{"aws:Tag\u212aeys":"team"}}}`),
			strict, false, subscribe(role, map[string][]string{"aws:TagKeys": {"team"}})},
		{"unicode-case/deny operator in another case covers nothing", vpcDeny("stringEquals", "aws:SourceVpc"), strict, false, nil},
		{"unicode-case/deny key in ASCII upper case covers", vpcDeny("StringEquals", "AWS:SOURCEVPC"), strict, true, nil},
		{"unicode-case/deny key as written covers", vpcDeny("StringEquals", "aws:SourceVpc"), strict, true, nil},

		{"question-mark/one two-byte character is not two", allowGroup("app-é"), twoChars, false,
			&policy.Request{Action: "logs:PutLogEvents", Resource: "arn:aws:logs:eu-west-1:111122223333:log-group:app-é"}},
		{"question-mark/one astral character is not two", allowGroup("app-😀"), twoChars, false, nil},
		{"question-mark/a template ? does not cross a colon", allowGroup("app-a:"), twoChars, false, nil},
		{"question-mark/two characters of any width", allowGroup("app-éé"), twoChars, true, nil},
		{"question-mark/two ASCII characters", allowGroup("app-ab"), twoChars, true, nil},

		{"account-principal/root of another partition covers nobody in a deny", principalDeny("arn:aws-cn:iam::111122223333:root"), strict, false, subscribe(role, nil)},
		{"account-principal/root with a region covers nobody in a deny", principalDeny("arn:aws:iam:eu-west-1:111122223333:root"), strict, false, subscribe(role, nil)},
		{"account-principal/root of a bogus partition covers nobody in a deny", principalDeny("arn:bogus:iam::111122223333:root"), strict, false, subscribe(role, nil)},
		{"account-principal/bare account ID covers its roles in a deny", principalDeny("111122223333"), strict, true, nil},
		{"account-principal/root of the template's partition covers its roles in a deny", principalDeny("arn:aws:iam::111122223333:root"), strict, true, nil},
		// A bare ID names the account in every partition, the role of another partition too.
		{"account-principal/role of another partition is inside a bare account", principalAllow("arn:aws-cn:iam::111122223333:role/app"), namedAccount, true, nil},
		{"account-principal/root with a region is outside a named account", principalAllow("arn:aws:iam:eu-west-1:111122223333:root"), namedAccount, false, nil},
		{"account-principal/role of the partition is inside a named account", principalAllow(role), namedAccount, true, nil},
		{"account-principal/root of the partition is inside a named account", principalAllow("arn:aws:iam::111122223333:root"), namedAccount, true, nil},
		// A bare ID names the account in whatever partition the caller is,
		// a root ARN only in its own (found by FuzzCheckBruteForce).
		{"account-principal/bare account ID is not inside one partition's root", principalAllow("111122223333"),
			doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"logs:*","Resource":` + own + `}`), false,
			&policy.Request{Principal: "arn:aws-cn:iam::111122223333:role/r", Action: "logs:PutLogEvents", Resource: "arn:aws:logs:eu-west-1:111122223333:log-group:x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, tmpl := mustParse(t, tt.policy), mustParse(t, tt.template)
			if tt.counterexample != nil {
				mustBeCounterexample(t, p, tmpl, *tt.counterexample)
			}
			if v := policy.Check(p, tmpl, policy.Subset); v.Compliant != tt.compliant {
				t.Errorf("compliant = %v, want %v; reasons %q", v.Compliant, tt.compliant, v.Reasons)
			}
		})
	}
}

// The JSON-escape class: a text that could be read two ways is no policy.
func TestParseJSONEscapesClass(t *testing.T) {
	t.Parallel()
	group := func(name string) string {
		return `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:` + name + `"}]}`
	}
	for _, bad := range []string{`a\udc00`, `\ud800x`, `\ud83d\u0041`, `\ude00\ud83d`} {
		if _, err := policy.Parse([]byte(group(bad))); err == nil || !strings.Contains(err.Error(), "half of a UTF-16 surrogate pair") {
			t.Errorf("%s: got %v, want a parse error naming the surrogate", bad, err)
		}
	}
	doc := mustParse(t, group(`app-\ud83d\ude00`))
	if got := doc.Statements()[0].Resource.Values[0]; !strings.HasSuffix(got, "app-😀") {
		t.Errorf("a surrogate pair reads as %q", got)
	}
	if v := policy.Check(doc, mustParse(t, ownLogGroups), policy.Subset); !v.Compliant {
		t.Errorf("an escaped character in a log-group name: %q", v.Reasons)
	}
}
