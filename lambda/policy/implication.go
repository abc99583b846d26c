package policy

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// conditionsImply reports, soundly, whether the premises make every one of
// the required conditions hold. Comparing patterns spends from work (nil:
// no bound); once it is spent the answer is no.
func conditionsImply(premises, required []compiledCondition, work *budget) bool {
	for _, r := range required {
		if !slices.ContainsFunc(premises, func(p compiledCondition) bool { return conditionImplies(p, r, work) }) {
			return false
		}
	}
	return true
}

// conditionImplies recognises the safe cases, on one key: the same
// condition; the same qualifier and an operator of the same family whose
// values let through no more (a narrower StringLike, a narrower IP range, a
// smaller ForAllValues set, a tighter numeric or date bound, Bool in any
// case); a Null the premise settles.
func conditionImplies(p, r compiledCondition, work *budget) bool {
	if p.key != r.key {
		return false
	}
	if p.Operator == r.Operator && sameStrings(p.Values, r.Values) {
		return true
	}
	po, ro := p.op, r.op
	if po.base == "" || ro.base == "" || !p.readsOneWay() || !r.readsOneWay() {
		return false
	}
	if ro.base == "Null" {
		return nullImplied(p, r)
	}
	if po.base == "Null" || po.qualifier != ro.qualifier || po.ifExists && !ro.ifExists {
		return false // p holds for a missing key where r may not
	}
	pb, rb := baseOperators[po.base], baseOperators[ro.base]
	if pb.negated != rb.negated || !sameDomain(pb, rb) {
		return false
	}
	// Whatever the qualifier, a positive operator holds on fewer contexts
	// when fewer values match, a negated one when more values match.
	if pb.negated {
		return valuesWithin(rb, r.Values, pb, p.Values, work)
	}
	return valuesWithin(pb, p.Values, rb, r.Values, work)
}

// nullImplied: Null false (the key is there) follows from a positive
// operator that is false for a missing key; Null true from Null true.
func nullImplied(p, r compiledCondition) bool {
	wantAbsent := len(r.Values) > 0 && asciiLowerString(r.Values[0]) == "true"
	if p.op.base == "Null" {
		return len(p.Values) > 0 && (asciiLowerString(p.Values[0]) == "true") == wantAbsent
	}
	falseWhenMissing := !baseOperators[p.op.base].negated && !p.op.ifExists && p.op.qualifier != allValues
	return !wantAbsent && falseWhenMissing
}

// sameDomain reports whether two operators compare the same kind of value
// the same way, so that their values can be compared: StringEquals with
// StringLike, ArnEquals with ArnLike, each other family with itself.
func sameDomain(a, b baseOperator) bool {
	group := func(o baseOperator) string {
		if o.family == "string" || o.family == "like" {
			return "string"
		}
		return o.family
	}
	return group(a) == group(b) && (a.family != "numeric" && a.family != "date" || a.compare != "" && b.compare != "")
}

// valuesWithin reports whether every context value that some value of inner
// (read by op a) matches is matched by some value of outer (read by op b),
// in time linear in both for plain strings, of which a policy may list
// thousands; patterns are compared one with another, each comparison
// spending from work the product of their lengths (a pattern may hold
// hundreds of characters, and a list hundreds of patterns); other lists are
// compared value by value, up to a bound past which the answer is no.
func valuesWithin(a baseOperator, inner []string, b baseOperator, outer []string, work *budget) bool {
	if a.family == "string" && b.family == "string" {
		return within(inner, outer)
	}
	if (a.family == "string" || a.family == "like") && (b.family == "string" || b.family == "like") {
		exact := map[string]bool{}
		var patterns []pattern
		for _, w := range outer {
			if b.family == "string" || !strings.ContainsAny(w, "*?") {
				exact[w] = true
			} else {
				patterns = append(patterns, compileGlob(w, false))
			}
		}
		for _, v := range inner {
			plain := a.family == "string" || !strings.ContainsAny(v, "*?")
			if plain && exact[v] {
				continue
			}
			pv := literalPattern(v)
			if !plain {
				pv = compileGlob(v, false)
			}
			if !slices.ContainsFunc(patterns, func(pw pattern) bool { return work.spend(1+len(pv)*len(pw)/16) && pv.subsetOf(pw) }) {
				return false
			}
		}
		return true
	}
	if len(inner)*len(outer) > 4096 {
		return false
	}
	for _, v := range inner {
		if !slices.ContainsFunc(outer, func(w string) bool { return valueWithin(a, v, b, w) }) {
			return false
		}
	}
	return true
}

