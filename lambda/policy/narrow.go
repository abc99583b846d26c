package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// ErrNotNarrowable is wrapped by Narrow's error when the template cannot be
// written as bounds on the policy: see Narrow.
var ErrNotNarrowable = errors.New("the template cannot be written as bounds on the policy")

// maxBoundDenies bounds the Denies the bounds of a template of several
// Allows may take: their number is the product of the Allows' own parts.
const maxBoundDenies = 32

// SidPrefix starts the Sid of every statement Narrow adds.
const SidPrefix = "VpceGuard"

// Narrow returns policy with template's bounds added, so that it allows
// exactly what both allow: its own statements as they are; a Deny of
// everything the template's Allows leave out (for one Allow, one Deny of
// the actions outside its actions and one of the resources outside its
// resources, and so on for its principal and conditions; for several,
// their parts in common and the products of the others); and the
// template's own Denies. Every statement it adds has a Sid that starts with
// SidPrefix.
//
// What it returns Check has found within the template (read for an
// endpoint that carries carries), so that writing it causes no second
// rewrite, and within policy, so that nothing the owner had narrowed comes
// back. The error wraps ErrNotNarrowable when a bound has no exact form (a
// condition without an exact negation, a statement without a Principal,
// two Allows whose parts do not merge), when the template's policy
// variables would read otherwise in the policy's version, when the result
// is longer than MaxPolicyLength, or when Check cannot find it within both.
func Narrow(policy, template *Document, carries ...string) ([]byte, error) {
	out, err := narrowed(policy, template)
	if err != nil {
		return nil, err
	}
	doc, err := Parse(out)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotNarrowable, err) // a bug: what JSON writes parses
	}
	if v := Check(doc, template, Subset, carries...); !v.Compliant {
		return nil, fmt.Errorf("%w: the check cannot find the narrowed policy within the template: %s", ErrNotNarrowable, v.Reasons[0])
	}
	if v := Check(doc, policy, Subset); !v.Compliant {
		return nil, fmt.Errorf("%w: the check cannot find the narrowed policy within the policy: %s", ErrNotNarrowable, v.Reasons[0])
	}
	return out, nil
}

func narrowed(policy, template *Document) ([]byte, error) {
	if policy.version != template.version && mentionsVariables(template) {
		return nil, fmt.Errorf("%w: the template has ${...}, which the policy's version %q reads otherwise", ErrNotNarrowable, policy.version)
	}
	var allows [][]bound
	for i := range template.statements {
		if st := &template.statements[i]; st.Effect == Allow {
			parts, err := boundsOf(st)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ErrNotNarrowable, st.label(), err)
			}
			allows = append(allows, parts)
		}
	}
	denies, err := boundDenies(allows)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotNarrowable, err)
	}
	taken := map[string]bool{}
	for _, st := range policy.statements {
		taken[st.Sid] = true
	}
	sid := func(name string) string {
		s := SidPrefix + name
		for i := 2; taken[s]; i++ {
			s = fmt.Sprintf("%s%s%d", SidPrefix, name, i)
		}
		taken[s] = true
		return s
	}
	statements := slices.Clone(policy.statements)
	for _, d := range denies {
		d.Sid = sid(d.Sid)
		statements = append(statements, d)
	}
	for i, st := range template.statements {
		if st.Effect == Deny {
			st.Sid = sid(cmpOr(st.Sid, fmt.Sprintf("TemplateDeny%d", i+1)))
			statements = append(statements, st)
		}
	}
	out := NewDocument(policy.version, policy.id, statements).JSON()
	if n := utf8.RuneCount(out); n > MaxPolicyLength {
		return nil, fmt.Errorf("%w: with the bounds it has %d characters, over the %d-character limit", ErrNotNarrowable, n, MaxPolicyLength)
	}
	return out, nil
}

func mentionsVariables(d *Document) bool {
	for _, st := range d.statements {
		if strings.Contains(string(st.json(false)), "${") {
			return true
		}
	}
	return false
}

// bound is one way of being outside an Allow: a statement (a Deny in the
// making) holding only that part, and a key that says which part it is.
type bound struct {
	key  string
	deny Statement
}

// boundsOf are the ways of being outside the Allow st: outside its
// actions, its resources, its principal, or one of its conditions.
func boundsOf(st *Statement) ([]bound, error) {
	if !st.Principal.Present {
		return nil, errors.New("no Principal, which readers read two ways")
	}
	var out []bound
	add := func(key string, deny Statement) { out = append(out, bound{key: key, deny: deny}) }
	every := Statement{Effect: Deny, Principal: Principal{Present: true, Any: true},
		Action: Values{Values: []string{"*"}}, Resource: Values{Values: []string{"*"}}}
	if !(st.Action.Not == false && slices.Contains(st.Action.Values, "*")) {
		d := every
		d.Sid, d.Action = "DenyOutsideActions", Values{Not: !st.Action.Not, Values: st.Action.Values}
		add("Action "+marshal(st.Action), d)
	}
	if !(st.Resource.Not == false && slices.Contains(st.Resource.Values, "*")) {
		d := every
		d.Sid, d.Resource = "DenyOutsideResources", Values{Not: !st.Resource.Not, Values: st.Resource.Values}
		add("Resource "+marshal(st.Resource), d)
	}
	if p := st.Principal; !(p.Any && !p.Not) {
		d := every
		d.Sid, d.Principal = "DenyOutsidePrincipals", p
		d.Principal.Not = !p.Not
		add("Principal "+marshal(p), d)
	}
	for _, c := range st.Conditions {
		negated, ok := negation(c)
		if !ok {
			return nil, fmt.Errorf("condition %s %s has no exact negation", c.Operator, c.Key)
		}
		d := every
		d.Sid, d.Conditions = "DenyOutsideConditions", negated
		add("Condition "+marshal(c), d)
	}
	return out, nil
}

