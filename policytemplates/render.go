package policytemplates

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/vpce-guard/vpce-guard/lambda/policy"
)

// Template names.
const (
	Logs       = "logs"
	LogsStrict = "logs-strict"
	Syslog     = "syslog"
	Events     = "events"
)

// MaxPolicyLength is the most characters, white space included, that a VPC
// endpoint policy may have. It is the policy package's: a template is a
// policy, this package sits above the one that reads policies, and Parse
// enforces the same limit on every policy it reads.
const MaxPolicyLength = policy.MaxPolicyLength

var (
	// ErrUnknownTemplate is returned by Render for a name not in Names.
	ErrUnknownTemplate = errors.New("unknown policy template")
	// ErrPolicyTooLarge is returned by Render when the policy would exceed
	// MaxPolicyLength, which takes many or long log-group patterns.
	ErrPolicyTooLarge = errors.New("rendered policy too large for a VPC endpoint")
)

//go:embed templates/*.json templates/organization/*.json
var templateFiles embed.FS

const (
	logGroupPlaceholder = "{{logGroup}}"
	accountPlaceholder  = "{{account}}"
	// tagExceptionMarker, a member of a statement, keeps the statement only
	// when Params.TagException is set.
	tagExceptionMarker = "{{ifTagException}}"
	// carriesMarker, a member of the document, lists the service prefixes
	// of the actions the template's endpoints carry (Carries); rendering
	// leaves it out.
	carriesMarker = "{{carries}}"
)

// Carries returns the service prefixes of the actions that the endpoints
// the named template guards carry, as the template declares them: a
// CloudWatch Logs endpoint evaluates only logs: requests, so a statement
// of other services' actions lets nothing through it.
func Carries(name string) ([]string, error) {
	if !slices.Contains(Names(), name) {
		return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownTemplate, name, strings.Join(Names(), ", "))
	}
	var forms [][]string
	for _, file := range []string{"templates/" + name + ".json", "templates/organization/" + name + ".json"} {
		carries, err := declaredCarries(file)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		forms = append(forms, carries)
	}
	if !slices.Equal(forms[0], forms[1]) {
		return nil, fmt.Errorf("template %s: its organization form carries %q, its own form %q", name, forms[1], forms[0])
	}
	return forms[0], nil
}

func declaredCarries(file string) ([]string, error) {
	source, err := templateFiles.ReadFile(file)
	if err != nil {
		return nil, err // cannot happen: Names lists the embedded files
	}
	tree, err := decodeOrdered(source)
	if err != nil {
		return nil, err
	}
	if doc, ok := tree.(object); ok {
		for _, m := range doc {
			if list, ok := m.value.([]any); ok && m.key == carriesMarker {
				var out []string
				for _, v := range list {
					if s, ok := v.(string); ok && s != "" {
						out = append(out, s)
					}
				}
				if len(out) == len(list) && len(out) > 0 {
					return out, nil
				}
			}
		}
	}
	return nil, fmt.Errorf("%s: no list of service prefixes in %s", file, carriesMarker)
}

// Names returns the template names in alphabetical order.
func Names() []string {
	entries, err := fs.ReadDir(templateFiles, "templates")
	if err != nil {
		return nil // cannot happen: the directory is embedded
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() { // organization/ holds the same names' organization forms
			names = append(names, strings.TrimSuffix(e.Name(), ".json"))
		}
	}
	slices.Sort(names) // by name, not file name: logs before logs-strict
	return names
}

