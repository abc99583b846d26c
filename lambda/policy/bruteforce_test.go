package policy_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vpce-guard/vpce-guard/lambda/policy"
)

// FuzzCheckBruteForce builds a policy and a template from the fuzzer's bytes,
// over a small alphabet chosen to hold every trap of the adversarial review:
// resource patterns of a, A, é, ':', '?' and '*'; account principals of every
// form; condition keys in other cases and with a long s; operators in another
// case. Whenever Check calls the policy compliant, it tries every request of
// a small domain that contains a two-byte and a four-byte character, under
// both readings of a '*' inside an ARN part: none may be allowed by the
// policy and denied by the template.
//
//	go test ./lambda/policy -run '^$' -fuzz FuzzCheckBruteForce -fuzztime 10m -parallel 1
func FuzzCheckBruteForce(f *testing.F) {
	for _, seed := range [][]byte{
		{}, {1, 2, 3, 4, 5, 6, 7, 8, 9}, {0, 0, 5, 1, 0, 0, 5, 2, 4},
		{2, 1, 1, 5, 3, 3, 3, 0, 0, 1, 2, 5, 2, 2, 2, 4, 4},
		{9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9},
	} {
		f.Add(seed)
	}
	requests := bruteForceRequests()
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &choices{data: data}
		template := c.document(nil)
		policyJSON, templateJSON := marshalStatements(c.document(template)), marshalStatements(template)
		tmpl, err := policy.Parse(templateJSON)
		if err != nil {
			t.Fatalf("the template does not parse: %v\n%s", err, templateJSON)
		}
		p, err := policy.Parse(policyJSON)
		if err != nil {
			t.Fatalf("the policy does not parse: %v\n%s", err, policyJSON)
		}
		if !policy.Check(p, tmpl, policy.Subset).Compliant {
			return
		}
		for _, how := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for _, r := range requests {
				if !policy.Possible(r) {
					continue // AWS never authorizes the action on such a resource
				}
				allowed, err1 := policy.EvaluateUnder(p, r, how[0], how[1])
				inTemplate, err2 := policy.EvaluateUnder(tmpl, r, how[0], how[1])
				if err1 != nil || err2 != nil {
					continue // an operator Evaluate does not know decides nothing
				}
				if allowed.Allowed && !inTemplate.Allowed {
					t.Fatalf("UNSOUND: compliant, but the policy allows %+q (%v) and the template denies it\npolicy:   %+q\ntemplate: %+q",
						r, allowed, policyJSON, templateJSON)
				}
			}
		}
	})
}

const bruteForcePrefix = "arn:aws:logs:eu-west-1:111122223333:log-group:"

// bruteForceRequests is the domain: every log-group name of up to four
// characters from a, A, é, ':' and 😀 (the literals of the patterns, a
// character of two bytes, one beyond U+FFFF), for a few actions, callers and
// contexts.
func bruteForceRequests() []policy.Request {
	names := []string{""}
	for level, last := 0, []string{""}; level < 4; level++ {
		var next []string
		for _, s := range last {
			for _, c := range []string{"a", "A", "é", ":", "😀"} {
				next = append(next, s+c)
			}
		}
		names, last = append(names, next...), next
	}
	var out []policy.Request
	for _, name := range names {
		for _, caller := range []string{"arn:aws:iam::111122223333:role/r", "arn:aws-cn:iam::111122223333:role/r", "arn:aws:iam::444455556666:role/r"} {
			for i, ctx := range []map[string][]string{nil, {"aws:SourceVpc": {"v1"}}} {
				out = append(out, policy.Request{Principal: caller, Action: []string{"logs:a", "logs:Ab"}[i], Resource: bruteForcePrefix + name, Context: ctx})
			}
		}
	}
	return out
}

// choices reads the fuzzer's bytes as a sequence of small choices; past the
// end every choice is 0.
type choices struct {
	data []byte
	pos  int
}

func (c *choices) next(n int) int {
	if c.pos >= len(c.data) {
		return 0
	}
	c.pos++
	return int(c.data[c.pos-1]) % n
}

func pick[T any](c *choices, list []T) T { return list[c.next(len(list))] }