func valueWithin(a baseOperator, v string, b baseOperator, w string) bool {
	switch a.family {
	case "string", "like":
		pv, pw := compileGlob(v, false), compileGlob(w, false)
		if a.family == "string" {
			pv = literalPattern(v)
		}
		if b.family == "string" {
			pw = literalPattern(w)
		}
		return pv.subsetOf(pw)
	case "stringIgnoreCase":
		return strings.EqualFold(v, w)
	case "bool":
		return asciiLowerString(v) == asciiLowerString(w)
	case "arn":
		vs, ws := strings.SplitN(v, ":", 6), strings.SplitN(w, ":", 6)
		if len(vs) != 6 || len(ws) != 6 {
			return false
		}
		for i := range vs {
			if !compileGlob(vs[i], false).subsetOf(compileGlob(ws[i], false)) {
				return false
			}
		}
		return true
	case "ip":
		pv, ok1 := parsePrefix(v)
		pw, ok2 := parsePrefix(w)
		return ok1 && ok2 && pw.Bits() <= pv.Bits() && pw.Contains(pv.Addr())
	case "numeric", "date":
		x, ok1 := parseOrdered(a.family, v)
		y, ok2 := parseOrdered(b.family, w)
		return ok1 && ok2 && boundWithin(a.compare, x, b.compare, y)
	}
	return v == w // binary: the same text
}

// literalPattern matches s alone: StringEquals reads * and ? as characters.
func literalPattern(s string) pattern {
	p := make(pattern, 0, len(s))
	for _, c := range s {
		p = append(p, token{kind: literal, char: c})
	}
	return p
}

// boundWithin reports whether every number n with n (how) x also has n (other) y.
func boundWithin(how string, x float64, other string, y float64) bool {
	switch how + " " + other {
	case "eq eq":
		return x == y
	case "eq lt", "le lt":
		return x < y
	case "lt lt", "lt le", "eq le", "le le":
		return x <= y
	case "eq gt", "ge gt":
		return x > y
	case "gt gt", "gt ge", "eq ge", "ge ge":
		return x >= y
	}
	return false
}

func parsePrefix(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	return netip.PrefixFrom(a, a.BitLen()), err == nil
}

