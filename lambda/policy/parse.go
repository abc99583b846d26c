package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrInvalidPolicy is wrapped by every error Parse returns.
var ErrInvalidPolicy = errors.New("invalid policy")

// ParseError says where a policy is wrong: the statement (numbered from 1, 0
// for the document itself), its Sid, the field and the problem.
type ParseError struct {
	Statement int
	Sid       string
	Field     string
	Problem   string
}

func (e *ParseError) Error() string {
	var where []string
	if e.Statement > 0 {
		s := fmt.Sprintf("statement %d", e.Statement)
		if e.Sid != "" {
			s += fmt.Sprintf(" (Sid %q)", e.Sid)
		}
		where = append(where, s)
	}
	if e.Field != "" {
		where = append(where, e.Field)
	}
	if len(where) == 0 {
		return "invalid policy: " + e.Problem
	}
	return "invalid policy: " + strings.Join(where, ": ") + ": " + e.Problem
}

func (e *ParseError) Unwrap() error { return ErrInvalidPolicy }

// maxNesting bounds how deep a policy's JSON may nest; real policies need 5.
const maxNesting = 32

// Parse reads a policy document as AWS accepts it for a VPC endpoint. It is
// stricter than AWS where AWS is ambiguous (duplicate keys, unknown elements),
// because a policy this package cannot read exactly must never pass a check.
func Parse(data []byte) (*Document, error) {
	if n := utf8.RuneCount(data); n > MaxPolicyLength {
		return nil, &ParseError{Problem: fmt.Sprintf("%d characters, over the %d-character limit for endpoint policies", n, MaxPolicyLength)}
	}
	if !utf8.Valid(data) {
		return nil, &ParseError{Problem: "not valid UTF-8"}
	}
	tree, err := decodeTree(data)
	if err != nil {
		return nil, err
	}
	top, ok := tree.(map[string]any)
	if !ok {
		return nil, &ParseError{Problem: "the document must be a JSON object, got " + typeName(tree)}
	}
	doc := &Document{}
	for key, raw := range top {
		switch key {
		case "Version":
			v, err := decodeString(raw)
			if err != nil {
				return nil, &ParseError{Field: "Version", Problem: err.Error()}
			}
			if v != Version2008 && v != Version2012 {
				return nil, &ParseError{Field: "Version", Problem: fmt.Sprintf("%q is not a policy language version (use %s or %s)", v, Version2012, Version2008)}
			}
			doc.version = v
		case "Id":
			v, err := decodeString(raw)
			if err != nil {
				return nil, &ParseError{Field: "Id", Problem: err.Error()}
			}
			doc.id = v
		case "Statement":
		default:
			return nil, &ParseError{Field: key, Problem: "unknown element (expected Version, Id or Statement)"}
		}
	}
	raw, ok := top["Statement"]
	if !ok {
		return nil, &ParseError{Field: "Statement", Problem: "missing"}
	}
	list, isList := raw.([]any)
	if !isList {
		list = []any{raw}
	}
	doc.statements = make([]Statement, 0, len(list))
	for i, r := range list {
		st, err := parseStatement(i+1, r)
		if err != nil {
			return nil, err
		}
		doc.statements = append(doc.statements, st)
	}
	doc.compile()
	return doc, nil
}

var statementFields = map[string]bool{
	"Sid": true, "Effect": true, "Principal": true, "NotPrincipal": true,
	"Action": true, "NotAction": true, "Resource": true, "NotResource": true, "Condition": true,
}

