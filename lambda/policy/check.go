package policy

import (
	"fmt"
	"slices"
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
//
// What it says is bounded whatever the policy: at most MaxReasons reasons
// and MaxNotes notes, each at most MaxMessageLength characters, then a line
// "and N more".
func Check(policy, template *Document, mode Mode) Verdict {
	reasons := newMessages(MaxReasons)
	if mode == Exact {
		exactDifferences(policy, template, reasons)
	} else {
		newChecker(policy, template, reasons).run()
	}
	notes := newMessages(MaxNotes)
	readingNotes(policy, template, notes)
	return Verdict{Compliant: len(reasons.list) == 0, Reasons: reasons.result(), Notes: notes.result()}
}

// readingNotes names each condition this package cannot read one way: an
// operator it does not know, a key beyond ASCII. In the policy's Allows such
// a condition can only narrow, so it is left out; in its Denies it takes
// nothing back; a template condition is met only by the very same condition.
func readingNotes(policy, template *Document, notes *messages) {
	for _, d := range []struct {
		whose string
		doc   *Document
	}{{"the policy's", policy}, {"the template's", template}} {
		for i := range d.doc.statements {
			st := &d.doc.statements[i]
			for _, c := range st.Conditions {
				if c.readsOneWay() {
					continue
				}
				if !c.Known() {
					notes.add(fmt.Sprintf("%s %s: condition operator %q is unknown; the check reads it as possibly always true in an Allow and possibly never true in a Deny",
						d.whose, st.label(), c.Operator))
				} else {
					notes.add(fmt.Sprintf("%s %s: condition key %q has characters beyond ASCII, which case-insensitive readers may fold differently; the check reads it as possibly always true in an Allow and possibly never true in a Deny",
						d.whose, st.label(), c.Key))
				}
			}
		}
	}
}

// A patternSet is the compiled Action/NotAction or Resource/NotResource of one statement.
type patternSet struct {
	not      bool
	foldCase bool     // actions: texts compare without case
	texts    []string // as written
	patterns []pattern
}

// compiledStatement holds a statement's sets under one reading, and the
// parts of it that every reading shares, taken apart once.
type compiledStatement struct {
	*Statement
	actions, resources patternSet
	awsEntries         []awsEntry
	conditions         []compiledCondition
}

// compiledCondition is a condition with its operator taken apart and its key folded.
type compiledCondition struct {
	*Condition
	op  operator
	key string
}

// compileStatement compiles under how, broad (an over-approximation of what
// the statement reaches) or narrow (an under-approximation).
func compileStatement(st *Statement, version string, how reading) compiledStatement {
	cs := compiledStatement{Statement: st,
		actions:    patternSet{not: st.Action.Not, foldCase: true, texts: make([]string, 0, len(st.Action.Values)), patterns: make([]pattern, 0, len(st.Action.Values))},
		resources:  patternSet{not: st.Resource.Not, texts: make([]string, 0, len(st.Resource.Values)), patterns: make([]pattern, 0, len(st.Resource.Values))},
		awsEntries: readAWSEntries(st.Principal.AWS),
	}
	for i := range st.Conditions {
		c := &st.Conditions[i]
		cs.conditions = append(cs.conditions, compiledCondition{Condition: c, op: parseOperator(c.Operator), key: foldKey(c.Key)})
	}
	for _, a := range st.Action.Values {
		cs.actions.texts = append(cs.actions.texts, a)
		cs.actions.patterns = append(cs.actions.patterns, compileGlob(a, true))
	}
	// For a NotResource set the listed patterns are what is left out, so the
	// reading flips: reaching more means leaving out less.
	if st.Resource.Not {
		how = how.opposite()
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
	return a == b || foldCase && equalASCIIFold(a, b)
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
	list := joinBrief(s.texts, MaxMessageLength)
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

// listBrief is how long a list of the policy's inside a reason may grow, so
// that what follows it (the resource, why) still fits and tells reasons
// apart; a set prints up to a whole message.
const listBrief = MaxMessageLength / 3

// joinBrief joins texts with commas, stopping once the text is longer than limit.
func joinBrief(texts []string, limit int) string {
	var b strings.Builder
	for i, t := range texts {
		if i > 0 {
			b.WriteString(", ")
		}
		if b.Len() > limit {
			fmt.Fprintf(&b, "… (%d in all)", len(texts))
			break
		}
		b.WriteString(t)
	}
	return b.String()
}

// checker holds one Check in Subset mode: the four readings of the two
// documents, and what it has worked out so far, so that no pair of
// statements is compared twice.
type checker struct {
	policyAllows, policyDenies     []compiledStatement
	templateAllows, templateDenies []compiledStatement
	partition                      string // the template's, in which account principals are read
	reasons                        *messages
	indexes                        map[*Statement]*principalIndex
}

// compiledDocument holds a document's statements compiled under both
// readings: wide (what they may reach) and narrow (what they surely reach).
type compiledDocument struct {
	allowsWide, allowsNarrow, deniesWide, deniesNarrow []compiledStatement
	partition                                          string
	requests                                           []requestPatterns // by statement, for Evaluate
}

// compile returns the document's compiled form, making it on first use for
// documents that did not come from Parse.
func (d *Document) compile() *compiledDocument {
	if cd := d.compiled.Load(); cd != nil {
		return cd
	}
	cd := &compiledDocument{partition: documentPartition(d)}
	for i := range d.statements {
		st := &d.statements[i]
		wide, narrow := compileStatement(st, d.version, broad), compileStatement(st, d.version, narrow)
		cd.requests = append(cd.requests, compileRequestPatterns(st, d.version, wide.actions.patterns))
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
func newChecker(policy, template *Document, reasons *messages) *checker {
	p, t := policy.compile(), template.compile()
	return &checker{
		policyAllows: p.allowsWide, policyDenies: p.deniesNarrow,
		templateAllows: t.allowsNarrow, templateDenies: t.deniesWide,
		partition: t.partition, reasons: reasons,
	}
}

func (c *checker) run() {
	for i := range c.policyAllows {
		s := &c.policyAllows[i]
		c.escapesFromAllows(s)
		c.escapesFromDenies(s)
	}
}

// noRoom counts a reason that will not be kept, so that the caller can
// skip building its text: a policy may have thousands.
func (c *checker) noRoom() bool {
	if c.reasons.full() {
		c.reasons.count()
		return true
	}
	return false
}

// principalWithin reports, soundly, whether every caller inner names is named
// by outer, reading account principals in the template's partition.
func (c *checker) principalWithin(inner, outer *compiledStatement) bool {
	ip, op := inner.Principal, outer.Principal
	if !ip.Present && !op.Present {
		return true // both left out: the same principals, whatever AWS reads there
	}
	if !op.Present || op.Not {
		return false
	}
	if op.Any {
		return true
	}
	if !ip.Present || ip.Not || ip.Any {
		return false
	}
	idx := c.indexes[outer.Statement]
	if idx == nil {
		if c.indexes == nil {
			c.indexes = map[*Statement]*principalIndex{}
		}
		idx = newPrincipalIndex(op, outer.awsEntries, c.partition)
		c.indexes[outer.Statement] = idx
	}
	return idx.takesIn(ip, inner.awsEntries, c.partition)
}

// escapesFromAllows reports what an Allow of the policy reaches outside the
// template's Allow statements, each (action, resource) piece of it covered
// by one of them. Whether a template Allow covers a piece splits into
// whether it takes in the action and the resource, so each is worked out
// once per template Allow: the cost grows with actions plus resources, not
// with their product.
func (c *checker) escapesFromAllows(s *compiledStatement) {
	// Conditions on the policy's Allow only narrow it, so they are left out
	// here; the template's conditions must follow from the policy's.
	fits := func(a *compiledStatement) bool {
		return c.principalWithin(s, a) && conditionsImply(s.conditions, a.conditions)
	}
	if s.actions.not || s.resources.not {
		for i := range c.templateAllows {
			a := &c.templateAllows[i]
			if a.actions.contains(s.actions) && a.resources.contains(s.resources) && fits(a) {
				return
			}
		}
		if !c.noRoom() {
			c.reasons.add(fmt.Sprintf("%s allows %s on %s%s, which reaches beyond the template: %s",
				s.label(), s.actions, s.resources, principalNote(s.Principal), c.templateAllowSummary()))
		}
		return
	}
	var actionsIn, resourcesIn []*stateSet // per fitting template Allow
	for i := range c.templateAllows {
		a := &c.templateAllows[i]
		if !fits(a) {
			continue
		}
		actionsIn = append(actionsIn, eachContained(a.actions, s.actions))
		resourcesIn = append(resourcesIn, eachContained(a.resources, s.resources))
	}
	covered := newStateSet(len(s.actions.patterns))
	var escaping []string
	for ri := range s.resources.patterns {
		covered.clear()
		for i := range actionsIn {
			if resourcesIn[i].has(ri) {
				covered.union(actionsIn[i])
			}
		}
		escaping = escaping[:0]
		last := -1
		for ai := range s.actions.patterns {
			if !covered.has(ai) {
				escaping, last = append(escaping, s.actions.texts[ai]), ai
			}
		}
		if last < 0 || c.noRoom() {
			continue
		}
		c.reasons.add(fmt.Sprintf("%s allows %s on %s%s, %s", s.label(), joinBrief(escaping, listBrief), s.resources.texts[ri],
			principalNote(s.Principal), c.whyNotCovered(s, s.actions.single(last), s.resources.single(ri))))
	}
}

// eachContained marks the members of list (a plain list) that set contains.
func eachContained(set, list patternSet) *stateSet {
	in := newStateSet(len(list.patterns))
	for i, x := range list.patterns {
		if set.containsOne(list.texts[i], x) {
			in.add(i)
		}
	}
	return in
}

// whyNotCovered explains the first test that fails against the template's
// Allow statements that reach the action at all.
func (c *checker) whyNotCovered(s *compiledStatement, actions, resources patternSet) string {
	var sameAction []*compiledStatement
	for i := range c.templateAllows {
		if a := &c.templateAllows[i]; a.actions.contains(actions) {
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
		if !c.principalWithin(s, a) {
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
	return joinBrief(parts, MaxMessageLength)
}

func principalNote(p Principal) string {
	if !p.Present || p.Any && !p.Not {
		return ""
	}
	return " for " + p.String()
}

// escapesFromDenies reports what an Allow of the policy reaches inside a
// Deny of the template without a Deny of the policy taking it back.
func (c *checker) escapesFromDenies(s *compiledStatement) {
	for di := range c.templateDenies {
		d := &c.templateDenies[di]
		if !s.actions.intersects(d.actions) || !s.resources.intersects(d.resources) {
			continue
		}
		// Whether a policy Deny applies to the callers and conditions of
		// both s and d depends on neither piece: work it out once per Deny.
		premises := append(append([]compiledCondition(nil), s.conditions...), d.conditions...)
		applies := make([]int8, len(c.policyDenies)) // 0 unknown, 1 yes, -1 no
		takesBack := func(pd int) bool {
			if applies[pd] == 0 {
				applies[pd] = -1
				if c.denyApplies(s, d, &c.policyDenies[pd], premises) {
					applies[pd] = 1
				}
			}
			return applies[pd] == 1
		}
		var missing []string
		for _, actions := range d.actions.pieces() {
			if !s.actions.intersects(actions) {
				continue
			}
			for _, resources := range d.resources.pieces() {
				if s.resources.intersects(resources) && !c.policyDeniesAll(actions, resources, takesBack) {
					missing = append(missing, actions.String())
					break
				}
			}
		}
		if len(missing) > 0 && !c.noRoom() {
			where := ""
			if !d.resources.universal() {
				where = " on " + d.resources.String()
			}
			c.reasons.add(fmt.Sprintf("%s allows %s%s, which the template denies in %s, and no Deny in the policy takes it back",
				s.label(), joinBrief(missing, listBrief), where, d.label()))
		}
	}
}

// denyApplies reports whether the policy's Deny pd applies to every caller
// and condition for which both the policy's Allow s and the template's Deny
// d apply. A Deny with a condition that may be read two ways takes nothing back.
func (c *checker) denyApplies(s, d, pd *compiledStatement, premises []compiledCondition) bool {
	for _, r := range pd.conditions {
		if !r.readsOneWay() {
			return false
		}
	}
	return (c.principalWithin(s, pd) || c.principalWithin(d, pd)) && conditionsImply(premises, pd.conditions)
}

// policyDeniesAll reports whether some Deny of the policy that takesBack
// covers the given actions and resources.
func (c *checker) policyDeniesAll(actions, resources patternSet, takesBack func(int) bool) bool {
	for i := range c.policyDenies {
		pd := &c.policyDenies[i]
		if pd.actions.contains(actions) && pd.resources.contains(resources) && takesBack(i) {
			return true
		}
	}
	return false
}

// conditionsImply reports, soundly, whether the premises make every one of
// the required conditions hold.
func conditionsImply(premises, required []compiledCondition) bool {
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
func conditionImplies(p, r compiledCondition) bool {
	if p.key != r.key {
		return false
	}
	if p.Operator == r.Operator && sameStrings(p.Values, r.Values) {
		return true
	}
	po, ro := p.op, r.op
	if po.base == "" || po.base != ro.base || po.qualifier != ro.qualifier || po.qualifier == allValues {
		return false
	}
	if po.ifExists && !ro.ifExists {
		return false // p holds for a missing key, r does not
	}
	switch po.base {
	case "StringEquals", "StringEqualsIgnoreCase", "Bool":
		return within(p.Values, r.Values) // p allows fewer values
	case "StringNotEquals", "StringNotEqualsIgnoreCase":
		return within(r.Values, p.Values) // p excludes more values
	}
	return false
}

func sameStrings(a, b []string) bool {
	return within(a, b) && within(b, a)
}

// within reports whether every string of a is in b, in time linear in both:
// a policy may list thousands of condition values.
func within(a, b []string) bool {
	if len(a)*len(b) <= 256 { // short lists: a scan is cheaper than a map
		for _, v := range a {
			if !slices.Contains(b, v) {
				return false
			}
		}
		return true
	}
	in := make(map[string]bool, len(b))
	for _, v := range b {
		in[v] = true
	}
	for _, v := range a {
		if !in[v] {
			return false
		}
	}
	return true
}

func conditionSummary(conds []Condition) string {
	var parts []string
	for _, c := range conds {
		parts = append(parts, fmt.Sprintf("%s %s %s", c.Operator, c.Key, strings.Join(c.Values, "|")))
	}
	return joinBrief(parts, listBrief)
}
