package policy_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vpce-guard/vpce-guard/internal/hostile"
	"github.com/vpce-guard/vpce-guard/lambda/policy"
)

// go test -run '^$' -bench CheckHostile -benchmem -cpu 1 ./lambda/policy/

func TestHostilePoliciesAreWithinTheLimit(t *testing.T) {
	t.Parallel()
	for name, doc := range hostile.Policies() {
		n := utf8.RuneCountInString(doc)
		if n > policy.MaxPolicyLength || n < policy.MaxPolicyLength*9/10 {
			t.Errorf("%s: %d characters, want 90%% to 100%% of %d", name, n, policy.MaxPolicyLength)
		}
		if _, err := policy.Parse([]byte(doc)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// What a verdict says is bounded: a hostile policy gets at most MaxReasons
// reasons and MaxNotes notes and a line for the rest, each line short, all
// of it well under the 16 KB an outcome may take.
func TestHostileVerdictsAreBrief(t *testing.T) {
	t.Parallel()
	tmpl := mustParse(t, hostile.StrictTemplate)
	for name, doc := range hostile.Policies() {
		v := policy.Check(mustParse(t, doc), tmpl, policy.Subset)
		if v.Compliant {
			t.Errorf("%s: compliant, but every shape is broader than the template", name)
		}
		if len(v.Reasons) > policy.MaxReasons+1 || len(v.Notes) > policy.MaxNotes+1 {
			t.Errorf("%s: %d reasons and %d notes", name, len(v.Reasons), len(v.Notes))
		}
		for _, s := range append(v.Reasons, v.Notes...) {
			if n := utf8.RuneCountInString(s); n > policy.MaxMessageLength {
				t.Errorf("%s: a message of %d characters: %.80q", name, n, s)
			}
		}
		out, _ := json.Marshal(v)
		if len(out) > 13<<10 {
			t.Errorf("%s: the verdict is %d bytes as JSON", name, len(out))
		}
		t.Logf("%s: %d reasons, %d notes, %d bytes as JSON", name, len(v.Reasons), len(v.Notes), len(out))
	}
}

func BenchmarkCheckHostile(b *testing.B) {
	policies := hostile.Policies()
	for _, name := range hostile.Names {
		b.Run(name, func(b *testing.B) {
			p, tmpl := benchParse(b, policies[name]), benchParse(b, hostile.StrictTemplate)
			b.ReportAllocs()
			var v policy.Verdict
			for b.Loop() {
				v = policy.Check(p, tmpl, policy.Subset)
			}
			size := 0
			for _, s := range append(v.Reasons, v.Notes...) {
				size += len(s)
			}
			b.ReportMetric(float64(size), "message-bytes")
		})
	}
}

func TestBrief(t *testing.T) {
	t.Parallel()
	var list []string
	for i := range 20 {
		list = append(list, fmt.Sprintf("reason %d", i), fmt.Sprintf("reason %d", i))
	}
	got := policy.Brief(list, 15)
	if len(got) != 16 || got[14] != "reason 14" || got[15] != "and 5 more" {
		t.Errorf("20 reasons, each twice: %q", got)
	}
	for _, long := range []string{strings.Repeat("a", 1000), strings.Repeat("<", 300), strings.Repeat("é", 600), strings.Repeat("😀", 400)} {
		s := policy.Brief([]string{long}, 1)[0]
		out, _ := json.Marshal(s)
		if n := utf8.RuneCountInString(s); n > policy.MaxMessageLength || len(out) > 640+2 || !strings.HasSuffix(s, "…") || !utf8.ValidString(s) {
			t.Errorf("%.10q…: cut to %d characters, %d bytes of JSON: %.20q", long, n, len(out), s)
		}
	}
	if s := policy.Brief([]string{strings.Repeat("a", 512)}, 1)[0]; len(s) != 512 {
		t.Errorf("a message of exactly 512 characters is cut to %d", len(s))
	}
}

// questionMarks is a policy and a template whose patterns make the search
// of the exact check exponential: a '*' then a letter then n '?' is an
// automaton of 2^n sets of states. The check must stop within its budget
// and call the policy non-compliant without proof, saying so.
func questionMarks(n int) (policyJSON, templateJSON string) {
	q := strings.Repeat("?", n)
	const group = "arn:aws:logs:eu-west-1:111122223333:log-group:"
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:PutLogEvents","Resource":"` + group + `*a` + q + `"}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":["` + group + `*a` + q + `b*","` + group + `*b` + q + `*"]}]}`
}

func TestCheckWorkIsBounded(t *testing.T) {
	t.Parallel()
	p, tmpl := questionMarks(16)
	v := policy.Check(mustParse(t, p), mustParse(t, tmpl), policy.Subset)
	if v.Compliant || v.Proof != policy.ProofUnproven || !budgetSpent(v) {
		t.Errorf("compliant %v, proof %q, notes %q: want a non-compliant verdict, unproven, that says the budget ran out", v.Compliant, v.Proof, v.Notes)
	}
}

func BenchmarkCheckWorkIsBounded(b *testing.B) {
	p, tmpl := questionMarks(16)
	pd, td := benchParse(b, p), benchParse(b, tmpl)
	b.ReportAllocs()
	for b.Loop() {
		policy.Check(pd, td, policy.Subset)
	}
}

// SplitMore reads back the count Brief and Check put last, and leaves a
// list without one as it is.
func TestSplitMore(t *testing.T) {
	t.Parallel()
	kept, more := policy.SplitMore(policy.Brief([]string{"a", "b", "c", "d"}, 2))
	if !slices.Equal(kept, []string{"a", "b"}) || more != 2 {
		t.Errorf("kept %q, more %d; want [a b], 2", kept, more)
	}
	if kept, more := policy.SplitMore([]string{"a", "and so on"}); len(kept) != 2 || more != 0 {
		t.Errorf("kept %q, more %d; want the list as it is", kept, more)
	}
	if got := policy.MoreLine(3); got != "and 3 more" {
		t.Errorf("MoreLine(3) = %q", got)
	}
}
