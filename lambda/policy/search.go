package policy

import (
	"slices"
	"strings"
)

// The exact part of Check. A statement is a region of requests: a product
// of what it takes in on each dimension (callers, actions, resources, and
// each condition). The requests a policy Allow s lets through and the
// template does not are s minus the regions of the policy's Denies and the
// template's Allows, or s within a template Deny minus the policy's
// Denies. split takes one region away at a time: what is left of a box
// outside a region is, dimension by dimension, the part outside it there
// and inside it in the dimensions before, so the search tries each part in
// turn until one keeps a request, which it makes concrete. Each dimension
// is decided exactly: callers and known actions as bit sets over
// representatives of every class the documents tell apart, strings by the
// finder. Conditions are the one inexact dimension: a part is dropped only
// when its clauses contradict each other in a way implication recognises.
//
// Requests are read one way at a time (readings), the same way for both
// documents, and a policy is compliant when no reading lets a request
// escape: sound whichever reading AWS takes, and exact under each.

// region is one statement read one way, on the dimensions split cuts along.
type region struct {
	st           *Statement
	principals   bitset
	actions      *patternList
	actionsNot   bool
	known        bitset // the known actions it takes in
	resources    *patternList
	resourcesNot bool
	// byValue is the pattern of each Resource value, nil where the reading
	// drops it; for the pieces a reason names.
	byValue    []pattern
	conditions []compiledCondition
	// twoWays is set when a condition reads two ways: as a region that
	// covers, the statement then covers nothing, but where the very same
	// condition holds.
	twoWays bool
}

// side says which way a region is read when a reading leaves room: the
// regions a request may escape from (the policy's Allows, the template's
// Denies) as wide as they may be, those that cover (the template's Allows,
// the policy's Denies) as narrow. Only policy variables leave room once
// the reading is fixed.
type side bool

const (
	escaping side = true
	covering side = false
)

// model is both documents read one way.
type model struct {
	how                            reading
	policyAllows, policyDenies     []*region
	templateAllows, templateDenies []*region
}

// box is a region being split: a set of requests, on each dimension.
type box struct {
	principals bitset
	// known holds the known actions of the box, or unknown is set for a box
	// of actions the table does not know, described by actions alone.
	known     bitset
	unknown   bool
	actions   stringSet
	resources stringSet
	clauses   []clause
	// named is the class's formats with a name in every placeholder, which
	// a witness's resource is taken from when the box holds one.
	named *patternList
	// unformatted is set for a class of actions without resource types,
	// which a policy grants only on "*": a statement naming a resource
	// that is not valid for an action does not apply to it (Service
	// Authorization Reference, the actions table). The check still reads
	// such an action as on any resource; a witness names "*".
	unformatted bool
}

// escape is what a search found: no request, or one (escapes), made
// concrete when every dimension could be.
type escape struct {
	escapes bool
	request *Request
	// unsure is set when the escape is only the budget running out.
	unsure bool
	// notStar is set for an escape of actions without resource types on
	// resources other than "*", or of resources whose names AWS never
	// gives, which AWS never asks about: no request.
	notStar bool
}

// newList makes a list, or returns the one made before with the same
// patterns: the same list, to the finder's memo and to its shortcuts.
func (x *exact) newList(patterns []pattern, texts []string) *patternList {
	var key strings.Builder
	for _, p := range patterns {
		for _, t := range p {
			key.WriteByte(byte('0' + t.kind))
			key.WriteRune(t.char)
		}
		key.WriteByte(0)
	}
	if l, ok := x.lists[key.String()]; ok {
		return l
	}
	x.lastID++
	l := &patternList{id: x.lastID, patterns: patterns, texts: texts}
	x.lists[key.String()] = l
	return l
}

