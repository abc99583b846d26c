package policy_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vpce-guard/vpce-guard/lambda/policy"
)

// go test ./lambda/policy -run x -bench . -benchmem -cpu 1

const (
	benchTemplate = `{"Version":"2012-10-17","Statement":[{"Sid":"AllowOwnLogGroups","Effect":"Allow","Principal":"*","Action":"logs:*",` +
		`"Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:*"}]}`
	benchFullAccess = `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`
	// benchRealistic is what a careful team writes: named roles, fewer
	// actions, narrower log groups, conditions and Denies; compliant.
	benchRealistic = `{
  "Version": "2012-10-17",
  "Id": "vpce-logs-payments",
  "Statement": [
    {
      "Sid": "AppWritesItsGroups",
      "Effect": "Allow",
      "Principal": {"AWS": ["arn:aws:iam::111122223333:role/payments-api", "arn:aws:iam::111122223333:role/payments-batch"]},
      "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
      "Resource": ["arn:aws:logs:eu-west-1:111122223333:log-group:payments-*-prod", "arn:aws:logs:eu-west-1:111122223333:log-group:payments-*-prod:*"],
      "Condition": {
        "StringEquals": {"aws:PrincipalAccount": "111122223333", "aws:SourceVpc": "vpc-0a1b2c3d4e5f60718"},
        "Bool": {"aws:SecureTransport": "true"}
      }
    },
    {
      "Sid": "LambdaLogs",
      "Effect": "Allow",
      "Principal": {"AWS": "111122223333"},
      "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
      "Resource": "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/*"
    },
    {
      "Sid": "OperatorsRead",
      "Effect": "Allow",
      "Principal": {"AWS": ["arn:aws:iam::111122223333:role/ops", "arn:aws:iam::111122223333:role/oncall"]},
      "Action": ["logs:Describe*", "logs:Get*", "logs:FilterLogEvents", "logs:StartQuery", "logs:StopQuery", "logs:GetQueryResults"],
      "Resource": "arn:aws:logs:eu-west-1:111122223333:log-group:*",
      "Condition": {"StringEqualsIfExists": {"aws:SourceVpce": "vpce-0123456789abcdef0"}}
    },
    {
      "Sid": "NoWayOut",
      "Effect": "Deny",
      "Principal": "*",
      "Action": ["logs:CreateExportTask", "logs:PutSubscriptionFilter", "logs:PutDestination", "logs:PutDestinationPolicy", "logs:AssociateKmsKey", "logs:PutAccountPolicy"],
      "Resource": "*"
    },
    {
      "Sid": "NoDeletesButOps",
      "Effect": "Deny",
      "Principal": "*",
      "Action": ["logs:Delete*", "logs:PutRetentionPolicy"],
      "Resource": "arn:aws:logs:eu-west-1:111122223333:log-group:*",
      "Condition": {"StringNotEquals": {"aws:PrincipalArn": ["arn:aws:iam::111122223333:role/ops"]}}
    }
  ]
}`
)

// benchLarge is a compliant policy just under the endpoint-policy limit: a
// statement per team, a few Denies.
var benchLarge = func() string {
	var statements []string
	statements = append(statements,
		`{"Sid":"NoExport","Effect":"Deny","Principal":"*","Action":["logs:CreateExportTask","logs:PutSubscriptionFilter"],"Resource":"*"}`,
		`{"Sid":"NoKeys","Effect":"Deny","Principal":"*","Action":"logs:AssociateKmsKey","Resource":"*"}`)
	const head, tail = `{"Version":"2012-10-17","Statement":[`, `]}`
	size := len(head) + len(tail) + len(statements[0]) + len(statements[1]) + 1
	for i := 0; ; i++ {
		st := fmt.Sprintf(`{"Sid":"T%03d","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/t%03d"},`+
			`"Action":"logs:PutLogEvents","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:t%03d-*"}`, i, i, i)
		if size+len(st)+1 > policy.MaxPolicyLength-200 {
			break
		}
		statements = append(statements, st)
		size += len(st) + 1
	}
	return head + strings.Join(statements, ",") + tail
}()

