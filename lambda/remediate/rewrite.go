package remediate

import (
	"fmt"

	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/lambda/policy"
)

// Template is a policy to hold endpoints to and write on them: its text as
// written, parsed, and the service prefixes its endpoints carry.
type Template struct {
	Text    string
	Doc     *policy.Document
	Carries []string
}

// Written is the policy a rewrite puts on an endpoint.
type Written struct {
	Text string
	Doc  *policy.Document
	// How is config.RewriteNarrow when Text is the old policy within the
	// template's bounds, config.RewriteTemplate when it is the template.
	How string
	// Fallback says why a narrow rewrite writes the template instead.
	Fallback string
}

// Widening is one thing a written policy allows that the old one did not:
// a reason of the reverse check, with a request that proves it when there
// is one.
type Widening struct {
	Reason  string          `json:"reason"`
	Witness *policy.Witness `json:"witness,omitempty"`
}

// Rewrite is the policy vpce-guard writes for current, a policy that is
// not compliant with t (nil when it has none, or cannot be read): the
// template, or with how narrow the current policy within the template's
// bounds (policy.Narrow). A narrow rewrite writes the template itself when
// the current policy allows all the template does (the same access, easier
// to read), and when the bounds cannot be written, saying why in Fallback.
func Rewrite(current *policy.Document, t Template, how string) Written {
	template := Written{Text: t.Text, Doc: t.Doc, How: config.RewriteTemplate}
	if how != config.RewriteNarrow {
		return template
	}
	if current == nil {
		template.Fallback = "narrow rewrite: there is no policy to keep, so the template is written"
		return template
	}
	if v := policy.Check(t.Doc, current, policy.Subset, t.Carries...); v.Compliant {
		template.Fallback = "narrow rewrite: the policy allows all the template does, so the template is written, the same access"
		return template
	}
	text, err := policy.Narrow(current, t.Doc, t.Carries...)
	if err != nil {
		template.Fallback = fmt.Sprintf("narrow rewrite not written, the template is: %v", err)
		return template
	}
	doc, err := policy.Parse(text)
	if err != nil { // Narrow returns what parses
		template.Fallback = fmt.Sprintf("narrow rewrite not written, the template is: %v", err)
		return template
	}
	return Written{Text: string(text), Doc: doc, How: config.RewriteNarrow}
}

// maxWidenings bounds what an outcome says the rewrite grants: the rest is
// a count, as for reasons.
const maxWidenings = 5

// Widens is what w allows, through an endpoint that carries carries, that
// current did not, as an outcome's widens says it: nothing for a narrow
// rewrite, by construction. current nil is the policy AWS gives an
// endpoint without one, which allows everything; unreadable marks a current
// policy that could not be parsed, of which nothing can be said.
func (w Written) Widens(current *policy.Document, carries []string, unreadable bool) []Widening {
	out := []Widening{}
	switch {
	case w.How == config.RewriteNarrow:
		return out
	case unreadable:
		return append(out, Widening{Reason: "unknown: the current policy cannot be read, so what the written one grants beyond it cannot be told"})
	case current == nil:
		return out // the written policy is narrower than allowing everything
	}
	v := policy.Check(w.Doc, current, policy.Subset, carries...)
	reasons, more := policy.SplitMore(v.Reasons)
	for i, reason := range reasons {
		if i == maxWidenings {
			more += len(reasons) - maxWidenings
			break
		}
		g := Widening{Reason: reason}
		for j := range v.Witnesses {
			if v.Witnesses[j].Reason == reason {
				g.Witness = &v.Witnesses[j]
				break
			}
		}
		out = append(out, g)
	}
	if more > 0 {
		out = append(out, Widening{Reason: policy.MoreLine(more)})
	}
	return out
}