func (x *exact) region(st *Statement, version string, how reading, s side) *region {
	r := &region{st: st, actionsNot: st.Action.Not, resourcesNot: st.Resource.Not, principals: newBitset(len(x.callers.list))}
	index := newCallerIndex(st.Principal, how.rootsAnyPartition)
	for i, c := range x.callers.list {
		if index.applies(c, how.absentPrincipalNobody) {
			r.principals.add(i)
		}
	}
	// Actions read alike under every reading: one list per statement.
	r.actions = x.actionLists[st]
	if r.actions == nil {
		var actions []pattern
		for _, a := range st.Action.Values {
			actions = append(actions, compileGlob(a, true))
		}
		r.actions = x.newList(actions, st.Action.Values)
		x.actionLists[st] = r.actions
	}
	r.known = x.members(r.actions)
	if r.actionsNot {
		r.known = x.allKnown.andNot(r.known)
	}
	// A variable stands for anything where that widens the region, for
	// nothing where that narrows it: a NotResource list the other way round.
	how.variables = asNothing
	if (s == escaping) != st.Resource.Not {
		how.variables = asAnything
	}
	var resources []pattern
	var texts []string
	for _, v := range st.Resource.Values {
		p, ok := compileResource(v, version, how, nil)
		if !ok {
			r.byValue = append(r.byValue, nil)
			continue
		}
		r.byValue = append(r.byValue, p)
		resources, texts = append(resources, p), append(texts, v)
	}
	r.resources = x.newList(resources, texts)
	for i := range st.Conditions {
		c := &st.Conditions[i]
		r.conditions = append(r.conditions, compiledCondition{Condition: c, op: parseOperator(c.Operator), key: foldKey(c.Key)})
		r.twoWays = r.twoWays || !c.readsOneWay()
	}
	return r
}

func (x *exact) model(how reading) *model {
	if m, ok := x.models[how]; ok {
		return m
	}
	m := &model{how: how}
	for _, d := range []struct {
		doc           *Document
		allows, denys *[]*region
		allowSide     side
	}{{x.policy, &m.policyAllows, &m.policyDenies, escaping}, {x.template, &m.templateAllows, &m.templateDenies, covering}} {
		for i := range d.doc.statements {
			st := &d.doc.statements[i]
			if st.Effect == Allow {
				*d.allows = append(*d.allows, x.region(st, d.doc.version, how, d.allowSide))
			} else {
				*d.denys = append(*d.denys, x.region(st, d.doc.version, how, !d.allowSide))
			}
		}
	}
	x.models[how] = m
	return m
}

// boxOf is the region as a box, within what the endpoint carries.
func (x *exact) boxOf(r *region) box {
	b := box{principals: r.principals, known: r.known.and(x.carriedKnown)}
	b.actions = stringSet{}.with(r.actions, !r.actionsNot)
	if x.carried != nil {
		b.actions = b.actions.with(x.carried, true)
	}
	b.resources = stringSet{}.with(r.resources, !r.resourcesNot)
	for _, c := range r.conditions {
		if c.readsOneWay() { // another only narrows a region that may escape
			b.clauses = append(b.clauses, clause{cond: c, memo: x.implied, budget: &x.budget})
		}
	}
	return b
}

// within narrows b to the region r (which may escape too).
func (x *exact) within(b box, r *region) box {
	o := x.boxOf(r)
	b.principals = b.principals.and(o.principals)
	b.known = b.known.and(o.known)
	b.actions = stringSet{in: append(slices.Clip(b.actions.in), o.actions.in...), out: append(slices.Clip(b.actions.out), o.actions.out...)}
	b.resources = stringSet{in: append(slices.Clip(b.resources.in), o.resources.in...), out: append(slices.Clip(b.resources.out), o.resources.out...)}
	b.clauses = append(slices.Clip(b.clauses), o.clauses...)
	return b
}

// onlyActions narrows b to a list of actions: a piece of the list b was
// made of (instead, then, of that list), or of another.
func (x *exact) onlyActions(b box, l *patternList, instead bool) box {
	if instead {
		b.actions.in = append([]*patternList{l}, b.actions.in[1:]...)
	} else {
		b.actions = b.actions.with(l, true)
	}
	b.known = b.known.and(x.members(l))
	return b
}

