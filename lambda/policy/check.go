package policy

import (
	"fmt"
	"strings"
)

// Mode chooses how Check compares a policy with a template.
type Mode string

const (
	// Subset: the policy may allow anything the template allows, and no more.
	Subset Mode = "subset"
	// Exact: the policy must be the template, up to formatting, order, case of
	// actions, duplicates and Sids.
	Exact Mode = "exact"
)

// ParseMode reads "subset" or "exact".
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case Subset, Exact:
		return Mode(s), nil
	}
	return "", fmt.Errorf("check mode %q: use %q or %q", s, Subset, Exact)
}

// Verdict is the result of a check. A non-compliant verdict has at least one reason.
type Verdict struct {
	Compliant bool
	Reasons   []string
	// Notes say what the check could not read exactly and how it read it
	// instead, whatever the verdict: condition operators it does not know.
	Notes []string
}

// Check decides whether policy grants nothing beyond template.
//
// In Subset mode the answer is sound: Compliant is true only if every request
// the policy allows is allowed by the template. Where the reasoning would need
// more than this package knows (a union of template statements, an unknown
// operator in the template, a Deny in the policy carving out an over-broad
// Allow), it answers non-compliant; rewriting to the template is then safe.
func Check(policy, template *Document, mode Mode) Verdict {
	var reasons []string
	if mode == Exact {
		reasons = exactDifferences(policy, template)
	} else {
		reasons = newChecker(policy, template).reasons()
	}
	return Verdict{Compliant: len(reasons) == 0, Reasons: reasons, Notes: unknownOperatorNotes(policy, template)}
}

// unknownOperatorNotes names each condition this package cannot read one
// way: an operator it does not know, a key beyond ASCII. In the policy's
// Allows such a condition can only narrow, so it is left out; in its Denies
// it takes nothing back; a template condition is met only by the very same
// condition.
func unknownOperatorNotes(policy, template *Document) []string {
	var notes []string
	for _, d := range []struct {
		whose string
		doc   *Document
	}{{"the policy's", policy}, {"the template's", template}} {
		for i := range d.doc.Statements {
			st := &d.doc.Statements[i]
			for _, c := range st.Conditions {
				switch {
				case !c.Known():
					notes = append(notes, fmt.Sprintf("%s %s: condition operator %q is unknown; the check reads it as possibly always true in an Allow and possibly never true in a Deny",
						d.whose, st.label(), c.Operator))
				case !c.readsOneWay():
					notes = append(notes, fmt.Sprintf("%s %s: condition key %q has characters beyond ASCII, which case-insensitive readers may fold differently; the check reads it as possibly always true in an Allow and possibly never true in a Deny",
						d.whose, st.label(), c.Key))
				}
			}
		}
	}
	return notes
}

// A patternSet is the compiled Action/NotAction or Resource/NotResource of one statement.
type patternSet struct {
	not      bool
	foldCase bool     // actions: texts compare without case
	texts    []string // as written
	patterns []pattern
}

// compiledStatement holds a statement's sets under one reading.
type compiledStatement struct {
	*Statement
	actions, resources patternSet
}

// compileStatement compiles for an over-approximation (wide) or an
// under-approximation (!wide) of what the statement reaches.
func compileStatement(st *Statement, version string, wide bool) compiledStatement {
	cs := compiledStatement{Statement: st,
		actions:   patternSet{not: st.Action.Not, foldCase: true, texts: make([]string, 0, len(st.Action.Values)), patterns: make([]pattern, 0, len(st.Action.Values))},
		resources: patternSet{not: st.Resource.Not, texts: make([]string, 0, len(st.Resource.Values)), patterns: make([]pattern, 0, len(st.Resource.Values))},
	}
	for _, a := range st.Action.Values {
		cs.actions.texts = append(cs.actions.texts, a)
		cs.actions.patterns = append(cs.actions.patterns, compileGlob(a, true))
	}
	// For a NotResource set the listed patterns are what is left out, so the
	// reading flips: reaching more means leaving out less.
	how := narrow
	if wide != st.Resource.Not {
		how = broad
	}
	for _, r := range st.Resource.Values {
		p, ok := compileResource(r, version, how, nil)
		if !ok {
			continue // a pattern that may match nothing is dropped from the narrow reading
		}
		cs.resources.texts = append(cs.resources.texts, r)
		cs.resources.patterns = append(cs.resources.patterns, p)
	}
	return cs
}

