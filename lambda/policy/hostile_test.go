package policy_test

import (
	"encoding/json"
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