// search looks for a request in b outside every region of covers, one
// class of actions at a time: each known class with its resources within
// the class's ARN formats, then the actions the table does not know.
func (x *exact) search(b box, covers []*region) escape {
	var pending escape
	for _, i := range x.table.order {
		class := x.table.classes[i]
		cb := b
		cb.known = b.known.and(class.members)
		if cb.known.empty() {
			continue
		}
		if class.formats != nil {
			cb.resources, cb.named = b.resources.with(class.formats, true), class.named
		} else {
			cb.unformatted = true
		}
		if e := x.split(cb, covers); e.escapes {
			if e.notStar {
				// Another class may have a request to show: this escape
				// stands, without one, only if none has.
				if !pending.escapes {
					pending = e
				}
				continue
			}
			return e
		}
	}
	ub := b
	ub.unknown = true
	ub.actions = b.actions.with(x.table.all, false)
	if !x.finder.nonEmpty(ub.actions) {
		return pending
	}
	if e := x.split(ub, covers); e.escapes {
		return e
	}
	return pending
}

// split finds a request of b that no region of covers takes in.
func (x *exact) split(b box, covers []*region) escape {
	if !x.budget.spend(1) {
		return escape{escapes: true, unsure: true} // unknown: read against compliance
	}
	if len(covers) == 0 {
		return x.point(b)
	}
	u, rest := covers[0], covers[1:]
	if u.twoWays && u.st.Effect == Deny {
		return x.split(b, rest) // a Deny that reads two ways takes nothing back
	}
	// Callers, actions, resources: each cut leaves b inside u there, and
	// searches the part outside it against the other covers.
	for _, cut := range []func(box) (inside, outside box, meets, leaves bool){x.cutCallers(u), x.cutActions(u), x.cutResources(u)} {
		inside, outside, meets, leaves := cut(b)
		if !meets {
			return x.split(b, rest) // u covers none of b
		}
		if leaves {
			if e := x.split(outside, rest); e.escapes {
				return e
			}
		}
		b = inside
	}
	// Conditions, each a dimension of its own.
	for _, c := range u.conditions {
		if impliedBy(b.clauses, c) {
			continue
		}
		o := b
		o.clauses = append(slices.Clip(b.clauses), clause{cond: c, negated: true, memo: x.implied, budget: &x.budget})
		if satisfiable(o.clauses) {
			if e := x.split(o, rest); e.escapes {
				return e
			}
		}
		b.clauses = append(slices.Clip(b.clauses), clause{cond: c, memo: x.implied, budget: &x.budget})
		if !satisfiable(b.clauses) {
			return escape{}
		}
	}
	return escape{} // what is left of b is inside u
}

func (x *exact) cutCallers(u *region) func(box) (box, box, bool, bool) {
	return func(b box) (box, box, bool, bool) {
		inside, outside := b, b
		inside.principals, outside.principals = b.principals.and(u.principals), b.principals.andNot(u.principals)
		return inside, outside, !inside.principals.empty(), !outside.principals.empty()
	}
}

func (x *exact) cutActions(u *region) func(box) (box, box, bool, bool) {
	return func(b box) (box, box, bool, bool) {
		inside, outside := b, b
		if b.unknown {
			inside.actions, outside.actions = b.actions.with(u.actions, !u.actionsNot), b.actions.with(u.actions, u.actionsNot)
			return inside, outside, x.finder.nonEmpty(inside.actions), x.finder.nonEmpty(outside.actions)
		}
		inside.known, outside.known = b.known.and(u.known), b.known.andNot(u.known)
		return inside, outside, !inside.known.empty(), !outside.known.empty()
	}
}

func (x *exact) cutResources(u *region) func(box) (box, box, bool, bool) {
	return func(b box) (box, box, bool, bool) {
		inside, outside := b, b
		inside.resources, outside.resources = b.resources.with(u.resources, !u.resourcesNot), b.resources.with(u.resources, u.resourcesNot)
		meets := x.finder.nonEmpty(inside.resources)
		return inside, outside, meets, meets && x.finder.nonEmpty(outside.resources)
	}
}