// containsOne reports, soundly, whether the set takes in every string of x.
func (s patternSet) containsOne(xText string, x pattern) bool {
	if s.not {
		for _, y := range s.patterns {
			if x.intersects(y) {
				return false
			}
		}
		return true
	}
	for i, y := range s.patterns {
		if sameText(s.texts[i], xText, s.foldCase) || x.subsetOf(y) {
			return true
		}
	}
	return false
}

// sameText reports whether two patterns are written alike, which makes them
// match alike whatever AWS's exact reading of wildcards, except where a policy
// variable is read differently by two policy versions.
func sameText(a, b string, foldCase bool) bool {
	if strings.Contains(a, "${") {
		return false
	}
	return a == b || foldCase && asciiLowerString(a) == asciiLowerString(b)
}

// contains reports, soundly, whether the set takes in all of other.
func (s patternSet) contains(other patternSet) bool {
	if !other.not {
		for i, x := range other.patterns {
			if !s.containsOne(other.texts[i], x) {
				return false
			}
		}
		return true
	}
	if !s.not { // everything but a few: only a universal pattern holds that
		for _, y := range s.patterns {
			if y.isUniversal() {
				return true
			}
		}
		return false
	}
	// all but X contains all but Y when X is within Y.
	for i, x := range s.patterns {
		if !other.negated().containsOne(s.texts[i], x) {
			return false
		}
	}
	return true
}

// intersects reports whether the two sets may share a member; true when unsure.
func (s patternSet) intersects(other patternSet) bool {
	switch {
	case s.not && other.not:
		return true
	case s.not:
		return other.intersects(s)
	case other.not:
		for i, x := range s.patterns {
			if !other.negated().containsOne(s.texts[i], x) {
				return true
			}
		}
		return false
	}
	for _, x := range s.patterns {
		for _, y := range other.patterns {
			if x.intersects(y) {
				return true
			}
		}
	}
	return false
}

// negated is the list of a Not set read positively.
func (s patternSet) negated() patternSet {
	s.not = false
	return s
}

// single is the set holding just the i-th pattern.
func (s patternSet) single(i int) patternSet {
	s.texts, s.patterns = s.texts[i:i+1], s.patterns[i:i+1]
	return s
}

// pieces splits a list into one set per pattern, so that each can be covered
// on its own; a Not set stays whole, even when its list is empty.
func (s patternSet) pieces() []patternSet {
	if s.not {
		return []patternSet{s}
	}
	out := make([]patternSet, len(s.patterns))
	for i := range s.patterns {
		out[i] = s.single(i)
	}
	return out
}

// universal reports whether the set is just "*".
func (s patternSet) universal() bool {
	return !s.not && len(s.patterns) == 1 && s.patterns[0].isUniversal()
}

func (s patternSet) String() string {
	list := strings.Join(s.texts, ", ")
	switch {
	case s.not && list == "":
		return "everything"
	case s.not:
		return "everything except " + list
	case list == "":
		return "nothing"
	}
	return list
}

type checker struct {
	policyAllows, policyDenies     []compiledStatement
	templateAllows, templateDenies []compiledStatement
}

// compiledDocument holds a document's statements compiled under both
// readings: wide (what they may reach) and narrow (what they surely reach).
type compiledDocument struct {
	allowsWide, allowsNarrow, deniesWide, deniesNarrow []compiledStatement
}

// compile returns the document's compiled form, making it on first use for
// documents that did not come from Parse.
func (d *Document) compile() *compiledDocument {
	if cd := d.compiled.Load(); cd != nil {
		return cd
	}
	cd := &compiledDocument{}
	for i := range d.Statements {
		st := &d.Statements[i]
		wide, narrow := compileStatement(st, d.Version, true), compileStatement(st, d.Version, false)
		if st.Effect == Allow {
			cd.allowsWide, cd.allowsNarrow = append(cd.allowsWide, wide), append(cd.allowsNarrow, narrow)
		} else {
			cd.deniesWide, cd.deniesNarrow = append(cd.deniesWide, wide), append(cd.deniesNarrow, narrow)
		}
	}
	d.compiled.CompareAndSwap(nil, cd) // a concurrent first use computes the same
	return cd
}