// Render returns the named template filled in with p, as indented JSON: its
// organization form when p.OrganizationID is set.
func Render(name string, p Params) ([]byte, error) {
	if !slices.Contains(Names(), name) {
		return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownTemplate, name, strings.Join(Names(), ", "))
	}
	file := "templates/" + name + ".json"
	if p.OrganizationID != "" {
		file = "templates/organization/" + name + ".json"
	}
	source, err := templateFiles.ReadFile(file)
	if err != nil {
		return nil, err // cannot happen: Names lists the embedded files
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	if p.Partition == "" {
		p.Partition = PartitionForRegion(p.Region)
	}

	tree, err := decodeOrdered(source)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	r := renderer{
		vars:         strings.NewReplacer("{{partition}}", p.Partition, "{{region}}", p.Region, "{{organization}}", p.OrganizationID),
		accounts:     p.accounts(),
		logGroups:    logGroupResources(p.LogGroupPatterns),
		tagException: p.TagException,
	}
	tree, err = r.fill(tree)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	policy, err := json.MarshalIndent(tree, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	if n := utf8.RuneCount(policy); n > MaxPolicyLength {
		return nil, fmt.Errorf("%w: %s with %d log-group patterns and %d accounts is %d characters, the limit is %d",
			ErrPolicyTooLarge, name, len(p.LogGroupPatterns), len(r.accounts), n, MaxPolicyLength)
	}
	return policy, nil
}

// logGroupResources turns name patterns into what follows "log-group:" in the
// ARNs to allow. An ARN names a log group as NAME, NAME:* or
// NAME:log-stream:S; a pattern ending in * covers all three, any other one
// needs NAME:* as well.
func logGroupResources(patterns []string) []string {
	if len(patterns) == 0 {
		return []string{"*"}
	}
	var resources []string
	for _, p := range patterns {
		resources = append(resources, p)
		if !strings.HasSuffix(p, "*") {
			resources = append(resources, p+":*")
		}
	}
	return uniqueInOrder(resources)
}

func uniqueInOrder(items []string) []string {
	var out []string
	for _, s := range items {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

type renderer struct {
	vars         *strings.Replacer
	accounts     []string
	logGroups    []string
	tagException bool
}

// fill substitutes the placeholders in every string value of a decoded
// template. A list element holding {{account}} or {{logGroup}} becomes one
// element per account and log-group resource; a statement marked
// {{ifTagException}} stays only with the tag exception.
func (r renderer) fill(v any) (any, error) {
	switch v := v.(type) {
	case object:
		out := make(object, 0, len(v))
		for _, m := range v {
			if m.key == tagExceptionMarker || m.key == carriesMarker {
				continue
			}
			value, err := r.fill(m.value)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", m.key, err)
			}
			out = append(out, member{key: m.key, value: value})
		}
		return out, nil
	case []any:
		out := []any{}
		for _, elem := range v {
			if o, ok := elem.(object); ok && o.has(tagExceptionMarker) && !r.tagException {
				continue
			}
			if s, ok := elem.(string); ok && (strings.Contains(s, logGroupPlaceholder) || strings.Contains(s, accountPlaceholder)) {
				accounts, groups := []string{""}, []string{""} // a placeholder not in s takes no turns
				if strings.Contains(s, accountPlaceholder) {
					accounts = r.accounts
				}
				if strings.Contains(s, logGroupPlaceholder) {
					groups = r.logGroups
				}
				for _, account := range accounts {
					for _, group := range groups {
						filled, err := r.fillString(strings.NewReplacer(accountPlaceholder, account, logGroupPlaceholder, group).Replace(s))
						if err != nil {
							return nil, err
						}
						out = append(out, filled)
					}
				}
				continue
			}
			filled, err := r.fill(elem)
			if err != nil {
				return nil, err
			}
			out = append(out, filled)
		}
		return out, nil
	case string:
		if strings.Contains(v, logGroupPlaceholder) {
			return nil, fmt.Errorf("%s outside a list in %q", logGroupPlaceholder, v)
		}
		if strings.Contains(v, accountPlaceholder) {
			if len(r.accounts) > 1 {
				return nil, fmt.Errorf("%s outside a list in %q, with more than one account", accountPlaceholder, v)
			}
			v = strings.ReplaceAll(v, accountPlaceholder, r.accounts[0])
		}
		return r.fillString(v)
	default:
		return v, nil
	}
}

func (r renderer) fillString(s string) (string, error) {
	filled := r.vars.Replace(s)
	// Validated values hold no braces, so any left over come from the template.
	if strings.Contains(filled, "{{") {
		return "", fmt.Errorf("unknown placeholder in %q", s)
	}
	return filled, nil
}

// object is a JSON object that keeps its members in source order, so that a
// rendered policy reads like its template: Version first, Sid before Effect.
type object []member

type member struct {
	key   string
	value any
}

func (o object) has(key string) bool {
	for _, m := range o {
		if m.key == key {
			return true
		}
	}
	return false
}

func (o object) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		key, err := json.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		value, err := json.Marshal(m.value)
		if err != nil {
			return nil, err
		}
		buf.Write(key)
		buf.WriteByte(':')
		buf.Write(value)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// decodeOrdered parses one JSON value into object, []any, string,
// json.Number, bool and nil.
func decodeOrdered(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the top-level value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		o := object{}
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				return nil, err
			}
			value, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			o = append(o, member{key: key.(string), value: value})
		}
		_, err := dec.Token() // the closing brace
		return o, err
	case json.Delim('['):
		list := []any{}
		for dec.More() {
			elem, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			list = append(list, elem)
		}
		_, err := dec.Token() // the closing bracket
		return list, err
	default:
		return tok, nil
	}
}
