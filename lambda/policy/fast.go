package policy

import (
	"fmt"
	"strings"
)

// checker holds one Check in Subset mode. A quick pass reads the policy
// broad and the template narrow and covers each piece of a policy Allow by
// one template Allow, and each Deny of the template by one of the policy:
// most policies pass it whole. What it cannot cover is a suspect, which the
// exact part (exact, made on first need) decides, reading both documents
// the same way, one reading at a time.
type checker struct {
	policy, template               *Document
	carries                        []string
	policyAllows, policyDenies     []compiledStatement
	templateAllows, templateDenies []compiledStatement
	partition                      string // the template's, in which account principals are read
	reasons, notes                 *messages
	witnesses                      []Witness
	indexes                        map[*Statement]*principalIndex
	x                              *exact
	identical                      map[*Document]map[string]bool // statements by effect and exactKey, when needed
	notedCarried                   map[*Statement]bool
	// work bounds the quick pass's comparisons of conditions, as the
	// exact part's budget bounds its own.
	work budget
}

// compiledDocument holds a document's statements compiled broad (what they
// may reach) and narrow (what they surely reach) for the quick pass, and as
// AWS documents them, for Evaluate and the exact part.
type compiledDocument struct {
	allowsWide, allowsNarrow, deniesWide, deniesNarrow []compiledStatement
	partition                                          string
	requests                                           []requestPatterns // by statement
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

func newChecker(policy, template *Document, carries []string, reasons, notes *messages) *checker {
	p, t := policy.compile(), template.compile()
	return &checker{
		policy: policy, template: template, carries: carries,
		policyAllows: p.allowsWide, policyDenies: p.deniesNarrow,
		templateAllows: t.allowsNarrow, templateDenies: t.deniesWide,
		partition: t.partition, reasons: reasons, notes: notes, work: budget{left: workBudget},
	}
}

func (c *checker) exact() *exact {
	if c.x == nil {
		c.x = newExact(c.policy, c.template, c.carries)
	}
	return c.x
}

func (c *checker) run() {
	for i := range c.policyAllows {
		s := &c.policyAllows[i]
		if suspects := c.allowSuspects(s, i); len(suspects) > 0 && !c.copied(s.Statement, c.template) {
			for _, sus := range suspects {
				c.confirm(sus)
			}
		}
		for _, sus := range c.denySuspects(s, i) {
			c.confirm(sus)
		}
	}
	if c.x != nil && c.x.budget.spent || c.work.spent && len(c.reasons.list) > 0 {
		c.notes.add("the check ran out of the work it may do on one policy: what it could not decide in time it calls escaping, without proof")
	}
}

// copied reports whether the other document (the template or the policy)
// has a statement of the same effect written exactly as st is, Sid aside,
// in a version that reads it alike: the same requests under any reading.
// Only asked once the quick pass has failed, so that a policy is within
// its own copy whatever the statement holds.
func (c *checker) copied(st *Statement, other *Document) bool {
	if c.identical == nil {
		c.identical = map[*Document]map[string]bool{}
	}
	keys := c.identical[other]
	if keys == nil {
		keys = map[string]bool{}
		for i := range other.statements {
			o := &other.statements[i]
			keys[string(o.Effect)+" "+exactKey(o, other.version)] = true
		}
		c.identical[other] = keys
	}
	version := c.policy.version
	if other == c.policy {
		version = c.template.version
	}
	return keys[string(st.Effect)+" "+exactKey(st, version)]
}

// noRoom counts a reason that will not be kept, so that the caller can
// skip building its text and deciding it: a policy may have thousands.
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

// suspect is a piece of a policy Allow that the quick pass could not cover:
// its allow-th Allow, some of its actions (nil: all) on one of its
// resources (-1: all); or, with deny set, that Allow within the template's
// deny-th Deny, some of the Deny's actions (nil: all).
type suspect struct {
	s        *compiledStatement
	allow    int
	actions  []int
	resource int
	deny     *compiledStatement
	denyAt   int
}

// allowSuspects are the pieces of a policy Allow that no single template
// Allow covers, each (action, resource) piece checked against each template
// Allow. Whether a template Allow covers a piece splits into whether it
// takes in the action and the resource, so each is worked out once per
// template Allow: the cost grows with actions plus resources, not with
// their product.
func (c *checker) allowSuspects(s *compiledStatement, at int) []suspect {
	// The tests whyOutside explains with. Conditions on the policy's Allow
	// only narrow it, so they are left out here; the template's conditions
	// must follow from the policy's.
	test := c.patternTest(s, s.actions, s.resources)
	fits := func(a *compiledStatement) bool { return test(a, principalPart) && test(a, conditionPart) }
	if s.actions.not || s.resources.not {
		for i := range c.templateAllows {
			if a := &c.templateAllows[i]; test(a, actionPart) && test(a, resourcePart) && fits(a) {
				return nil
			}
		}
		return []suspect{{s: s, allow: at, resource: -1}}
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
	var out []suspect
	for ri := range s.resources.patterns {
		covered.clear()
		for i := range actionsIn {
			if resourcesIn[i].has(ri) {
				covered.union(actionsIn[i])
			}
		}
		var escaping []int
		for ai := range s.actions.patterns {
			if !covered.has(ai) {
				escaping = append(escaping, ai)
			}
		}
		if len(escaping) > 0 {
			out = append(out, suspect{s: s, allow: at, actions: escaping, resource: ri})
		}
	}
	return out
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

// denySuspects are the template's Denies that reach into a policy Allow
// without a policy Deny taking them back, with the Deny's action pieces
// that are not taken back.
func (c *checker) denySuspects(s *compiledStatement, at int) []suspect {
	var out []suspect
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
		var missing []int
		for ai, actions := range d.actions.pieces() {
			if !s.actions.intersects(actions) {
				continue
			}
			for _, resources := range d.resources.pieces() {
				if s.resources.intersects(resources) && !c.policyDeniesAll(actions, resources, takesBack) {
					missing = append(missing, ai)
					break
				}
			}
		}
		if len(missing) == 0 || c.copied(d.Statement, c.policy) {
			continue
		}
		sus := suspect{s: s, allow: at, resource: -1, deny: d, denyAt: di, actions: missing}
		if d.actions.not {
			sus.actions = nil
		}
		out = append(out, sus)
	}
	return out
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
	return (c.principalWithin(s, pd) || c.principalWithin(d, pd)) && conditionsImply(premises, pd.conditions, &c.work)
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

// coverPart is one of the tests a template Allow must pass to take in a request.
type coverPart uint8

const (
	actionPart coverPart = iota
	resourcePart
	principalPart
	conditionPart
)

// whyOutside says why no template Allow takes in a piece of a policy
// Allow, as test sees each part of each template Allow: none takes in the
// action; or, among those that do, the first that fails on principal or
// condition, else the resources they allow. "" when some Allow passes every
// test. The quick pass covers a piece by the same tests (patternTest),
// batched.
func (c *checker) whyOutside(test func(a *compiledStatement, part coverPart) bool) string {
	var sameAction []*compiledStatement
	for i := range c.templateAllows {
		if a := &c.templateAllows[i]; test(a, actionPart) {
			sameAction = append(sameAction, a)
		}
	}
	if len(sameAction) == 0 {
		return "an action outside the template, which allows " + c.templateAllowSummary()
	}
	var where []string
	for _, a := range sameAction {
		switch {
		case !test(a, resourcePart):
			where = append(where, a.resources.String())
		case !test(a, principalPart):
			return fmt.Sprintf("where the template allows it only for principal %s", a.Principal)
		case !test(a, conditionPart):
			return fmt.Sprintf("without the condition the template requires there (%s)", conditionSummary(a.Conditions))
		default:
			return ""
		}
	}
	return "outside " + strings.Join(where, "; ")
}

// patternTest is the quick pass's test of a piece of s: actions and
// resources within the template Allow's, callers and conditions too.
func (c *checker) patternTest(s *compiledStatement, actions, resources patternSet) func(*compiledStatement, coverPart) bool {
	return func(a *compiledStatement, part coverPart) bool {
		switch part {
		case actionPart:
			return a.actions.contains(actions)
		case resourcePart:
			return a.resources.contains(resources)
		case principalPart:
			return c.principalWithin(s, a)
		}
		return conditionsImply(s.conditions, a.conditions, &c.work)
	}
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

func conditionSummary(conds []Condition) string {
	var parts []string
	for _, c := range conds {
		parts = append(parts, fmt.Sprintf("%s %s %s", c.Operator, c.Key, strings.Join(c.Values, "|")))
	}
	return joinBrief(parts, listBrief)
}