// newChecker reads the policy widely (its Allows reach at most this, its
// Denies at least that) and the template narrowly, so that every doubt
// counts against compliance.
func newChecker(policy, template *Document) *checker {
	p, t := policy.compile(), template.compile()
	return &checker{
		policyAllows: p.allowsWide, policyDenies: p.deniesNarrow,
		templateAllows: t.allowsNarrow, templateDenies: t.deniesWide,
	}
}

func (c *checker) reasons() []string {
	var reasons []string
	for _, s := range c.policyAllows {
		reasons = append(reasons, c.escapesFromAllows(s)...)
		reasons = append(reasons, c.escapesFromDenies(s)...)
	}
	return reasons
}

// escapesFromAllows lists what an Allow of the policy reaches outside the
// template's Allow statements, each piece of it covered by one of them.
func (c *checker) escapesFromAllows(s compiledStatement) []string {
	// Conditions on the policy's Allow only narrow it, so they are left out
	// here; the template's conditions must follow from the policy's.
	covers := func(a compiledStatement, actions, resources patternSet) bool {
		return a.actions.contains(actions) && a.resources.contains(resources) &&
			principalWithin(s.Principal, a.Principal) && conditionsImply(s.Conditions, a.Conditions)
	}
	if s.actions.not || s.resources.not {
		for _, a := range c.templateAllows {
			if covers(a, s.actions, s.resources) {
				return nil
			}
		}
		return []string{fmt.Sprintf("%s allows %s on %s%s, which reaches beyond the template: %s",
			s.label(), s.actions, s.resources, principalNote(s.Principal), c.templateAllowSummary())}
	}
	var reasons []string
	for ri := range s.resources.patterns {
		var escaping []string
		var why string
		for ai := range s.actions.patterns {
			actions, resources := s.actions.single(ai), s.resources.single(ri)
			covered := false
			for _, a := range c.templateAllows {
				if covers(a, actions, resources) {
					covered = true
					break
				}
			}
			if !covered {
				escaping = append(escaping, s.actions.texts[ai])
				why = c.whyNotCovered(s, actions, resources)
			}
		}
		if len(escaping) > 0 {
			reasons = append(reasons, fmt.Sprintf("%s allows %s on %s%s, %s",
				s.label(), strings.Join(escaping, ", "), s.resources.texts[ri], principalNote(s.Principal), why))
		}
	}
	return reasons
}

// whyNotCovered explains the first test that fails against the template's
// Allow statements that reach the action at all.
func (c *checker) whyNotCovered(s compiledStatement, actions, resources patternSet) string {
	var sameAction []compiledStatement
	for _, a := range c.templateAllows {
		if a.actions.contains(actions) {
			sameAction = append(sameAction, a)
		}
	}
	if len(sameAction) == 0 {
		return "an action outside the template, which allows " + c.templateAllowSummary()
	}
	var where []string
	for _, a := range sameAction {
		if !a.resources.contains(resources) {
			where = append(where, a.resources.String())
			continue
		}
		if !principalWithin(s.Principal, a.Principal) {
			return fmt.Sprintf("where the template allows it only for principal %s", a.Principal)
		}
		return fmt.Sprintf("without the condition the template requires there (%s)", conditionSummary(a.Conditions))
	}
	return "outside " + strings.Join(where, "; ")
}

func (c *checker) templateAllowSummary() string {
	var parts []string
	for _, a := range c.templateAllows {
		parts = append(parts, a.actions.String()+" on "+a.resources.String())
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, "; ")
}

func principalNote(p Principal) string {
	if !p.Present || p.Any && !p.Not {
		return ""
	}
	return " for " + p.String()
}

// escapesFromDenies lists what an Allow of the policy reaches inside a Deny
// of the template without a Deny of the policy taking it back.
func (c *checker) escapesFromDenies(s compiledStatement) []string {
	var reasons []string
	for _, d := range c.templateDenies {
		if !s.actions.intersects(d.actions) || !s.resources.intersects(d.resources) {
			continue
		}
		var missing []string
		for _, actions := range d.actions.pieces() {
			if !s.actions.intersects(actions) {
				continue
			}
			for _, resources := range d.resources.pieces() {
				if s.resources.intersects(resources) && !c.policyDeniesAll(s, d, actions, resources) {
					missing = append(missing, actions.String())
					break
				}
			}
		}
		if len(missing) > 0 {
			where := ""
			if !d.resources.universal() {
				where = " on " + d.resources.String()
			}
			reasons = append(reasons, fmt.Sprintf("%s allows %s%s, which the template denies in %s, and no Deny in the policy takes it back",
				s.label(), strings.Join(missing, ", "), where, d.label()))
		}
	}
	return reasons
}