func parseStatement(number int, raw any) (Statement, error) {
	st := Statement{Number: number}
	fields, ok := raw.(map[string]any)
	if !ok {
		return st, &ParseError{Statement: number, Problem: "a statement must be a JSON object, got " + typeName(raw)}
	}
	fail := func(field, format string, args ...any) error {
		return &ParseError{Statement: number, Sid: st.Sid, Field: field, Problem: fmt.Sprintf(format, args...)}
	}
	if r, ok := fields["Sid"]; ok {
		sid, err := decodeString(r)
		if err != nil {
			return st, fail("Sid", "%v", err)
		}
		st.Sid = sid
	}
	for _, key := range sortedKeys(fields) {
		if !statementFields[key] {
			return st, fail(key, "unknown element")
		}
	}

	rawEffect, hasEffect := fields["Effect"]
	effect, err := decodeString(rawEffect)
	switch {
	case !hasEffect:
		return st, fail("Effect", "missing")
	case err != nil:
		return st, fail("Effect", "%v", err)
	case effect != string(Allow) && effect != string(Deny):
		return st, fail("Effect", "%q is neither Allow nor Deny", effect)
	}
	st.Effect = Effect(effect)

	if st.Principal, err = parsePrincipalElement(fields); err != nil {
		return st, fail(principalFieldName(fields), "%v", err)
	}
	if st.Action, err = parseValues(fields, "Action", "NotAction", validAction); err != nil {
		return st, fail(err.(*fieldError).field, "%v", err.(*fieldError).problem)
	}
	if st.Resource, err = parseValues(fields, "Resource", "NotResource", validResource); err != nil {
		return st, fail(err.(*fieldError).field, "%v", err.(*fieldError).problem)
	}
	if r, ok := fields["Condition"]; ok {
		if st.Conditions, err = parseConditions(r); err != nil {
			return st, fail("Condition", "%v", err)
		}
	}
	return st, nil
}

type fieldError struct{ field, problem string }

func (e *fieldError) Error() string { return e.field + ": " + e.problem }

// parseValues reads the pair Action/NotAction (or Resource/NotResource): exactly
// one of them, as a string or a non-empty list of strings.
func parseValues(fields map[string]any, name, notName string, valid func(string) error) (Values, error) {
	pos, hasPos := fields[name]
	neg, hasNeg := fields[notName]
	switch {
	case hasPos && hasNeg:
		return Values{}, &fieldError{name, "both " + name + " and " + notName + " are set; use one"}
	case !hasPos && !hasNeg:
		return Values{}, &fieldError{name, "missing (one of " + name + " or " + notName + " is required)"}
	}
	field, raw := name, pos
	if hasNeg {
		field, raw = notName, neg
	}
	list, err := decodeStringList(raw)
	if err != nil {
		return Values{}, &fieldError{field, err.Error()}
	}
	for _, v := range list {
		if err := valid(v); err != nil {
			return Values{}, &fieldError{field, err.Error()}
		}
	}
	return Values{Not: hasNeg, Values: list}, nil
}

func validAction(a string) error {
	if a == "*" || isActionShape(a) {
		return nil
	}
	return fmt.Errorf("%q is not an action (expected \"*\" or \"service:Action\", wildcards allowed)", a)
}

func validResource(r string) error {
	if r == "*" || strings.HasPrefix(r, "arn:") {
		return nil
	}
	return fmt.Errorf("%q is not a resource (expected \"*\" or an ARN)", r)
}

func principalFieldName(fields map[string]any) string {
	if _, ok := fields["NotPrincipal"]; ok {
		return "NotPrincipal"
	}
	return "Principal"
}