// point makes a request of b concrete, or reports b empty. A dimension it
// cannot make concrete (the budget spent, a clause it cannot satisfy)
// leaves the escape without a request.
func (x *exact) point(b box) escape {
	caller := b.principals.first()
	if caller < 0 || !satisfiable(b.clauses) {
		return escape{}
	}
	r := &Request{Principal: x.callers.list[caller].text}
	if b.unknown {
		f := x.finder.find(b.actions)
		switch f.answer {
		case empty:
			return escape{}
		case unknown:
			r = nil
		default:
			r.Action = x.readable(b.actions, f.member, false)
		}
	} else {
		i := x.table.pick(b.known)
		if i < 0 {
			return escape{}
		}
		r.Action = x.table.actions[i].name
	}
	f := x.finder.find(b.resources)
	switch {
	case f.answer == empty:
		return escape{}
	case f.answer == unknown || r == nil:
		return escape{escapes: true, unsure: true}
	}
	r.Resource = x.readable(b.resources, f.member, true)
	if b.unformatted && !b.unknown {
		if !b.resources.has("*") {
			return escape{escapes: true, notStar: true}
		}
		r.Resource = "*"
	}
	if b.named != nil && !b.named.matches(r.Resource) {
		named := x.finder.find(b.resources.with(b.named, true))
		if named.answer != member {
			// Only names AWS never gives (a log group's with a colon)
			// escape: the escape stands, sound, but shows no request.
			return escape{escapes: true, notStar: true}
		}
		r.Resource = named.member
	}
	// A resource the box leaves open reads best as an ARN of the action's
	// service; for an action without resource types, "*" is the only one.
	if service, _, ok := strings.Cut(r.Action, ":"); ok && (b.unknown || !b.unformatted) {
		if arn := "arn:" + x.hints.partitions[0] + ":" + asciiLowerString(service) + ":" + x.hints.regions[0] + ":" + x.hints.accounts[0] + ":" + witnessName; !strings.HasPrefix(r.Resource, "arn:") && b.resources.has(arn) {
			r.Resource = arn
		}
	}
	ctx, ok := contextFor(b.clauses, &x.budget)
	if !ok {
		return escape{escapes: true}
	}
	r.Context = ctx
	x.consistentCaller(r, b.principals)
	return escape{escapes: true, request: r}
}

// consistentCaller picks, when the context names the caller's account, a
// caller of that account, as AWS's own context would.
func (x *exact) consistentCaller(r *Request, among bitset) {
	for key, values := range r.Context {
		if foldKey(key) != "aws:principalaccount" || len(values) != 1 {
			continue
		}
		for i, c := range x.callers.list {
			if among.has(i) && c.account == values[0] && c.kind != bareAccountEntry {
				r.Principal = c.text
				return
			}
		}
	}
}

// readable is a member of the set that reads better than the shortest,
// when one is found among the patterns filled in with plausible values;
// otherwise the shortest.
func (x *exact) readable(s stringSet, shortest string, resource bool) string {
	if resource {
		// The finder tried the readable ones first; failing those, its
		// shortest member may leave parts of the ARN empty.
		return x.fillEmptyParts(s, shortest)
	}
	// An action is best in the case the policy writes it.
	for _, l := range s.in {
		for _, t := range l.texts {
			if asciiLowerString(t) == shortest {
				return t
			}
		}
	}
	tried := 0
	for _, l := range slices.Backward(s.in) { // the lists added last are the most specific
		for i, p := range l.patterns {
			text := ""
			if i < len(l.texts) {
				text = l.texts[i]
			}
			for _, candidate := range x.fillings(p, text, resource) {
				if tried++; tried > 8 {
					return shortest
				}
				if s.has(asciiLowerString(candidate)) { // action patterns are compiled folded
					return candidate
				}
			}
		}
	}
	return shortest
}