// policyDeniesAll reports whether some Deny of the policy applies to at least
// every request where both the policy's Allow s and the template's Deny d
// apply, for the given actions and resources.
func (c *checker) policyDeniesAll(s, d compiledStatement, actions, resources patternSet) bool {
	premises := append(append([]Condition(nil), s.Conditions...), d.Conditions...)
	for _, pd := range c.policyDenies {
		if !conditionsReadOneWay(pd.Conditions) {
			continue // a Deny that may be read as never applying takes nothing back
		}
		if pd.actions.contains(actions) && pd.resources.contains(resources) &&
			(principalWithin(s.Principal, pd.Principal) || principalWithin(d.Principal, pd.Principal)) &&
			conditionsImply(premises, pd.Conditions) {
			return true
		}
	}
	return false
}

func conditionsReadOneWay(conds []Condition) bool {
	for _, c := range conds {
		if !c.readsOneWay() {
			return false
		}
	}
	return true
}

// principalWithin reports, soundly, whether every caller inner names is named
// by outer.
func principalWithin(inner, outer Principal) bool {
	if !inner.Present && !outer.Present {
		return true // both left out: the same principals, whatever AWS reads there
	}
	if !outer.Present || outer.Not {
		return false
	}
	if outer.Any {
		return true
	}
	if !inner.Present || inner.Not || inner.Any {
		return false
	}
	for _, e := range inner.AWS {
		covered := false
		for _, o := range outer.AWS {
			if e == o || accountCovers(o, e) {
				covered = true
				break
			}
		}
		if !covered {
			return false
		}
	}
	return listWithin(inner.Service, outer.Service) && listWithin(inner.Federated, outer.Federated) &&
		listWithin(inner.CanonicalUser, outer.CanonicalUser)
}

// accountCovers reports whether the account entry outer takes in the entry inner.
func accountCovers(outer, inner string) bool {
	account, ok := wholeAccount(outer)
	return ok && accountOf(inner) == account
}

func listWithin(inner, outer []string) bool {
	for _, v := range inner {
		found := false
		for _, o := range outer {
			if v == o {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// conditionsImply reports, soundly, whether the premises make every one of
// the required conditions hold.
func conditionsImply(premises, required []Condition) bool {
	for _, r := range required {
		implied := false
		for _, p := range premises {
			if conditionImplies(p, r) {
				implied = true
				break
			}
		}
		if !implied {
			return false
		}
	}
	return true
}

// conditionImplies recognises the safe cases: the same condition, or the same
// operator and key with values that narrow it further.
func conditionImplies(p, r Condition) bool {
	if foldKey(p.Key) != foldKey(r.Key) {
		return false
	}
	if p.Operator == r.Operator && sameStrings(p.Values, r.Values) {
		return true
	}
	po, ro := parseOperator(p.Operator), parseOperator(r.Operator)
	if po.base == "" || po.base != ro.base || po.qualifier != ro.qualifier || po.qualifier == allValues {
		return false
	}
	if po.ifExists && !ro.ifExists {
		return false // p holds for a missing key, r does not
	}
	switch po.base {
	case "StringEquals", "StringEqualsIgnoreCase", "Bool":
		return subsetOfStrings(p.Values, r.Values) // p allows fewer values
	case "StringNotEquals", "StringNotEqualsIgnoreCase":
		return subsetOfStrings(r.Values, p.Values) // p excludes more values
	}
	return false
}

func sameStrings(a, b []string) bool {
	return subsetOfStrings(a, b) && subsetOfStrings(b, a)
}

func subsetOfStrings(a, b []string) bool {
	return listWithin(a, b)
}

func conditionSummary(conds []Condition) string {
	var parts []string
	for _, c := range conds {
		parts = append(parts, fmt.Sprintf("%s %s %s", c.Operator, c.Key, strings.Join(c.Values, "|")))
	}
	return strings.Join(parts, "; ")
}
