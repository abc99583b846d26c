package policy_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/vpce-guard/vpce-guard/lambda/policy"
)

// obligations are what the property test holds every non-compliant verdict
// to, and what it found.
type obligations struct {
	proven, incomplete, narrowed, notNarrowable int
}

// checkNonCompliant holds a non-compliant verdict of Check(p, tmpl) to its
// promises: each witness is a request the policy allows and the template
// denies, for one of the reasons; a verdict on documents without
// conditions or policy variables, read alike under every reading, has a
// witness (the check is complete there); and the narrow rewrite of p is
// within the template and within p, as Check and Evaluate both say for the
// requests given.
func (o *obligations) checkNonCompliant(t *testing.T, p, tmpl *policy.Document, v policy.Verdict, requests []policy.Request, show string) {
	t.Helper()
	for _, w := range v.Witnesses {
		allowed, err1 := p.Evaluate(w.Request())
		inTemplate, err2 := tmpl.Evaluate(w.Request())
		if err1 != nil || err2 != nil || !allowed.Allowed || inTemplate.Allowed || !policy.Possible(w.Request()) {
			t.Errorf("WITNESS NOT A COUNTEREXAMPLE: %+v: policy %v %v, template %v %v\n%s", w, allowed, err1, inTemplate, err2, show)
		}
		if !slices.Contains(v.Reasons, w.Reason) {
			t.Errorf("a witness proves %q, which is not among the reasons %q", w.Reason, v.Reasons)
		}
	}
	if v.Proof == policy.ProofWitness {
		o.proven++
	} else if plain(p) && plain(tmpl) && policy.OnlyDocumentedReading(p, tmpl) && !budgetSpent(v) {
		if o.incomplete++; o.incomplete <= 5 {
			t.Errorf("INCOMPLETE: no witness for documents without conditions or variables: %q\n%s", v.Reasons, show)
		}
	}
	out, err := policy.Narrow(p, tmpl)
	if err != nil {
		if !errors.Is(err, policy.ErrNotNarrowable) {
			t.Errorf("Narrow: %v", err)
		}
		o.notNarrowable++
		return
	}
	o.narrowed++
	narrowed, err := policy.Parse(out)
	if err != nil {
		t.Fatalf("the narrowed policy does not parse: %v\n%s", err, out)
	}
	for _, against := range []*policy.Document{tmpl, p} {
		if v := policy.Check(narrowed, against, policy.Subset); !v.Compliant {
			t.Errorf("NARROWED BROADER: %q\nnarrowed: %s\n%s", v.Reasons, out, show)
		}
	}
	for _, r := range requests {
		if !policy.Possible(r) {
			continue
		}
		n, err1 := narrowed.Evaluate(r)
		before, err2 := p.Evaluate(r)
		inTemplate, err3 := tmpl.Evaluate(r)
		if err1 == nil && err2 == nil && err3 == nil && n.Allowed && (!before.Allowed || !inTemplate.Allowed) {
			t.Errorf("NARROWED BROADER for %+v: before %v, template %v\nnarrowed: %s\n%s", r, before, inTemplate, out, show)
		}
	}
}

// plain reports whether no statement has a condition or a policy variable.
func plain(d *policy.Document) bool {
	for _, st := range d.Statements() {
		if len(st.Conditions) > 0 || d.Version() == policy.Version2012 && slices.ContainsFunc(st.Resource.Values, func(r string) bool { return strings.Contains(r, "${") }) {
			return false
		}
	}
	return true
}

func budgetSpent(v policy.Verdict) bool {
	return slices.ContainsFunc(v.Notes, func(n string) bool { return strings.Contains(n, "ran out of the work") })
}