// isActionShape reports whether a is service:Action: letters, digits, * and ?
// on both sides, and - in the service. A check by hand, not a regular
// expression: it runs for every action of every policy a sweep reads.
func isActionShape(a string) bool {
	service, action, ok := strings.Cut(a, ":")
	if !ok || service == "" || action == "" {
		return false
	}
	for i := 0; i < len(service); i++ {
		if c := service[i]; !isAlnum(c) && c != '*' && c != '?' && c != '-' {
			return false
		}
	}
	for i := 0; i < len(action); i++ {
		if c := action[i]; !isAlnum(c) && c != '*' && c != '?' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// isAccountID reports whether s is a 12-digit AWS account ID.
func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func parsePrincipalElement(fields map[string]any) (Principal, error) {
	pos, hasPos := fields["Principal"]
	neg, hasNeg := fields["NotPrincipal"]
	if hasPos && hasNeg {
		return Principal{}, errors.New("both Principal and NotPrincipal are set; use one")
	}
	if !hasPos && !hasNeg {
		return Principal{}, nil
	}
	raw := pos
	if hasNeg {
		raw = neg
	}
	p := Principal{Present: true, Not: hasNeg}
	if s, err := decodeString(raw); err == nil {
		if s != "*" {
			return p, fmt.Errorf("%q: a principal given as a string must be \"*\"; name others as {\"AWS\": ...}", s)
		}
		p.Any = true
		return p, nil
	}
	kinds, ok := raw.(map[string]any)
	if !ok {
		return p, fmt.Errorf("must be \"*\" or an object such as {\"AWS\": ...}, got %s", typeName(raw))
	}
	if len(kinds) == 0 {
		return p, errors.New("names no principal")
	}
	for _, kind := range sortedKeys(kinds) {
		list, err := decodeStringList(kinds[kind])
		if err != nil {
			return p, fmt.Errorf("%s: %v", kind, err)
		}
		for _, v := range list {
			if err := validPrincipal(kind, v); err != nil {
				return p, fmt.Errorf("%s: %v", kind, err)
			}
		}
		switch kind {
		case "AWS":
			for _, v := range list {
				if v == "*" {
					p.Any = true
				} else {
					p.AWS = append(p.AWS, v)
				}
			}
		case "Service":
			p.Service = list
		case "Federated":
			p.Federated = list
		case "CanonicalUser":
			p.CanonicalUser = list
		default:
			return p, fmt.Errorf("unknown principal type %q (expected AWS, Service, Federated or CanonicalUser)", kind)
		}
	}
	return p, nil
}

func validPrincipal(kind, v string) error {
	if kind == "AWS" {
		if v == "*" || isAccountID(v) || strings.HasPrefix(v, "arn:") && !strings.ContainsAny(v, "*?") {
			return nil
		}
		return fmt.Errorf("%q is not \"*\", an account ID or an ARN without wildcards", v)
	}
	if v == "" || strings.ContainsAny(v, "*?") {
		return fmt.Errorf("%q: must be a name without wildcards", v)
	}
	return nil
}

func parseConditions(raw any) ([]Condition, error) {
	ops, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("must be an object of operators, got %s", typeName(raw))
	}
	var out []Condition
	// Keys ignore case, and an operator spelled in another case is one some
	// reader might take for the real one: the same pair twice would be two
	// conditions that reader might merge into one.
	seen := map[string]bool{}
	for _, op := range sortedKeys(ops) {
		keys, ok := ops[op].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: must be an object of condition keys, got %s", op, typeName(ops[op]))
		}
		if len(keys) == 0 {
			return nil, fmt.Errorf("%s: names no condition key", op)
		}
		for _, key := range sortedKeys(keys) {
			pair := asciiLowerString(op) + "\x00" + foldKey(key)
			if seen[pair] {
				return nil, fmt.Errorf("%s: %s: duplicate condition key (the same operator and key in another case)", op, key)
			}
			seen[pair] = true
			values, err := decodeConditionValues(keys[key])
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %v", op, key, err)
			}
			out = append(out, Condition{Operator: op, Key: key, Values: values})
		}
	}
	return out, nil
}

// decodeConditionValues accepts a string, number or boolean, or a list of them.
func decodeConditionValues(raw any) ([]string, error) {
	items, isList := raw.([]any)
	if !isList {
		items = []any{raw}
	} else if len(items) == 0 {
		return nil, errors.New("an empty list of values")
	}
	values := make([]string, 0, len(items))
	for _, item := range items {
		switch v := item.(type) {
		case string:
			values = append(values, v)
		case json.Number:
			values = append(values, v.String())
		case bool:
			values = append(values, strconv.FormatBool(v))
		default:
			return nil, fmt.Errorf("a value must be a string, number or boolean, got %s", typeName(item))
		}
	}
	return values, nil
}

func decodeString(raw any) (string, error) {
	s, ok := raw.(string)
	if !ok {
		return "", fmt.Errorf("must be a string, got %s", typeName(raw))
	}
	return s, nil
}

// decodeStringList accepts a string or a non-empty list of non-empty strings.
func decodeStringList(raw any) ([]string, error) {
	switch v := raw.(type) {
	case string:
		if v == "" {
			return nil, errors.New("an empty string")
		}
		return []string{v}, nil
	case []any:
		if len(v) == 0 {
			return nil, errors.New("an empty list")
		}
		list := make([]string, len(v))
		for i, item := range v {
			s, ok := item.(string)
			if !ok {
				return nil, fmt.Errorf("must be a string or a list of strings, got a list holding %s", typeName(item))
			}
			if s == "" {
				return nil, errors.New("an empty string in the list")
			}
			list[i] = s
		}
		return list, nil
	}
	return nil, fmt.Errorf("must be a string or a list of strings, got %s", typeName(raw))
}

// typeName names the JSON type of a decoded value for error messages.
func typeName(v any) string {
	switch v := v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		if len(v) == 0 {
			return "an empty list"
		}
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case nil:
		return "null"
	}
	return "an unexpected value"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
