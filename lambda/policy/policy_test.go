package policy_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/vpce-guard/vpce-guard/lambda/policy"
)

const ownLogGroups = `{"Version":"2012-10-17","Statement":[{"Sid":"OwnLogGroups","Effect":"Allow","Principal":"*",
	"Action":"logs:*","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:*"}]}`

func mustParse(t testing.TB, s string) *policy.Document {
	t.Helper()
	doc, err := policy.Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return doc
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	long := `{"Statement":[` + strings.Repeat(`{"Effect":"Allow","Principal":"*","Action":"logs:PutLogEvents","Resource":"*"},`, 300) +
		`{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`
	tests := []struct {
		name, policy string
		want         string // a part of the error message
	}{
		{"not JSON", `{"Statement": [`, "not valid JSON"},
		{"trailing data", `{"Statement":[]} {}`, "unexpected data after"},
		{"not an object", `["Statement"]`, "must be a JSON object"},
		{"unknown top-level element", `{"Statement":[],"Statment":[]}`, `Statment: unknown element`},
		{"missing Statement", `{"Version":"2012-10-17"}`, "Statement: missing"},
		{"bad version", `{"Version":"2020-01-01","Statement":[]}`, `Version: "2020-01-01" is not a policy language version`},
		{"version not a string", `{"Version":2012,"Statement":[]}`, "Version: must be a string, got a number"},
		{"statement not an object", `{"Statement":["Allow"]}`, "statement 1: a statement must be a JSON object, got a string"},
		{"unknown effect", `{"Statement":[{"Sid":"S1","Effect":"Permit","Principal":"*","Action":"*","Resource":"*"}]}`,
			`statement 1 (Sid "S1"): Effect: "Permit" is neither Allow nor Deny`},
		{"missing effect", `{"Statement":[{"Principal":"*","Action":"*","Resource":"*"}]}`, "statement 1: Effect: missing"},
		{"missing action", `{"Statement":[{"Effect":"Allow","Principal":"*","Resource":"*"}]}`, "Action: missing"},
		{"missing resource", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*"}]}`, "Resource: missing"},
		{"action and NotAction", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","NotAction":"ec2:*","Resource":"*"}]}`,
			"both Action and NotAction"},
		{"resource and NotResource", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","NotResource":"*"}]}`,
			"both Resource and NotResource"},
		{"principal and NotPrincipal", `{"Statement":[{"Effect":"Allow","Principal":"*","NotPrincipal":"*","Action":"*","Resource":"*"}]}`,
			"both Principal and NotPrincipal"},
		{"action wrong type", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":7,"Resource":"*"}]}`,
			"Action: must be a string or a list of strings, got a number"},
		{"action list with a number", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":["logs:*",1],"Resource":"*"}]}`,
			"Action: must be a string or a list of strings"},
		{"empty action list", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":[],"Resource":"*"}]}`, "Action: an empty list"},
		{"action without service", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"PutLogEvents","Resource":"*"}]}`,
			`"PutLogEvents" is not an action`},
		{"resource not an ARN", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"my-log-group"}]}`,
			`"my-log-group" is not a resource`},
		{"principal string other than star", `{"Statement":[{"Effect":"Allow","Principal":"111122223333","Action":"*","Resource":"*"}]}`,
			`must be "*"`},
		{"principal wildcard ARN", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::*:root"},"Action":"*","Resource":"*"}]}`,
			"without wildcards"},
		{"unknown principal type", `{"Statement":[{"Effect":"Allow","Principal":{"Human":"me"},"Action":"*","Resource":"*"}]}`,
			`unknown principal type "Human"`},
		{"empty principal object", `{"Statement":[{"Effect":"Allow","Principal":{},"Action":"*","Resource":"*"}]}`, "names no principal"},
		{"condition not an object", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":"x"}]}`,
			"Condition: must be an object of operators, got a string"},
		{"condition value null", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpc":null}}}]}`,
			"StringEquals: aws:SourceVpc: a value must be a string, number or boolean, got null"},
		{"condition value object", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpc":{"a":1}}}}]}`,
			"got an object"},
		{"condition keys differing in case", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpc":"a","AWS:SOURCEVPC":"b"}}}]}`,
			"duplicate condition key"},
		{"one operator spelled twice", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"ForAnyValue:StringNotEquals":{"aws:TagKeys":"a"},"ForAnyValue:stringNotEquals":{"aws:TagKeys":"b"}}}]}`,
			"duplicate condition key (the same operator and key in another case)"},
		{"duplicate key", `{"Statement":[{"Effect":"Deny","Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`,
			"Statement[0].Effect: duplicate key"},
		{"unknown statement element", `{"Statement":[{"Sid":"X","Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Resources":"*"}]}`,
			`statement 1 (Sid "X"): Resources: unknown element`},
		{"second statement named", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},{"Sid":"Two","Effect":"Allow","Principal":"*","Action":"*"}]}`,
			`statement 2 (Sid "Two"): Resource: missing`},
		{"too long", long, "over the 20480-character limit"},
		{"invalid UTF-8", "{\"Statement\":[{\"Sid\":\"\xff\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"*\",\"Resource\":\"*\"}]}", "not valid UTF-8"},
		{"deeply nested", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":` +
			strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40) + `}]}`, "nested deeper than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := policy.Parse([]byte(tt.policy))
			if err == nil {
				t.Fatalf("Parse succeeded, want an error containing %q", tt.want)
			}
			if !errors.Is(err, policy.ErrInvalidPolicy) {
				t.Errorf("error %v does not wrap ErrInvalidPolicy", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestParseAcceptsAWSForms(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, policy string }{
		{"default endpoint policy", `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`},
		{"no version, single statement object", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}`},
		{"principal forms", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::444455556666:role/app"],"Service":"logs.amazonaws.com"},"Action":"logs:*","Resource":"*"}]}`},
		{"NotPrincipal NotAction NotResource", `{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"111122223333"},"NotAction":["logs:*"],"NotResource":"arn:aws:logs:*:111122223333:*"}]}`},
		{"condition value types", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":true},"NumericLessThan":{"s3:max-keys":10},"StringEquals":{"aws:SourceVpc":["vpc-1","vpc-2"]}}}]}`},
		{"unknown operator is kept", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringSoundsLike":{"aws:SourceVpc":"vpc-1"}}}]}`},
		{"empty statement list", `{"Version":"2012-10-17","Statement":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := mustParse(t, tt.policy)
			again := mustParse(t, string(doc.Normalize().JSON()))
			if got, want := string(again.Normalize().JSON()), string(doc.Normalize().JSON()); got != want {
				t.Errorf("normalized JSON does not round-trip:\n%s\nvs\n%s", got, want)
			}
		})
	}
}

func TestNormalizeIgnoresFormatting(t *testing.T) {
	t.Parallel()
	a := mustParse(t, `{"Statement":[{"Effect":"Allow","Principal":{"AWS":["444455556666","111122223333"]},"Action":["LOGS:PutLogEvents","logs:CreateLogStream","logs:putlogevents"],"Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:*","Condition":{"StringEquals":{"AWS:SourceVpc":["vpc-2","vpc-1"]}}}]}`)
	b := mustParse(t, `{
	  "Statement": {
	    "Condition": {"StringEquals": {"aws:sourcevpc": ["vpc-1", "vpc-2", "vpc-1"]}},
	    "Resource": ["arn:aws:logs:eu-west-1:111122223333:log-group:*"],
	    "Action": ["logs:createlogstream", "logs:PutLogEvents"],
	    "Principal": {"AWS": ["111122223333", "444455556666"]},
	    "Effect": "Allow"
	  }
	}`)
	if got, want := string(a.Normalize().JSON()), string(b.Normalize().JSON()); got != want {
		t.Errorf("normalized forms differ:\n%s\n%s", got, want)
	}
	if v := policy.Check(a, b, policy.Exact); !v.Compliant {
		t.Errorf("exact check of equivalent policies: %q", v.Reasons)
	}
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	const allowed = "arn:aws:logs:eu-west-1:111122223333:log-group:logs-test-allowed"
	classic := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":["logs:CreateLogStream","logs:PutLogEvents"],
		"Resource":["` + allowed + `","` + allowed + `:*"]}]}`
	tests := []struct {
		name, policy string
		req          policy.Request
		want         string // Decision.String()
	}{
		{"classic: own allowed log group", classic,
			policy.Request{Principal: "111122223333", Action: "logs:PutLogEvents", Resource: allowed + ":log-stream:s1"}, "Allow by statement 1"},
		{"classic: own other log group", classic,
			policy.Request{Principal: "111122223333", Action: "logs:PutLogEvents", Resource: "arn:aws:logs:eu-west-1:111122223333:log-group:logs-test-denied:log-stream:s1"}, "Deny (implicit: no statement allows it)"},
		{"classic: foreign account's log group", classic,
			policy.Request{Principal: "444455556666", Action: "logs:PutLogEvents", Resource: "arn:aws:logs:eu-west-1:444455556666:log-group:logs-test-allowed:log-stream:s1"}, "Deny (implicit: no statement allows it)"},
		{"actions ignore case", classic,
			policy.Request{Action: "LOGS:putlogevents", Resource: allowed}, "Allow by statement 1"},
		{"resources keep case", classic,
			policy.Request{Action: "logs:PutLogEvents", Resource: strings.ToUpper(allowed)}, "Deny (implicit: no statement allows it)"},
		{"question mark is one character", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"arn:aws:logs:eu-west-1:11112222333?:log-group:*"}}`,
			policy.Request{Action: "logs:PutLogEvents", Resource: "arn:aws:logs:eu-west-1:111122223339:log-group:x"}, "Allow by statement 1"},
		{"explicit deny wins", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},{"Sid":"NoExport","Effect":"Deny","Principal":"*","Action":"logs:CreateExportTask","Resource":"*"}]}`,
			policy.Request{Action: "logs:CreateExportTask", Resource: allowed}, `Deny by statement 2 ("NoExport")`},
		{"NotAction allows the rest", `{"Statement":{"Effect":"Allow","Principal":"*","NotAction":"logs:Delete*","Resource":"*"}}`,
			policy.Request{Action: "ec2:RunInstances", Resource: "arn:aws:ec2:eu-west-1:111122223333:instance/i-1"}, "Allow by statement 1"},
		{"NotResource", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","NotResource":"arn:aws:logs:*:444455556666:*"}}`,
			policy.Request{Action: "logs:PutLogEvents", Resource: "arn:aws:logs:eu-west-1:444455556666:log-group:x"}, "Deny (implicit: no statement allows it)"},
		{"account principal takes in its roles", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"*","Resource":"*"}}`,
			policy.Request{Principal: "arn:aws:iam::111122223333:role/app", Action: "logs:PutLogEvents", Resource: allowed}, "Allow by statement 1"},
		{"role principal takes in its sessions", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/hq/app"},"Action":"*","Resource":"*"}}`,
			policy.Request{Principal: "arn:aws:sts::111122223333:assumed-role/app/session-1", Action: "logs:PutLogEvents", Resource: allowed}, "Allow by statement 1"},
		{"role principal not another account", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"*","Resource":"*"}}`,
			policy.Request{Principal: "arn:aws:sts::444455556666:assumed-role/app/s", Action: "logs:PutLogEvents", Resource: allowed}, "Deny (implicit: no statement allows it)"},
		{"NotPrincipal", `{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"111122223333"},"Action":"*","Resource":"*"}}`,
			policy.Request{Principal: "444455556666", Action: "logs:PutLogEvents", Resource: allowed}, "Deny by statement 1"},
		{"policy variable", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"arn:aws:logs:*:111122223333:log-group:${aws:username}-*"}}`,
			policy.Request{Action: "logs:PutLogEvents", Resource: "arn:aws:logs:eu-west-1:111122223333:log-group:alice-x", Context: map[string][]string{"aws:username": {"alice"}}}, "Allow by statement 1"},
		{"policy variable before the resource part is text", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"arn:aws:logs:*:${aws:PrincipalAccount}:log-group:*"}}`,
			policy.Request{Action: "logs:PutLogEvents", Resource: "arn:aws:logs:eu-west-1:444455556666:log-group:x", Context: map[string][]string{"aws:PrincipalAccount": {"444455556666"}}}, "Deny (implicit: no statement allows it)"},
		{"policy variable without a value", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"arn:aws:logs:*:${aws:PrincipalAccount}:log-group:*"}}`,
			policy.Request{Action: "logs:PutLogEvents", Resource: "arn:aws:logs:eu-west-1:444455556666:log-group:x"}, "Deny (implicit: no statement allows it)"},
		{"variables are text in 2008-10-17", `{"Version":"2008-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"arn:aws:logs:*:${aws:PrincipalAccount}:log-group:*"}}`,
			policy.Request{Action: "logs:PutLogEvents", Resource: "arn:aws:logs:eu-west-1:${aws:PrincipalAccount}:log-group:x", Context: map[string][]string{"aws:PrincipalAccount": {"444455556666"}}}, "Allow by statement 1"},
		{"star inside an ARN part stops at a colon", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:app-*-prod"}}`,
			policy.Request{Action: "logs:PutLogEvents", Resource: "arn:aws:logs:eu-west-1:111122223333:log-group:app-x:log-stream:y-prod"}, "Deny (implicit: no statement allows it)"},
		{"star ending an ARN part crosses colons", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:app-*"}}`,
			policy.Request{Action: "logs:PutLogEvents", Resource: "arn:aws:logs:eu-west-1:111122223333:log-group:app-x:log-stream:y"}, "Allow by statement 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := mustParse(t, tt.policy).Evaluate(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if d.String() != tt.want {
				t.Errorf("got %q, want %q", d, tt.want)
			}
		})
	}
}