var (
	bruteForcePrincipals = []any{"*", map[string]any{"AWS": "111122223333"}, map[string]any{"AWS": "arn:aws:iam::111122223333:root"},
		map[string]any{"AWS": "arn:aws-cn:iam::111122223333:root"}, map[string]any{"AWS": "arn:aws:iam:eu-west-1:111122223333:root"},
		map[string]any{"AWS": "arn:aws:iam::111122223333:role/r"}, map[string]any{"AWS": "444455556666"}}
	bruteForceActions = []string{"logs:*", "logs:a*", "logs:A?", "LOGS:a", "logs:?*"}
	bruteForceSymbols = []string{"a", "A", "é", ":", "?", "*"}
	// What a changed policy puts in place of a template's wildcard: mostly
	// what it may stand for, sometimes what it must not.
	bruteForceQuestionFills = []string{":", "é", "😀", "a", "A", "", "aa", "?"}
	bruteForceStarFills     = []string{"", ":", "a:", "é", "😀", "*", "?", "a*", ":*", "*a"}
	bruteForceConditions    = []map[string]map[string]string{
		{"StringEquals": {"aws:SourceVpc": "v1"}}, {"StringEquals": {"AWS:SOURCEVPC": "v1"}}, {"StringEquals": {"aws:ſourceVpc": "v1"}},
		{"stringEquals": {"aws:SourceVpc": "v1"}}, {"StringLike": {"aws:SourceVpc": "v?"}}, {"StringNotEquals": {"aws:sourcevpc": "v1"}},
	}
)

// document builds one or two statements, the second maybe a Deny, either
// maybe with a NotResource or a NotPrincipal. A policy's statements are
// mostly the template's with a part changed, so that many are compliant or
// nearly so: the verdicts worth checking.
func (c *choices) document(template []map[string]any) []map[string]any {
	var statements []map[string]any
	for i := range 1 + c.next(2) {
		st := map[string]any{"Effect": "Allow"}
		if i > 0 && c.next(2) == 0 {
			st["Effect"] = "Deny"
		}
		principalKey := "Principal"
		if c.next(8) == 0 {
			principalKey = "NotPrincipal"
		}
		st[principalKey] = pick(c, bruteForcePrincipals)
		st["Action"] = pick(c, bruteForceActions)
		resourceKey := "Resource"
		if c.next(6) == 0 {
			resourceKey = "NotResource"
		}
		var resources []string
		for range 1 + c.next(2) {
			resources = append(resources, bruteForcePrefix+c.symbols(c.next(6)))
		}
		st[resourceKey] = resources
		if c.next(3) == 0 {
			st["Condition"] = pick(c, bruteForceConditions)
		}
		if len(template) > 0 && c.next(4) != 0 {
			st = c.changed(pick(c, template))
		}
		statements = append(statements, st)
	}
	return statements
}

// changed copies a statement and changes one part: a wildcard of a resource
// filled in, or its principal, action or condition replaced.
func (c *choices) changed(st map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range st {
		out[k] = v
	}
	switch c.next(4) {
	case 0:
		key := "Resource"
		if _, ok := out[key]; !ok {
			key = "NotResource"
		}
		resources := append([]string(nil), out[key].([]string)...)
		i := c.next(len(resources))
		if j := strings.IndexAny(resources[i][len(bruteForcePrefix):], "*?"); j >= 0 {
			at := len(bruteForcePrefix) + j
			fills := bruteForceStarFills
			if resources[i][at] == '?' {
				fills = bruteForceQuestionFills
			}
			resources[i] = resources[i][:at] + pick(c, fills) + resources[i][at+1:]
		}
		out[key] = resources
	case 1:
		delete(out, "NotPrincipal")
		out["Principal"] = pick(c, bruteForcePrincipals)
	case 2:
		out["Action"] = pick(c, bruteForceActions)
	default:
		out["Condition"] = pick(c, bruteForceConditions)
	}
	return out
}

func (c *choices) symbols(n int) string {
	var b strings.Builder
	for range n {
		b.WriteString(pick(c, bruteForceSymbols))
	}
	return b.String()
}

func marshalStatements(statements []map[string]any) []byte {
	out, err := json.Marshal(map[string]any{"Version": policy.Version2012, "Statement": statements})
	if err != nil {
		panic(err)
	}
	return out
}
