package policy_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vpce-guard/vpce-guard/lambda/policy"
)

// fuzzSeeds are realistic endpoint policies: the templates, AWS's default, the
// stricter forms people write, and the odd shapes AWS accepts.
var fuzzSeeds = []string{
	// AWS's default full-access endpoint policy.
	`{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`,
	// The logs template, as rendered.
	`{"Version":"2012-10-17","Statement":[{"Sid":"AllowOwnLogGroups","Effect":"Allow","Principal":"*","Action":"logs:*","Resource":["arn:aws:logs:eu-west-1:111122223333:log-group:*"]}]}`,
	// The strict logs template.
	`{"Version":"2012-10-17","Statement":[{"Sid":"AllowOwnLogGroups","Effect":"Allow","Principal":"*","Action":"logs:*","Resource":["arn:aws:logs:eu-west-1:111122223333:log-group:*"]},
	{"Sid":"DenySubscriptionsOut","Effect":"Deny","Principal":"*","Action":["logs:PutAccountPolicy","logs:PutDestination","logs:PutSubscriptionFilter"],"Resource":"*"},
	{"Sid":"DenyCopiesOut","Effect":"Deny","Principal":"*","Action":["logs:CreateExportTask","logs:PutIntegration"],"Resource":"*"}]}`,
	// The template with log-group patterns.
	`{"Version":"2012-10-17","Statement":[{"Sid":"AllowOwnLogGroups","Effect":"Allow","Principal":"*","Action":"logs:*","Resource":[
	"arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/*","arn:aws:logs:eu-west-1:111122223333:log-group:app-*",
	"arn:aws:logs:eu-west-1:111122223333:log-group:logs-test-allowed","arn:aws:logs:eu-west-1:111122223333:log-group:logs-test-allowed:*"]}]}`,
	// A stricter policy: named principals, fewer actions, conditions, a Deny.
	`{"Version":"2012-10-17","Id":"team-logs","Statement":[
	{"Sid":"Write","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:role/app","111122223333"]},"Action":["logs:PutLogEvents","logs:CreateLogStream"],
	 "Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:app-*-prod:*","Condition":{"StringEquals":{"aws:PrincipalAccount":"111122223333"},"Bool":{"aws:SecureTransport":true}}},
	{"Sid":"NoExport","Effect":"Deny","Principal":"*","Action":"logs:CreateExportTask","Resource":"*"}]}`,
	// The Not* elements.
	`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"444455556666"},"NotAction":"logs:Delete*","NotResource":"arn:aws:logs:*:444455556666:*"}]}`,
	// A policy variable, and its escapes.
	`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":["arn:aws:logs:eu-west-1:${aws:PrincipalAccount}:log-group:*","arn:aws:logs:eu-west-1:111122223333:log-group:${*}${?}${$}"]}]}`,
	// Condition operators of every family, qualifiers and IfExists.
	`{"Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*","Condition":{
	"ForAnyValue:StringLike":{"aws:TagKeys":["a*","b?"]},"ForAllValues:StringEquals":{"aws:TagKeys":["team","env"]},
	"StringNotEqualsIfExists":{"aws:SourceVpc":"vpc-111"},"Null":{"aws:SourceVpce":"true"},"NumericLessThan":{"s3:max-keys":10},
	"DateGreaterThan":{"aws:CurrentTime":"2026-01-01T00:00:00Z"},"IpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.1.1"]},
	"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/app"},"BinaryEquals":{"k":"QmluYXJ5"},"StringSoundsLike":{"k":"v"}}}]}`,
	// A single statement object, no Version, other principal kinds.
	`{"Statement":{"Sid":"svc","Effect":"Allow","Principal":{"Service":"logs.amazonaws.com","Federated":"cognito-identity.amazonaws.com","CanonicalUser":"79a59df900b949e55d96a1e698fbaced"},"Action":"logs:PutLogEvents","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:x"}}`,
	// A Deny of everything outside the caller's account.
	`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:*"},
	{"Effect":"Deny","Principal":"*","Action":"logs:*","NotResource":"arn:aws:logs:*:${aws:PrincipalAccount}:*"}]}`,
	// The same key under two operators, and odd spacing and case.
	` { "Statement" : [ { "Effect" : "Allow" , "Principal" : { "AWS" : "*" } , "Action" : [ "LOGS:Put*" , "logs:?utLogEvents" ] , "Resource" : "arn:aws:logs:eu-west-?:111122223333:log-group:*" ,
	"Condition" : { "StringLike" : { "aws:SourceVpc" : "vpc-*" } , "StringEquals" : { "AWS:SOURCEVPC" : [ "vpc-1" , "vpc-2" ] } } } ] } `,
	// Empty statement list and an escape-heavy Sid.
	`{"Version":"2012-10-17","Statement":[],"Id":"\u003c\u0026\u2028"}`,
}