// benchAdversarial is a resource of n pieces and a last one with b for a, the
// shape that makes backtracking matchers exponential: (*a)^n*b, or
// (*:a)^n*:b whose stars end an ARN part and so stay wildcards across colons
// in a template too.
func benchAdversarial(piece string, n int) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:PutLogEvents",` +
		`"Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:` + strings.Repeat(piece, n) + strings.ReplaceAll(piece, "a", "b") + `"}]}`
}

func benchParse(b *testing.B, s string) *policy.Document {
	b.Helper()
	doc, err := policy.Parse([]byte(s))
	if err != nil {
		b.Fatal(err)
	}
	return doc
}

func benchCheck(b *testing.B, policyJSON, templateJSON string, wantCompliant bool) {
	p, tmpl := benchParse(b, policyJSON), benchParse(b, templateJSON)
	if v := policy.Check(p, tmpl, policy.Subset); v.Compliant != wantCompliant {
		b.Fatalf("compliant = %v, want %v: %q", v.Compliant, wantCompliant, v.Reasons)
	}
	b.ReportAllocs()
	for b.Loop() {
		policy.Check(p, tmpl, policy.Subset)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
}

func BenchmarkCheck(b *testing.B) {
	b.Run("full-access", func(b *testing.B) { benchCheck(b, benchFullAccess, benchTemplate, false) })
	b.Run("realistic-2KB", func(b *testing.B) {
		if n := utf8.RuneCountInString(benchRealistic); n < 1500 || n > 2600 {
			b.Fatalf("realistic policy has %d characters, want about 2,000", n)
		}
		benchCheck(b, benchRealistic, benchTemplate, true)
	})
	b.Run("large-20KB", func(b *testing.B) {
		n, statements := utf8.RuneCountInString(benchLarge), strings.Count(benchLarge, `"Sid"`)
		if n > policy.MaxPolicyLength || n < 19_500 || statements < 100 {
			b.Fatalf("large policy has %d characters and %d statements, want 19,500..%d and 100+", n, statements, policy.MaxPolicyLength)
		}
		benchCheck(b, benchLarge, benchTemplate, true)
	})
	for _, n := range []int{16, 64, 256} {
		// Against the template the fast path for "prefix*" decides at once.
		b.Run(fmt.Sprintf("adversarial/n=%d", n), func(b *testing.B) {
			benchCheck(b, benchAdversarial("*a", n), benchTemplate, true)
		})
	}
	for _, n := range []int{16, 64, 256} {
		// Against a template of the same shape with one piece fewer the
		// automaton of subsetOf walks n·n state pairs: the worst case, quadratic.
		b.Run(fmt.Sprintf("adversarial-vs-adversarial/n=%d", n), func(b *testing.B) {
			tmpl := strings.Replace(benchAdversarial("*:a", n-1), "logs:PutLogEvents", "logs:*", 1)
			benchCheck(b, benchAdversarial("*:a", n), tmpl, true)
		})
	}
}

func BenchmarkParse(b *testing.B) {
	for _, tt := range []struct{ name, policy string }{{"realistic-2KB", benchRealistic}, {"large-20KB", benchLarge}} {
		b.Run(tt.name, func(b *testing.B) {
			data := []byte(tt.policy)
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := policy.Parse(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEvaluate(b *testing.B) {
	doc := benchParse(b, benchRealistic)
	r := policy.Request{
		Principal: "arn:aws:sts::111122223333:assumed-role/payments-api/i-0abc",
		Action:    "logs:PutLogEvents",
		Resource:  "arn:aws:logs:eu-west-1:111122223333:log-group:payments-api-prod:log-stream:2026/01/01",
		Context:   map[string][]string{"aws:PrincipalAccount": {"111122223333"}, "aws:SourceVpc": {"vpc-0a1b2c3d4e5f60718"}, "aws:SecureTransport": {"true"}},
	}
	if d, err := doc.Evaluate(r); err != nil || !d.Allowed {
		b.Fatalf("Evaluate = %v, %v; want an Allow", d, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_, _ = doc.Evaluate(r)
	}
}