// boundDenies are Denies of everything outside every Allow: outside one
// Allow is outside any of its parts, so outside all of them is, for each
// part they share, outside it; and for the others, for each choice of one
// part of each Allow, outside all of those at once.
func boundDenies(allows [][]bound) ([]Statement, error) {
	if len(allows) == 0 {
		return []Statement{{Sid: "DenyEverything", Effect: Deny, Principal: Principal{Present: true, Any: true},
			Action: Values{Values: []string{"*"}}, Resource: Values{Values: []string{"*"}}}}, nil
	}
	inAll := func(key string) bool {
		for _, parts := range allows {
			if !slices.ContainsFunc(parts, func(b bound) bool { return b.key == key }) {
				return false
			}
		}
		return true
	}
	var out []Statement
	for _, b := range allows[0] {
		if inAll(b.key) {
			out = append(out, b.deny)
		}
	}
	specific := make([][]bound, len(allows))
	combinations := 1
	for i, parts := range allows {
		for _, b := range parts {
			if !inAll(b.key) {
				specific[i] = append(specific[i], b)
			}
		}
		if len(specific[i]) == 0 {
			return out, nil // that Allow is its shared parts: outside it is outside one of them
		}
		if combinations *= len(specific[i]); combinations > maxBoundDenies {
			return nil, fmt.Errorf("the template's %d Allows would take more than %d Denies", len(allows), maxBoundDenies)
		}
	}
	for n := range combinations {
		var choice []Statement
		for _, s := range specific {
			choice = append(choice, s[n%len(s)].deny)
			n /= len(s)
		}
		d, err := mergeDenies(choice)
		if err != nil {
			return nil, err
		}
		d.Sid = "DenyOutsideAllows"
		out = append(out, d)
	}
	return withoutSubsumed(out), nil
}

// withoutSubsumed drops each Deny that another takes in: the same
// elements, and conditions that follow from its own (or, between two that
// take in each other, the later).
func withoutSubsumed(denies []Statement) []Statement {
	takesIn := func(e, d *Statement) bool {
		ed, dd := *e, *d
		ed.Conditions, dd.Conditions, ed.Sid, dd.Sid = nil, nil, "", ""
		return string(ed.json(false)) == string(dd.json(false)) &&
			conditionsImply(compileConditions(d.Conditions), compileConditions(e.Conditions), nil)
	}
	var out []Statement
	for i := range denies {
		subsumed := false
		for j := range denies {
			if i != j && takesIn(&denies[j], &denies[i]) && (!takesIn(&denies[i], &denies[j]) || j < i) {
				subsumed = true
				break
			}
		}
		if !subsumed {
			out = append(out, denies[i])
		}
	}
	return out
}

// mergeDenies is one Deny that applies exactly where all of parts do: each
// part restricts one element (or adds conditions), and two parts restrict
// the same element only as a Not list, which then lists both.
func mergeDenies(parts []Statement) (Statement, error) {
	d := parts[0]
	d.Conditions = slices.Clone(d.Conditions)
	for _, p := range parts[1:] {
		var err error
		if d.Action, err = mergeValues(d.Action, p.Action); err != nil {
			return d, fmt.Errorf("actions: %w", err)
		}
		if d.Resource, err = mergeValues(d.Resource, p.Resource); err != nil {
			return d, fmt.Errorf("resources: %w", err)
		}
		if d.Principal, err = mergePrincipals(d.Principal, p.Principal); err != nil {
			return d, fmt.Errorf("principals: %w", err)
		}
		for _, c := range p.Conditions {
			i := slices.IndexFunc(d.Conditions, func(o Condition) bool { return o.Operator == c.Operator && foldKey(o.Key) == foldKey(c.Key) })
			switch {
			case i < 0:
				d.Conditions = append(d.Conditions, c)
			case slices.Equal(d.Conditions[i].Values, c.Values):
			case negatedForms[c.Operator] != "" && baseOperators[c.Operator].negated:
				// Not equal to any of one list and not to any of another:
				// not to any of both.
				d.Conditions[i].Values = uniqueInOrder(append(slices.Clone(d.Conditions[i].Values), c.Values...))
			default:
				return d, fmt.Errorf("two conditions %s on %s", c.Operator, c.Key)
			}
		}
	}
	return d, nil
}

func isEverything(v Values) bool { return !v.Not && len(v.Values) == 1 && v.Values[0] == "*" }

func mergeValues(a, b Values) (Values, error) {
	switch {
	case isEverything(a):
		return b, nil
	case isEverything(b):
		return a, nil
	case a.Not && b.Not:
		return Values{Not: true, Values: uniqueInOrder(append(slices.Clone(a.Values), b.Values...))}, nil
	case !a.Not && !b.Not && slices.Equal(sortedSet(a.Values), sortedSet(b.Values)):
		return a, nil
	}
	return a, errors.New("two lists whose intersection no list writes")
}

func mergePrincipals(a, b Principal) (Principal, error) {
	switch {
	case a.Any && !a.Not:
		return b, nil
	case b.Any && !b.Not:
		return a, nil
	case a.Not && b.Not:
		a.AWS = uniqueInOrder(append(slices.Clone(a.AWS), b.AWS...))
		a.Service = uniqueInOrder(append(slices.Clone(a.Service), b.Service...))
		a.Federated = uniqueInOrder(append(slices.Clone(a.Federated), b.Federated...))
		a.CanonicalUser = uniqueInOrder(append(slices.Clone(a.CanonicalUser), b.CanonicalUser...))
		a.Any = a.Any || b.Any
		return a, nil
	}
	return a, errors.New("two principals whose intersection no element writes")
}