// FuzzParse: Parse never panics and either fails with ErrInvalidPolicy or
// yields a document whose normalized JSON reads back to the same normalized JSON.
//
//	go test ./lambda/policy -run x -fuzz FuzzParse -fuzztime 120s
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		doc, err := policy.Parse([]byte(data))
		if err != nil {
			if !errors.Is(err, policy.ErrInvalidPolicy) {
				t.Fatalf("Parse error %v does not wrap ErrInvalidPolicy", err)
			}
			return
		}
		first := doc.Normalize().JSON()
		if again := doc.Normalize().Normalize().JSON(); !bytes.Equal(first, again) {
			t.Fatalf("Normalize is not idempotent:\n%s\nthen\n%s", first, again)
		}
		if utf8.RuneCount(first) > policy.MaxPolicyLength {
			// The indented form of a policy near the limit can be longer than
			// the limit, which Parse then rightly refuses; nothing to compare.
			t.Skipf("normalized JSON has %d characters, over the limit", utf8.RuneCount(first))
		}
		doc2, err := policy.Parse(first)
		if err != nil {
			t.Fatalf("normalized JSON does not parse: %v\ninput:\n%s\nnormalized:\n%s", err, data, first)
		}
		if len(doc2.Statements()) != len(doc.Statements()) || doc2.Version() != doc.Version() || doc2.ID() != doc.ID() {
			t.Fatalf("round trip changed the document:\ninput:\n%s\nnormalized:\n%s", data, first)
		}
		if second := doc2.Normalize().JSON(); !bytes.Equal(first, second) {
			t.Fatalf("round trip is not stable:\ninput:\n%s\nnormalized:\n%s\nnormalized again:\n%s", data, first, second)
		}
		// Evaluate must not panic on whatever parsed.
		for _, r := range fuzzRequests(doc) {
			_, _ = doc.Evaluate(r)
		}
	})
}

// FuzzCheck: Check never panics, a verdict is compliant exactly when it has no
// reasons, a policy is always Exact with itself and, in the plain shapes where
// Check claims to be complete, Subset of itself; and a compliant verdict
// survives the requests built from both documents.
//
//	go test ./lambda/policy -run x -fuzz FuzzCheck -fuzztime 120s
func FuzzCheck(f *testing.F) {
	for _, p := range fuzzSeeds {
		for _, t := range fuzzSeeds {
			f.Add(p, t)
		}
	}
	f.Fuzz(func(t *testing.T, policyJSON, templateJSON string) {
		p, err := policy.Parse([]byte(policyJSON))
		if err != nil {
			return
		}
		tmpl, err := policy.Parse([]byte(templateJSON))
		if err != nil {
			return
		}
		for _, mode := range []policy.Mode{policy.Subset, policy.Exact} {
			v := policy.Check(p, tmpl, mode)
			if v.Compliant != (len(v.Reasons) == 0) {
				t.Fatalf("%s: Compliant=%v with reasons %q", mode, v.Compliant, v.Reasons)
			}
		}
		if v := policy.Check(p, p, policy.Exact); !v.Compliant {
			t.Fatalf("a policy is not exactly itself: %q\n%s", v.Reasons, policyJSON)
		}
		if plainAllows(p) {
			if v := policy.Check(p, p, policy.Subset); !v.Compliant {
				t.Fatalf("a plain Allow-only policy is not a subset of itself: %q\n%s", v.Reasons, policyJSON)
			}
		}
		v := policy.Check(p, tmpl, policy.Subset)
		if !v.Compliant {
			return
		}
		for _, r := range append(fuzzRequests(p), fuzzRequests(tmpl)...) {
			if !policy.Possible(r) {
				continue // AWS never authorizes the action on such a resource
			}
			allowed, err1 := p.Evaluate(r)
			inTemplate, err2 := tmpl.Evaluate(r)
			if err1 != nil || err2 != nil {
				continue // an operator Evaluate does not know
			}
			if allowed.Allowed && !inTemplate.Allowed {
				t.Fatalf("UNSOUND: compliant, but the policy allows %+v (%v) and the template denies it (%v)\npolicy:   %s\ntemplate: %s",
					r, allowed, inTemplate, policyJSON, templateJSON)
			}
		}
	})
}