func TestEvaluateConditions(t *testing.T) {
	t.Parallel()
	vpc := func(v ...string) map[string][]string { return map[string][]string{"aws:SourceVpc": v} }
	tests := []struct {
		condition string
		context   map[string][]string
		allowed   bool
	}{
		{`{"StringEquals":{"aws:SourceVpc":"vpc-1"}}`, vpc("vpc-1"), true},
		{`{"StringEquals":{"aws:SourceVpc":"vpc-1"}}`, vpc("vpc-2"), false},
		{`{"StringEquals":{"aws:SourceVpc":"vpc-1"}}`, nil, false},
		{`{"StringEquals":{"AWS:SOURCEVPC":["vpc-2","vpc-1"]}}`, vpc("vpc-1"), true},
		{`{"StringNotEquals":{"aws:SourceVpc":"vpc-1"}}`, vpc("vpc-2"), true},
		{`{"StringNotEquals":{"aws:SourceVpc":"vpc-1"}}`, vpc("vpc-1"), false},
		{`{"StringNotEquals":{"aws:SourceVpc":"vpc-1"}}`, nil, true},
		{`{"StringEqualsIgnoreCase":{"aws:SourceVpc":"VPC-1"}}`, vpc("vpc-1"), true},
		{`{"StringNotEqualsIgnoreCase":{"aws:SourceVpc":"VPC-1"}}`, vpc("vpc-1"), false},
		{`{"StringLike":{"aws:SourceVpc":"vpc-*"}}`, vpc("vpc-1"), true},
		{`{"StringLike":{"aws:SourceVpc":"vpc-?"}}`, vpc("vpc-12"), false},
		{`{"StringNotLike":{"aws:SourceVpc":"vpc-*"}}`, vpc("vpc-1"), false},
		{`{"StringNotLike":{"aws:SourceVpc":"vpc-*"}}`, nil, true},
		{`{"StringEqualsIfExists":{"aws:SourceVpc":"vpc-1"}}`, nil, true},
		{`{"StringEqualsIfExists":{"aws:SourceVpc":"vpc-1"}}`, vpc("vpc-2"), false},
		{`{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/app"}}`, map[string][]string{"aws:PrincipalArn": {"arn:aws:iam::111122223333:role/app"}}, true},
		{`{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/app"}}`, map[string][]string{"aws:PrincipalArn": {"arn:aws:iam::1:2:role/app"}}, false},
		{`{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/app"}}`, map[string][]string{"aws:PrincipalArn": {"arn:aws:iam::111122223333:role/app"}}, true},
		{`{"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/app"}}`, map[string][]string{"aws:PrincipalArn": {"arn:aws:iam::111122223333:role/other"}}, true},
		{`{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:*"}}`, map[string][]string{"aws:PrincipalArn": {"arn:aws:iam::111122223333:role/x"}}, false},
		{`{"Bool":{"aws:SecureTransport":true}}`, map[string][]string{"aws:SecureTransport": {"true"}}, true},
		{`{"Bool":{"aws:SecureTransport":"true"}}`, map[string][]string{"aws:SecureTransport": {"false"}}, false},
		{`{"Null":{"aws:SourceVpc":"true"}}`, nil, true},
		{`{"Null":{"aws:SourceVpc":"true"}}`, vpc("vpc-1"), false},
		{`{"Null":{"aws:SourceVpc":"false"}}`, vpc("vpc-1"), true},
		{`{"ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]}}`, map[string][]string{"aws:TagKeys": {"c", "b"}}, true},
		{`{"ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]}}`, nil, false},
		{`{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}`, map[string][]string{"aws:TagKeys": {"a", "c"}}, false},
		{`{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}`, map[string][]string{"aws:TagKeys": {"a", "b"}}, true},
		{`{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}`, nil, true},
		{`{"ForAnyValue:StringNotLike":{"aws:TagKeys":"a*"}}`, map[string][]string{"aws:TagKeys": {"ab", "x"}}, true},
		{`{"NumericLessThan":{"logs:Limit":10}}`, map[string][]string{"logs:Limit": {"3"}}, true},
		{`{"DateLessThan":{"aws:CurrentTime":"2026-01-01T00:00:00Z"}}`, map[string][]string{"aws:CurrentTime": {"2025-06-01T00:00:00Z"}}, true},
		{`{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, map[string][]string{"aws:SourceIp": {"10.1.2.3"}}, true},
		{`{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, map[string][]string{"aws:SourceIp": {"10.1.2.3"}}, false},
		{`{"StringEquals":{"aws:SourceVpc":"vpc-1"},"Bool":{"aws:SecureTransport":"true"}}`, vpc("vpc-1"), false},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s with %v", tt.condition, tt.context)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			doc := mustParse(t, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":`+tt.condition+`}}`)
			d, err := doc.Evaluate(policy.Request{Action: "logs:PutLogEvents", Resource: "arn:aws:logs:eu-west-1:111122223333:log-group:x", Context: tt.context})
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed != tt.allowed {
				t.Errorf("allowed = %v, want %v", d.Allowed, tt.allowed)
			}
		})
	}
}

func TestEvaluateUnknownOperator(t *testing.T) {
	t.Parallel()
	doc := mustParse(t, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringSoundsLike":{"aws:SourceVpc":"vpc-1"}}}}`)
	_, err := doc.Evaluate(policy.Request{Action: "logs:PutLogEvents", Resource: "arn:aws:logs:eu-west-1:111122223333:log-group:x"})
	if !errors.Is(err, policy.ErrUnsupportedOperator) || !strings.Contains(err.Error(), "StringSoundsLike") {
		t.Fatalf("got %v, want ErrUnsupportedOperator naming the operator", err)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	stmt := func(body string) string { return `{"Version":"2012-10-17","Statement":[` + body + `]}` }
	const own = `"arn:aws:logs:eu-west-1:111122223333:log-group:*"`
	strict := stmt(`{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":` + own + `},
		{"Sid":"NoExport","Effect":"Deny","Principal":"*","Action":["logs:CreateExportTask","logs:PutSubscriptionFilter"],"Resource":"*"}`)
	tests := []struct {
		name, policy, template string
		compliant              bool
		reason                 string // a part of the first reason, for non-compliant verdicts
	}{
		{"the template itself", ownLogGroups, ownLogGroups, true, ""},
		{"AWS default full access", `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`, ownLogGroups, false,
			`statement 1 allows * on *`},
		{"fewer actions", stmt(`{"Effect":"Allow","Principal":"*","Action":["logs:PutLogEvents","logs:CreateLogStream"],"Resource":` + own + `}`), ownLogGroups, true, ""},
		{"actions in any case", stmt(`{"Effect":"Allow","Principal":"*","Action":"LOGS:PutLogEvents","Resource":` + own + `}`), ownLogGroups, true, ""},
		{"narrower log groups", stmt(`{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":["arn:aws:logs:eu-west-1:111122223333:log-group:app-*","arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/f:*"]}`), ownLogGroups, true, ""},
		{"named principal", stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/app"},"Action":"logs:*","Resource":` + own + `}`), ownLogGroups, true, ""},
		{"extra restricting condition", stmt(`{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":` + own + `,"Condition":{"StringEquals":{"aws:PrincipalAccount":"111122223333"}}}`), ownLogGroups, true, ""},
		{"unknown operator in the policy only narrows it", stmt(`{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":` + own + `,"Condition":{"StringSoundsLike":{"a":"b"}}}`), ownLogGroups, true, ""},
		{"extra deny", stmt(`{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":` + own + `},{"Effect":"Deny","Principal":"*","Action":"logs:Delete*","Resource":"*"}`), ownLogGroups, true, ""},
		{"split statements", stmt(`{"Effect":"Allow","Principal":"*","Action":"logs:PutLogEvents","Resource":` + own + `},{"Sid":"B","Effect":"Allow","Principal":"*","Action":"logs:CreateLogStream","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:app"}`), ownLogGroups, true, ""},
		{"empty statement list allows nothing", stmt(``), ownLogGroups, true, ""},
		{"foreign account", stmt(`{"Effect":"Allow","Principal":"*","Action":"logs:PutLogEvents","Resource":"arn:aws:logs:eu-west-1:444455556666:log-group:*"}`), ownLogGroups, false,
			"statement 1 allows logs:PutLogEvents on arn:aws:logs:eu-west-1:444455556666:log-group:*, outside arn:aws:logs:eu-west-1:111122223333:log-group:*"},
		{"wildcard account digit", stmt(`{"Effect":"Allow","Principal":"*","Action":"logs:PutLogEvents","Resource":"arn:aws:logs:eu-west-1:11112222333?:log-group:*"}`), ownLogGroups, false,
			"11112222333?"},
		{"any region", stmt(`{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"arn:aws:logs:*:111122223333:log-group:*"}`), ownLogGroups, false, "arn:aws:logs:*:111122223333"},
		{"other service", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":` + own + `}`), ownLogGroups, false, "an action outside the template"},
		{"NotAction in an Allow", stmt(`{"Effect":"Allow","Principal":"*","NotAction":"logs:Delete*","Resource":` + own + `}`), ownLogGroups, false,
			"everything except logs:Delete*"},
		{"NotResource in an Allow", stmt(`{"Effect":"Allow","Principal":"*","Action":"logs:*","NotResource":"arn:aws:logs:*:444455556666:*"}`), ownLogGroups, false,
			"everything except arn:aws:logs:*:444455556666:*"},
		{"policy variable for the account", stmt(`{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"arn:aws:logs:eu-west-1:${aws:PrincipalAccount}:log-group:*"}`), ownLogGroups, false,
			"${aws:PrincipalAccount}"},
		{"one broad statement among narrow ones", stmt(`{"Effect":"Allow","Principal":"*","Action":"logs:PutLogEvents","Resource":` + own + `},{"Sid":"Oops","Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"*"}`), ownLogGroups, false,
			`statement 2 ("Oops") allows logs:* on *`},
		{"a deny of everything outside the template carves a broad allow down", stmt(`{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"*"},{"Effect":"Deny","Principal":"*","Action":"*","NotResource":` + own + `}`), ownLogGroups, true, ""},
		{"strict template itself", strict, strict, true, ""},
		{"strict: allow without the denies", ownLogGroups, strict, false,
			`statement 1 ("OwnLogGroups") allows logs:CreateExportTask, logs:PutSubscriptionFilter, which the template denies in statement 2 ("NoExport")`},
		{"strict: only PutLogEvents needs no deny", stmt(`{"Effect":"Allow","Principal":"*","Action":"logs:PutLogEvents","Resource":` + own + `}`), strict, true, ""},
		{"strict: a wider deny in the policy", stmt(`{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":` + own + `},{"Effect":"Deny","Principal":"*","Action":["logs:Create*","logs:Put*"],"Resource":"*"}`), strict, true, ""},
		{"strict: a deny limited by condition does not cover", stmt(`{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":` + own + `},{"Effect":"Deny","Principal":"*","Action":["logs:CreateExportTask","logs:PutSubscriptionFilter"],"Resource":"*","Condition":{"StringEquals":{"aws:SourceVpc":"vpc-1"}}}`), strict, false,
			"no Deny in the policy takes it back"},
		{"template allow with a condition the policy lacks", ownLogGroups,
			stmt(`{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":` + own + `,"Condition":{"StringEquals":{"aws:PrincipalAccount":"111122223333"}}}`), false,
			"without the condition the template requires"},
		{"template allow with a condition the policy narrows", stmt(`{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":` + own + `,"Condition":{"StringEquals":{"aws:principalaccount":"111122223333"}}}`),
			stmt(`{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":` + own + `,"Condition":{"StringEquals":{"aws:PrincipalAccount":["111122223333","444455556666"]}}}`), true, ""},
		{"template allow for one principal", ownLogGroups,
			stmt(`{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"logs:*","Resource":` + own + `}`), false, "only for principal AWS:111122223333"},
		{"role inside the template's account", stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/app"},"Action":"logs:*","Resource":` + own + `}`),
			stmt(`{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"logs:*","Resource":` + own + `}`), true, ""},
		{"mid-part wildcard in template stays narrow", stmt(`{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:app-x:log-stream:y-prod"}`),
			stmt(`{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:app-*-prod"}`), false, "outside"},
		{"mid-part wildcard template is compliant with itself", stmt(`{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:app-*-prod"}`),
			stmt(`{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:app-*-prod"}`), true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := policy.Check(mustParse(t, tt.policy), mustParse(t, tt.template), policy.Subset)
			if v.Compliant != tt.compliant {
				t.Fatalf("compliant = %v, want %v; reasons %q", v.Compliant, tt.compliant, v.Reasons)
			}
			if tt.compliant {
				if len(v.Reasons) != 0 {
					t.Errorf("compliant verdict with reasons %q", v.Reasons)
				}
				return
			}
			if len(v.Reasons) == 0 || !strings.Contains(v.Reasons[0], tt.reason) {
				t.Errorf("reasons %q, want the first to contain %q", v.Reasons, tt.reason)
			}
		})
	}
}

func TestCheckExact(t *testing.T) {
	t.Parallel()
	template := mustParse(t, ownLogGroups)
	same := mustParse(t, `{"Statement":{"Sid":"Other","Effect":"Allow","Principal":"*","Action":["LOGS:*","logs:*"],"Resource":["arn:aws:logs:eu-west-1:111122223333:log-group:*"]}}`)
	if v := policy.Check(same, template, policy.Exact); !v.Compliant {
		t.Errorf("equal up to formatting: %q", v.Reasons)
	}
	narrower := mustParse(t, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"logs:PutLogEvents","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:*"}}`)
	v := policy.Check(narrower, template, policy.Exact)
	if v.Compliant || len(v.Reasons) != 2 {
		t.Fatalf("narrower policy in exact mode: %+v", v)
	}
	if !strings.Contains(v.Reasons[0], "statement 1 is not in the template") || !strings.Contains(v.Reasons[1], `the template's statement 1 ("OwnLogGroups") is missing`) {
		t.Errorf("reasons %q", v.Reasons)
	}
}

