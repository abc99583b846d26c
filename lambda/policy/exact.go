package policy

import (
	"strings"
)

// workBudget bounds what the exact part of one check may do, and what the
// quick pass may spend comparing conditions: a few milliseconds each for
// the hostile policies, far more than a realistic policy needs. What
// either cannot decide within it counts against compliance.
const workBudget = 1 << 18

// exact holds the exact part of one check: both documents as regions under
// each reading tried, the callers and known actions they are split over,
// and the finder's memo.
type exact struct {
	policy, template *Document
	table            *actionTable
	callers          *callers
	carried          *patternList // nil: every action
	carriedKnown     bitset       // the known actions of the carried services
	allKnown         bitset
	finder           finder
	budget           budget
	lastID           int
	readings         []reading
	models           map[reading]*model
	hints            hints
	actionLists      map[*Statement]*patternList
	knownIn          map[int]bitset          // by list id
	pieces           map[string]*patternList // the action lists of suspects, by statement and indexes
	implied          map[impliesKey]bool     // what clauses imply, asked again and again in a split
	lists            map[string]*patternList // by their patterns
}

// members are the known actions a list matches, worked out once per list.
func (x *exact) members(l *patternList) bitset {
	if b, ok := x.knownIn[l.id]; ok {
		return b
	}
	b := x.table.members(l)
	x.knownIn[l.id] = b
	return b
}

func newExact(policy, template *Document, carries []string) *exact {
	x := &exact{policy: policy, template: template, table: knownActions(), models: map[reading]*model{},
		actionLists: map[*Statement]*patternList{}, knownIn: map[int]bitset{}, pieces: map[string]*patternList{},
		implied: map[impliesKey]bool{}, lists: map[string]*patternList{}}
	x.budget.left = workBudget
	x.finder.budget = &x.budget
	x.finder.fill = func(p pattern) []string { return x.fillings(p, "", true) }
	partition := template.compile().partition
	x.callers = newCallers(partition, policy, template)
	x.allKnown = newBitset(len(x.table.actions))
	x.carriedKnown = newBitset(len(x.table.actions))
	for i, a := range x.table.actions {
		x.allKnown.add(i)
		if len(carries) == 0 || containsString(carries, a.service) {
			x.carriedKnown.add(i)
		}
	}
	x.lastID++
	x.carried = carriedList(carries, x.lastID)
	x.readings = readingsOf(policy, template)
	account := ""
	for _, c := range x.callers.list {
		if c.kind == bareAccountEntry {
			account = c.account // the made-up account comes first
			break
		}
	}
	x.hints = newHints(template, account)
	return x
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// The readings of the exact check: documented is how Evaluate reads
// requests, as AWS documents them; each other reading departs from it in
// one or more places where some reader does (iam-simulate, for one), or
// where AWS's documentation leaves room.
var documented = reading{}

// readingsOf are the readings in which the two documents may differ from
// the documented one, documented first: only the departures some pattern
// or principal of theirs is open to.
func readingsOf(docs ...*Document) []reading {
	var starsMidPart, questions, variablesBefore, roots, absent bool
	for _, d := range docs {
		for _, st := range d.statements {
			absent = absent || !st.Principal.Present
			for _, e := range st.Principal.AWS {
				roots = roots || readAWSEntry(e).kind == rootEntry
			}
			for _, r := range st.Resource.Values {
				mid, q, before := resourceDepartures(r, d.version)
				starsMidPart, questions, variablesBefore = starsMidPart || mid, questions || q, variablesBefore || before
			}
		}
	}
	out := []reading{documented}
	for _, flag := range []struct {
		open bool
		set  func(*reading)
	}{
		{starsMidPart, func(r *reading) { r.starsCross = true }},
		{questions, func(r *reading) { r.questionsNarrow = true }},
		{variablesBefore, func(r *reading) { r.variablesEverywhere = true }},
		{roots, func(r *reading) { r.rootsAnyPartition = true }},
		{absent, func(r *reading) { r.absentPrincipalNobody = true }},
	} {
		if !flag.open {
			continue
		}
		for _, r := range out[:len(out):len(out)] {
			flag.set(&r)
			out = append(out, r)
		}
	}
	return out
}

// resourceDepartures says what of a resource pattern the readings may read
// otherwise: a '*' inside a part of the ARN, a '?', a policy variable
// before the resource part.
func resourceDepartures(r, version string) (starMidPart, question, variableBefore bool) {
	colons := 0
	for i := 0; i < len(r); i++ {
		switch c := r[i]; {
		case c == ':':
			colons++
		case c == '$' && version == Version2012 && strings.HasPrefix(r[i:], "${"):
			end := strings.IndexByte(r[i:], '}')
			if end < 0 {
				continue
			}
			if name := r[i+2 : i+end]; name != "*" && name != "?" && name != "$" && colons < 5 {
				variableBefore = true
			}
			i += end
		case c == '*':
			starMidPart = starMidPart || i+1 < len(r) && r[i+1] != ':' && r[i+1] != '*'
		case c == '?':
			question = true
		}
	}
	return starMidPart, question, variableBefore
}

// describe says in words where the reading departs from the documented one.
func (how reading) describe() string {
	var parts []string
	if how.starsCross {
		parts = append(parts, "a '*' inside a part of an ARN matches past a colon")
	}
	if how.questionsNarrow {
		parts = append(parts, "a '?' matches neither ':' nor a character beyond U+FFFF")
	}
	if how.variablesEverywhere {
		parts = append(parts, "a policy variable before an ARN's resource part is replaced")
	}
	if how.rootsAnyPartition {
		parts = append(parts, "a root ARN names its account in every partition")
	}
	if how.absentPrincipalNobody {
		parts = append(parts, "a statement without a Principal applies to no one")
	}
	return strings.Join(parts, " and ")
}

// confirmed reports whether Evaluate, as AWS documents IAM, lets the
// request through the policy and not through the template.
func (x *exact) confirmed(r *Request) bool {
	allowed, err1 := x.policy.Evaluate(*r)
	inTemplate, err2 := x.template.Evaluate(*r)
	return err1 == nil && err2 == nil && allowed.Allowed && !inTemplate.Allowed
}