// plainAllows reports whether every statement is an Allow with a Principal,
// Action and Resource, no Not* element and no condition, and no policy
// variable (which the template's reading drops): the shapes in which Check
// must find a policy within itself.
func plainAllows(d *policy.Document) bool {
	for _, st := range d.Statements() {
		if st.Effect != policy.Allow || !st.Principal.Present || st.Principal.Not || st.Action.Not || st.Resource.Not || len(st.Conditions) > 0 {
			return false
		}
		if d.Version() == policy.Version2012 {
			for _, r := range st.Resource.Values {
				if strings.Contains(r, "${") {
					return false
				}
			}
		}
	}
	return true
}

// fuzzRequests builds requests aimed at a document: its resource and action
// patterns with the wildcards filled in a few ways, from callers it names and
// a few others, with contexts that satisfy or miss its conditions.
func fuzzRequests(d *policy.Document) []policy.Request {
	const most = 256
	callers := []string{"111122223333", "arn:aws:sts::444455556666:assumed-role/app/s", ""}
	contexts := []map[string][]string{nil, {"aws:PrincipalAccount": {"444455556666"}, "aws:username": {"x"}}}
	var actions, resources []string
	for _, st := range d.Statements() {
		callers = append(callers, st.Principal.AWS...)
		callers = append(callers, st.Principal.Service...)
		ctx := map[string][]string{}
		for _, c := range st.Conditions {
			// One spelling per key: Evaluate folds the case of context keys,
			// so two spellings would leave it to map order which one counts.
			key := strings.ToLower(c.Key)
			ctx[key] = append(ctx[key], c.Values...)
		}
		if len(ctx) > 0 {
			contexts = append(contexts, ctx)
		}
		for _, a := range st.Action.Values {
			actions = append(actions, fillWildcards(a, "")...)
		}
		for _, r := range st.Resource.Values {
			resources = append(resources, fillWildcards(r, "x")...)
		}
	}
	if len(actions) == 0 {
		actions = []string{"logs:PutLogEvents"}
	}
	if len(resources) == 0 {
		resources = []string{"arn:aws:logs:eu-west-1:111122223333:log-group:x"}
	}
	var out []policy.Request
	for i := 0; len(out) < most && i < len(actions)*len(resources)*len(callers)*len(contexts); i++ {
		// Walk the product with co-prime-ish strides so that a cut-off still mixes.
		out = append(out, policy.Request{
			Action:    actions[i%len(actions)],
			Resource:  resources[(i/len(actions))%len(resources)],
			Principal: callers[(i/7)%len(callers)],
			Context:   contexts[(i/3)%len(contexts)],
		})
	}
	return out
}

// fillWildcards instantiates a pattern: every '*' by "" and by star, and also by
// ":x", every '?' by 'x', every ${...} by "x".
func fillWildcards(pattern, star string) []string {
	var out []string
	for _, s := range []string{"", star, ":" + star} {
		var b strings.Builder
		for i := 0; i < len(pattern); i++ {
			switch c := pattern[i]; {
			case c == '*':
				b.WriteString(s)
			case c == '?':
				b.WriteByte('x')
			case c == '$' && strings.HasPrefix(pattern[i:], "${") && strings.IndexByte(pattern[i:], '}') > 0:
				b.WriteString("x")
				i += strings.IndexByte(pattern[i:], '}')
			default:
				b.WriteByte(c)
			}
		}
		out = append(out, b.String())
	}
	return out
}

// The normalized JSON of a policy well inside the limit must parse again.
// JSON() renders strings with encoding/json's HTML escaping, which turns each
// of < > & into six characters: a Sid of 4,000 '<' (a 4 KB policy) becomes a
// 24 KB document that Parse refuses.
func TestNormalizedJSONParsesAgain(t *testing.T) {
	t.Parallel()
	in := `{"Statement":[{"Sid":"` + strings.Repeat("<", 4000) + `","Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"*"}]}`
	doc := mustParseDoc(t, in)
	out := doc.Normalize().JSON()
	if _, err := policy.Parse(out); err != nil {
		t.Errorf("a %d-character policy normalizes to %d characters that do not parse: %v", len(in), utf8.RuneCount(out), err)
	}
}