func parseOrdered(family, s string) (float64, bool) {
	if family == "date" {
		t, ok := parseDate(s)
		return float64(t.UnixNano()), ok
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// negation returns conditions whose conjunction holds exactly when c does
// not, on any context; ok is false when no operator says so exactly (a
// numeric or date bound, which a value that is not a number fails both
// ways; BinaryEquals; an operator that reads two ways).
func negation(c Condition) (conds []Condition, ok bool) {
	op := parseOperator(c.Operator)
	if op.base == "" || !c.readsOneWay() {
		return nil, false
	}
	if op.base == "Null" {
		absent := len(c.Values) > 0 && asciiLowerString(c.Values[0]) == "true"
		return []Condition{{Operator: "Null", Key: c.Key, Values: []string{strconv.FormatBool(!absent)}}}, true
	}
	base, values := op.base, c.Values
	switch {
	case base == "Bool":
		// Bool compares in ASCII case, as StringEqualsIgnoreCase does for
		// "true" and "false", which hold no letter Unicode folds otherwise.
		for _, v := range values {
			if l := asciiLowerString(v); l != "true" && l != "false" {
				return nil, false
			}
		}
		base = "StringNotEqualsIgnoreCase"
	case negatedForms[base] != "":
		base = negatedForms[base]
	default:
		return nil, false
	}
	// Not(ForAnyValue:X) is ForAllValues:Not X and the other way round; a
	// plain operator's negation holds for a missing key, so Not(X IfExists)
	// needs the key to be there.
	qualifier := ""
	switch op.qualifier {
	case anyValue:
		qualifier = "ForAllValues:"
	case allValues:
		qualifier = "ForAnyValue:"
	}
	out := []Condition{{Operator: qualifier + base, Key: c.Key, Values: slices.Clone(values)}}
	if op.ifExists && op.qualifier != allValues {
		out = append(out, Condition{Operator: "Null", Key: c.Key, Values: []string{"false"}})
	}
	return out, true
}

// negatedForms pairs each operator with the one that holds exactly when it
// does not, value by value: equality, likeness, ARNs and IP ranges.
var negatedForms = func() map[string]string {
	pairs := [][2]string{
		{"StringEquals", "StringNotEquals"}, {"StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"},
		{"StringLike", "StringNotLike"}, {"ArnEquals", "ArnNotEquals"}, {"ArnLike", "ArnNotLike"},
		{"IpAddress", "NotIpAddress"}, {"NumericEquals", "NumericNotEquals"}, {"DateEquals", "DateNotEquals"},
	}
	m := map[string]string{}
	for _, p := range pairs {
		m[p[0]], m[p[1]] = p[1], p[0]
	}
	return m
}()

// clause is a condition that must hold, or (negated) must not, in a region
// of requests the exact check splits.
type clause struct {
	cond    compiledCondition
	negated bool
	memo    map[impliesKey]bool // the check's, when set
	budget  *budget             // the check's, when set
}

// implies reports, soundly, whether the clause makes r hold.
func (l clause) implies(r compiledCondition) bool {
	if l.memo != nil {
		key := impliesKey{l.cond.Condition, l.negated, r.Condition}
		v, ok := l.memo[key]
		if !ok {
			v = l.implied(r)
			l.memo[key] = v
		}
		return v
	}
	return l.implied(r)
}

// impliesKey is a question implies answers, for the memo of a check.
type impliesKey struct {
	premise  *Condition
	negated  bool
	required *Condition
}

func (l clause) implied(r compiledCondition) bool {
	if !l.negated {
		return conditionImplies(l.cond, r, l.budget)
	}
	conds, ok := negation(*l.cond.Condition)
	if !ok {
		return false
	}
	for _, c := range compileConditions(conds) {
		if conditionImplies(c, r, l.budget) {
			return true
		}
	}
	return false
}

// contradicts reports whether no context can satisfy both clauses, in
// the cases implies recognises: one makes the other's negation fail.
func (l clause) contradicts(o clause) bool {
	if l.negated == o.negated {
		return false
	}
	pos, neg := l, o
	if l.negated {
		pos, neg = o, l
	}
	return pos.implies(neg.cond)
}

func compileConditions(conds []Condition) []compiledCondition {
	out := make([]compiledCondition, len(conds))
	for i := range conds {
		c := &conds[i]
		out[i] = compiledCondition{Condition: c, op: parseOperator(c.Operator), key: foldKey(c.Key)}
	}
	return out
}

// impliedBy reports whether some clause implies c.
func impliedBy(lits []clause, c compiledCondition) bool {
	return slices.ContainsFunc(lits, func(l clause) bool { return l.implies(c) })
}

// satisfiable reports whether the clauses may hold together: false only
// for a contradiction contradicts recognises.
func satisfiable(lits []clause) bool {
	for i := range lits {
		for j := i + 1; j < len(lits); j++ {
			if lits[i].cond.key == lits[j].cond.key && lits[i].contradicts(lits[j]) {
				return false
			}
		}
	}
	return true
}

// contextFor makes a request context in which every clause holds: for
// each key, the first of a few value lists built from the clauses' own
// values that satisfies all of that key's clauses. ok is false when none
// does, when a clause cannot be evaluated, or when work is spent: each
// list tried spends the length of the values it is held to.
func contextFor(lits []clause, work *budget) (map[string][]string, bool) {
	ctx := map[string][]string{}
	var keys []string
	byKey := map[string][]clause{}
	for _, l := range lits {
		if l.cond.op.base == "" {
			return nil, false
		}
		if _, ok := byKey[l.cond.key]; !ok {
			keys = append(keys, l.cond.key)
		}
		byKey[l.cond.key] = append(byKey[l.cond.key], l)
	}
	for _, key := range keys {
		values, ok := valuesFor(key, byKey[key], work)
		if !ok {
			return nil, false
		}
		if values != nil {
			ctx[byKey[key][0].cond.Key] = values
		}
	}
	return ctx, true
}

// valuesFor picks the values of one key; nil (the key left out) is tried first.
func valuesFor(key string, lits []clause, work *budget) ([]string, bool) {
	var singles []string
	cost := 1 // of holding one list to every clause
	for _, l := range lits {
		for _, v := range l.cond.Values {
			singles = append(singles, valuesNear(baseOperators[l.cond.op.base].family, v)...)
			cost += 1 + len(v)/8
		}
	}
	singles = uniqueInOrder(append(append([]string{}, singles...), witnessName, "true", "false"))
	candidates := [][]string{nil}
	for _, v := range singles {
		candidates = append(candidates, []string{v})
	}
	for i, v := range singles {
		for _, w := range singles[i+1:] {
			candidates = append(candidates, []string{v, w})
		}
		if len(candidates) > 256 {
			break
		}
	}
	for _, values := range candidates {
		if !work.spend(cost) {
			return nil, false
		}
		ctx := map[string][]string{}
		if values != nil {
			ctx[key] = values
		}
		if slices.IndexFunc(lits, func(l clause) bool { return l.cond.holds(ctx) == l.negated }) < 0 {
			return values, true
		}
	}
	return nil, false
}

// valuesNear are values a condition on v tells apart: v itself (its
// wildcards filled), and just beside it for numbers, dates and addresses.
func valuesNear(family, v string) []string {
	switch family {
	case "like", "arn":
		return []string{strings.NewReplacer("*", "x", "?", "x").Replace(v), strings.NewReplacer("*", "", "?", "x").Replace(v), v}
	case "numeric":
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return []string{v, strconv.FormatFloat(f-1, 'f', -1, 64), strconv.FormatFloat(f+1, 'f', -1, 64)}
		}
	case "date":
		if t, ok := parseDate(v); ok {
			return []string{t.UTC().Format(time.RFC3339), t.Add(-time.Hour).UTC().Format(time.RFC3339), t.Add(time.Hour).UTC().Format(time.RFC3339)}
		}
	case "ip":
		if p, ok := parsePrefix(v); ok {
			out := []string{p.Addr().String()}
			if prev := p.Addr().Prev(); prev.IsValid() {
				out = append(out, prev.String())
			}
			if after := lastAddr(p).Next(); after.IsValid() {
				out = append(out, after.String())
			}
			return append(out, "192.0.2.1", "2001:db8::1")
		}
	}
	return []string{v}
}

// lastAddr is the last address of the prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
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