func TestParseMode(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"subset", "exact"} {
		if m, err := policy.ParseMode(s); err != nil || string(m) != s {
			t.Errorf("ParseMode(%q) = %q, %v", s, m, err)
		}
	}
	if _, err := policy.ParseMode("loose"); err == nil {
		t.Error("ParseMode(loose) succeeded")
	}
}

func ExampleCheck() {
	template, _ := policy.Parse([]byte(ownLogGroups))
	open, _ := policy.Parse([]byte(`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:PutLogEvents","Resource":"arn:aws:logs:*:*:log-group:*"}]}`))
	v := policy.Check(open, template, policy.Subset)
	fmt.Println(v.Compliant)
	fmt.Println(v.Reasons[0])
	// Output:
	// false
	// statement 1 allows logs:PutLogEvents on arn:aws:logs:*:*:log-group:*, outside arn:aws:logs:eu-west-1:111122223333:log-group:*
}

func ExampleDocument_Evaluate() {
	doc, _ := policy.Parse([]byte(ownLogGroups))
	d, _ := doc.Evaluate(policy.Request{
		Principal: "arn:aws:iam::444455556666:user/mallory",
		Action:    "logs:PutLogEvents",
		Resource:  "arn:aws:logs:eu-west-1:444455556666:log-group:exfil:log-stream:s",
	})
	fmt.Println(d)
	// Output: Deny (implicit: no statement allows it)
}

func TestCheckNotesUnknownOperators(t *testing.T) {
	t.Parallel()
	p := mustParse(t, `{"Statement":[{"Sid":"Odd","Effect":"Allow","Principal":"*","Action":"logs:PutLogEvents",
		"Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:*","Condition":{"StringSoundsLike":{"aws:SourceVpc":"vpc-1"}}}]}`)
	v := policy.Check(p, mustParse(t, ownLogGroups), policy.Subset)
	if !v.Compliant {
		t.Fatalf("an unknown operator in an Allow only narrows it: %q", v.Reasons)
	}
	if len(v.Notes) != 1 || !strings.Contains(v.Notes[0], `the policy's statement 1 ("Odd"): condition operator "StringSoundsLike" is unknown`) {
		t.Errorf("notes %q, want one naming the statement and the operator", v.Notes)
	}
	if v := policy.Check(mustParse(t, ownLogGroups), mustParse(t, ownLogGroups), policy.Subset); len(v.Notes) != 0 {
		t.Errorf("notes without unknown operators: %q", v.Notes)
	}
}
