package policy

import (
	"fmt"
	"strings"
)

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