// fillEmptyParts fills, in a member of s, the parts of an ARN that are
// empty (the partition, region and account with the hints, the others
// with a made-up name) and the names that end in a separator, one at a
// time, keeping each change that leaves it a member: a request of
// arn:aws:logs:::log-group:app-:log-stream: cannot be made, one of
// arn:aws:logs:eu-west-1:999999999999:log-group:app-vpce-guard-witness:log-stream:vpce-guard-witness can.
func (x *exact) fillEmptyParts(s stringSet, member string) string {
	parts := strings.Split(member, ":")
	if len(parts) < 6 || parts[0] != "arn" {
		return member
	}
	tries := 0
	for i := 1; i < len(parts) && tries < 12; i++ {
		var fills []string
		switch {
		case i == 1 && parts[i] == "":
			fills = x.hints.partitions[:1]
		case i == 3 && parts[i] == "":
			fills = x.hints.regions[:1]
		case i == 4 && parts[i] == "":
			fills = x.hints.accounts[:1]
		case i >= 5 && (parts[i] == "" || strings.ContainsAny(parts[i][len(parts[i])-1:], "-_/.")):
			fills = []string{parts[i] + witnessName}
		}
		for _, fill := range fills {
			tries++
			old := parts[i]
			parts[i] = fill
			if candidate := strings.Join(parts, ":"); s.has(candidate) {
				member = candidate
			} else {
				parts[i] = old
			}
		}
	}
	return member
}

// fillings fill a pattern's wildcards: in an ARN's partition, region and
// account with those the documents name and one more of each, elsewhere
// with a made-up name, or nothing.
func (x *exact) fillings(p pattern, text string, resource bool) []string {
	if !resource {
		name := strings.NewReplacer("*", "VpceGuardWitness", "?", "X").Replace(text)
		if text == "" || strings.Contains(text, "${") {
			return nil
		}
		return []string{name, strings.NewReplacer("*", "", "?", "X").Replace(text)}
	}
	// The pattern as literal runs and, between them, the choices for each
	// wildcard; the fillings take the first choice of every wildcard but
	// one, in turn, so that they stay few.
	var runs []string
	var choices [][]string
	var run strings.Builder
	colons := 0
	for i, t := range p {
		if t.kind == literal {
			if t.char == ':' {
				colons++
			}
			run.WriteRune(t.char)
			continue
		}
		runs = append(runs, run.String())
		run.Reset()
		switch {
		case colons == 1 && wholePart(p, i):
			choices = append(choices, x.hints.partitions)
		case colons == 3 && wholePart(p, i):
			choices = append(choices, x.hints.regions)
		case colons == 4 && wholePart(p, i):
			choices = append(choices, x.hints.accounts)
		case t.isStar():
			choices = append(choices, []string{witnessName, ""})
		default:
			choices = append(choices, []string{"0", "x"})
		}
	}
	runs = append(runs, run.String())
	fill := func(alt, pick int) string {
		var b strings.Builder
		for i, c := range choices {
			b.WriteString(runs[i])
			if i == alt {
				b.WriteString(c[pick])
			} else {
				b.WriteString(c[0])
			}
		}
		b.WriteString(runs[len(runs)-1])
		return b.String()
	}
	out := []string{fill(-1, 0)}
	for i, c := range choices {
		for pick := 1; pick < len(c); pick++ {
			out = append(out, fill(i, pick))
		}
	}
	return out
}

// wholePart reports whether the token at i is alone between two colons.
func wholePart(p pattern, i int) bool {
	before := i == 0 || p[i-1].kind == literal && p[i-1].char == ':'
	after := i == len(p)-1 || p[i+1].kind == literal && p[i+1].char == ':'
	return before && after
}

// hints are the ARN parts a witness's resource takes for a wildcard: the
// template's own first, then one it does not name.
type hints struct {
	partitions, regions, accounts []string
}

func newHints(template *Document, fresh string) hints {
	h := hints{}
	for _, st := range template.statements {
		for _, r := range st.Resource.Values {
			parts := strings.SplitN(r, ":", 6)
			if len(parts) < 6 {
				continue
			}
			for _, f := range []struct {
				list *[]string
				part string
			}{{&h.partitions, parts[1]}, {&h.regions, parts[3]}, {&h.accounts, parts[4]}} {
				if f.part != "" && !strings.ContainsAny(f.part, "*?$") {
					*f.list = append(*f.list, f.part)
				}
			}
		}
	}
	h.partitions = uniqueInOrder(append(h.partitions, "aws", "aws-cn"))
	h.regions = uniqueInOrder(append(h.regions, "eu-west-1", "us-east-1"))
	h.accounts = uniqueInOrder(append([]string{fresh}, h.accounts...))
	return h
}
