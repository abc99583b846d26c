package policy

import (
	"encoding/base64"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// operator is a condition operator taken apart: ForAnyValue:StringLikeIfExists
// is the base StringLike with the anyValue qualifier and IfExists.
type operator struct {
	base      string // canonical spelling, e.g. "StringLike"; empty when unknown
	qualifier qualifier
	ifExists  bool
}

type qualifier uint8

const (
	noQualifier qualifier = iota
	anyValue              // ForAnyValue:
	allValues             // ForAllValues:
)

// baseOperator describes one condition operator family member.
type baseOperator struct {
	negated bool   // true for the "Not" forms, which hold when the key is absent
	family  string // string, stringIgnoreCase, like, arn, bool, numeric, date, ip, binary, null
	compare string // for numeric and date: eq, lt, le, gt, ge
}

var baseOperators = map[string]baseOperator{
	"StringEquals":              {family: "string"},
	"StringNotEquals":           {negated: true, family: "string"},
	"StringEqualsIgnoreCase":    {family: "stringIgnoreCase"},
	"StringNotEqualsIgnoreCase": {negated: true, family: "stringIgnoreCase"},
	"StringLike":                {family: "like"},
	"StringNotLike":             {negated: true, family: "like"},
	"ArnEquals":                 {family: "arn"},
	"ArnLike":                   {family: "arn"},
	"ArnNotEquals":              {negated: true, family: "arn"},
	"ArnNotLike":                {negated: true, family: "arn"},
	"Bool":                      {family: "bool"},
	"NumericEquals":             {family: "numeric", compare: "eq"},
	"NumericNotEquals":          {negated: true, family: "numeric", compare: "eq"},
	"NumericLessThan":           {family: "numeric", compare: "lt"},
	"NumericLessThanEquals":     {family: "numeric", compare: "le"},
	"NumericGreaterThan":        {family: "numeric", compare: "gt"},
	"NumericGreaterThanEquals":  {family: "numeric", compare: "ge"},
	"DateEquals":                {family: "date", compare: "eq"},
	"DateNotEquals":             {negated: true, family: "date", compare: "eq"},
	"DateLessThan":              {family: "date", compare: "lt"},
	"DateLessThanEquals":        {family: "date", compare: "le"},
	"DateGreaterThan":           {family: "date", compare: "gt"},
	"DateGreaterThanEquals":     {family: "date", compare: "ge"},
	"IpAddress":                 {family: "ip"},
	"NotIpAddress":              {negated: true, family: "ip"},
	"BinaryEquals":              {family: "binary"},
	"Null":                      {family: "null"},
}

// parseOperator takes an operator apart; base is empty when the operator is
// unknown. Operator names are matched exactly: IAM rejects "stringEquals",
// so a spelling it would not accept is no operator this package knows.
func parseOperator(name string) operator {
	var op operator
	rest := name
	switch {
	case strings.HasPrefix(rest, "ForAnyValue:"):
		op.qualifier, rest = anyValue, rest[len("ForAnyValue:"):]
	case strings.HasPrefix(rest, "ForAllValues:"):
		op.qualifier, rest = allValues, rest[len("ForAllValues:"):]
	}
	if base, ok := strings.CutSuffix(rest, "IfExists"); ok {
		op.ifExists, rest = true, base
	}
	if _, known := baseOperators[rest]; known {
		op.base = rest
	}
	if op.base == "Null" && (op.ifExists || op.qualifier != noQualifier) {
		op.base = "" // NullIfExists and ForAnyValue:Null mean nothing
	}
	return op
}

// Known reports whether this package can evaluate the condition's operator.
func (c Condition) Known() bool { return parseOperator(c.Operator).base != "" }

// foldKey is the one spelling of a condition key under which keys compare:
// IAM documents keys as case-insensitive, and that is ASCII case. Unicode
// folding would make "aws:ſourceVpc" (long s) the key aws:SourceVpc.
// Check, Evaluate, Parse and Normalize all compare keys through it.
func foldKey(key string) string { return asciiLowerString(key) }

// readsOneWay reports whether the condition means the same to any reader
// that follows IAM's documentation: an operator this package knows, a key
// of ASCII characters, which folds alike under ASCII and Unicode rules, and
// no value with a policy variable.
func (c Condition) readsOneWay() bool {
	if !c.Known() || c.hasVariable() {
		return false
	}
	for i := 0; i < len(c.Key); i++ {
		if c.Key[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// hasVariable reports whether a value holds "${": in a 2012-10-17 policy a
// variable, which AWS replaces in string comparisons with a value of the
// request (IAM, condition operators: "Policy variables - Supported"), and
// in a 2008-10-17 one text. Compared as text it would tell nothing of
// either, so such a condition reads two ways, whatever the version.
func (c Condition) hasVariable() bool {
	for _, v := range c.Values {
		if strings.Contains(v, "${") {
			return true
		}
	}
	return false
}

// holdsIn decides the condition for a request context as a policy of the
// given version reads it: in 2012-10-17 each policy variable of a value
// (${aws:username}) is first replaced by its value in the request, text
// that no wildcard of StringLike reads. Where the key is there, a variable
// without a value, and without a default, makes the condition false: "If AWS cannot resolve a
// variable this might cause the entire statement to be invalid" (IAM,
// policy variables); the check reads such a condition two ways.
func (c Condition) holdsIn(ctx map[string][]string, version string) bool {
	if got := ctx[foldKey(c.Key)]; version != Version2012 || !c.hasVariable() || len(got) == 0 {
		return c.holds(ctx) // a missing key decides without the values
	}
	values := make([]string, len(c.Values))
	patterns := make([]pattern, len(c.Values))
	for i, v := range c.Values {
		var text strings.Builder
		var p pattern
		for j := 0; j < len(v); j++ {
			if v[j] == '$' && strings.HasPrefix(v[j:], "${") {
				if end := strings.IndexByte(v[j:], '}'); end > 0 {
					name := v[j+2 : j+end]
					j += end
					switch name {
					case "*", "?", "$": // escapes for the characters themselves
						text.WriteString(name)
						p = append(p, token{kind: literal, char: rune(name[0])})
						continue
					}
					value, found := variableValue(name, ctx)
					if !found {
						return false
					}
					text.WriteString(value)
					p = append(p, literalPattern(value)...)
					continue
				}
			}
			c, size := utf8.DecodeRuneInString(v[j:])
			j += size - 1
			text.WriteRune(c)
			p = append(p, compileGlob(string(c), false)...)
		}
		values[i], patterns[i] = text.String(), p
	}
	c.Values = values
	return c.decide(ctx, func(base baseOperator, i int, got string) bool {
		if base.family == "like" {
			return patterns[i].match(got)
		}
		return matchValue(base, values[i], got)
	})
}

// holds decides the condition for a request context, whose keys are folded
// by foldKey. It is only called for known operators.
func (c Condition) holds(ctx map[string][]string) bool {
	return c.decide(ctx, func(base baseOperator, i int, got string) bool { return matchValue(base, c.Values[i], got) })
}

// decide is holds with match comparing the i-th value with one of the context's.
func (c Condition) decide(ctx map[string][]string, match func(base baseOperator, i int, got string) bool) bool {
	op := parseOperator(c.Operator)
	base := baseOperators[op.base]
	got, present := ctx[foldKey(c.Key)]
	present = present && len(got) > 0
	if base.family == "null" {
		wantAbsent := len(c.Values) > 0 && asciiLowerString(c.Values[0]) == "true"
		return wantAbsent != present
	}
	if !present {
		switch {
		case op.ifExists:
			return true
		case op.qualifier == allValues:
			return true // vacuously: no value fails
		case op.qualifier == anyValue:
			return false
		default:
			return base.negated // "the key must not match" holds for a missing key
		}
	}
	// matches: does one context value match any of the condition's values, read positively?
	matches := func(v string) bool {
		for i := range c.Values {
			if match(base, i, v) {
				return true
			}
		}
		return false
	}
	accepts := func(v string) bool { return matches(v) != base.negated }
	switch op.qualifier {
	case allValues:
		for _, v := range got {
			if !accepts(v) {
				return false
			}
		}
		return true
	case anyValue:
		for _, v := range got {
			if accepts(v) {
				return true
			}
		}
		return false
	default:
		if base.negated { // NOR over every pair
			for _, v := range got {
				if matches(v) {
					return false
				}
			}
			return true
		}
		for _, v := range got {
			if matches(v) {
				return true
			}
		}
		return false
	}
}

// matchValue compares one condition value with one context value, positively.
func matchValue(base baseOperator, want, got string) bool {
	switch base.family {
	case "string":
		return want == got
	case "stringIgnoreCase":
		return strings.EqualFold(want, got)
	case "like":
		return compileGlob(want, false).match(got)
	case "arn":
		return arnMatch(want, got)
	case "bool":
		return asciiLowerString(want) == asciiLowerString(got)
	case "binary":
		w, err1 := base64.StdEncoding.DecodeString(want)
		g, err2 := base64.StdEncoding.DecodeString(got)
		return err1 == nil && err2 == nil && string(w) == string(g)
	case "numeric":
		w, err1 := strconv.ParseFloat(want, 64)
		g, err2 := strconv.ParseFloat(got, 64)
		return err1 == nil && err2 == nil && compare(base.compare, g, w)
	case "date":
		w, ok1 := parseDate(want)
		g, ok2 := parseDate(got)
		return ok1 && ok2 && compare(base.compare, float64(g.UnixNano()), float64(w.UnixNano()))
	case "ip":
		prefix, err := netip.ParsePrefix(want)
		if err != nil {
			addr, err := netip.ParseAddr(want)
			if err != nil {
				return false
			}
			prefix = netip.PrefixFrom(addr, addr.BitLen())
		}
		addr, err := netip.ParseAddr(got)
		return err == nil && prefix.Contains(addr)
	}
	return false
}

func compare(how string, got, want float64) bool {
	switch how {
	case "lt":
		return got < want
	case "le":
		return got <= want
	case "gt":
		return got > want
	case "ge":
		return got >= want
	default:
		return got == want
	}
}

func parseDate(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	if secs, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(secs, 0), true
	}
	return time.Time{}, false
}

// arnMatch compares ARNs the way ArnLike does: each of the six colon-separated
// parts on its own, so a wildcard never spans a colon before the resource part.
func arnMatch(want, got string) bool {
	w := strings.SplitN(want, ":", 6)
	g := strings.SplitN(got, ":", 6)
	if len(w) != 6 || len(g) != 6 {
		return false
	}
	for i := range w {
		if !compileGlob(w[i], false).match(g[i]) {
			return false
		}
	}
	return true
}
