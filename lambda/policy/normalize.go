package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Normalize returns a copy in canonical form: actions lower-cased, every list
// sorted and without duplicates, condition keys lower-cased (ASCII only, as
// everywhere keys compare). Two policies that differ only in those respects
// normalize to the same document.
func (d *Document) Normalize() *Document {
	out := &Document{version: d.version, id: d.id}
	for _, st := range d.statements {
		n := Statement{Number: st.Number, Sid: st.Sid, Effect: st.Effect}
		n.Principal = st.Principal
		n.Principal.AWS = sortedSet(st.Principal.AWS)
		n.Principal.Service = sortedSet(st.Principal.Service)
		n.Principal.Federated = sortedSet(st.Principal.Federated)
		n.Principal.CanonicalUser = sortedSet(st.Principal.CanonicalUser)
		actions := make([]string, len(st.Action.Values))
		for i, a := range st.Action.Values {
			actions[i] = asciiLowerString(a)
		}
		n.Action = Values{Not: st.Action.Not, Values: sortedSet(actions)}
		n.Resource = Values{Not: st.Resource.Not, Values: sortedSet(st.Resource.Values)}
		for _, c := range st.Conditions {
			n.Conditions = append(n.Conditions, Condition{Operator: c.Operator, Key: foldKey(c.Key), Values: sortedSet(c.Values)})
		}
		slices.SortFunc(n.Conditions, func(a, b Condition) int {
			return strings.Compare(a.Operator+"\x00"+a.Key, b.Operator+"\x00"+b.Key)
		})
		out.statements = append(out.statements, n)
	}
	return out
}

func sortedSet(list []string) []string {
	if list == nil {
		return nil
	}
	out := slices.Clone(list)
	slices.Sort(out)
	return slices.Compact(out)
}

// JSON renders the document with its elements in a fixed order and every list
// as a JSON list, indented: stable output for a normalized document.
func (d *Document) JSON() []byte {
	var b bytes.Buffer
	b.WriteString("{\n")
	if d.version != "" {
		fmt.Fprintf(&b, "  \"Version\": %s,\n", marshal(d.version))
	}
	if d.id != "" {
		fmt.Fprintf(&b, "  \"Id\": %s,\n", marshal(d.id))
	}
	b.WriteString("  \"Statement\": [")
	for i := range d.statements {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n    ")
		b.Write(d.statements[i].json(true))
	}
	b.WriteString("\n  ]\n}\n")
	return b.Bytes()
}

// json renders one statement on one line; withSid false leaves the Sid out,
// for comparisons where it is only a label.
func (st *Statement) json(withSid bool) []byte {
	var fields []string
	add := func(name string, value any) {
		fields = append(fields, marshal(name)+": "+marshal(value))
	}
	if withSid && st.Sid != "" {
		add("Sid", st.Sid)
	}
	add("Effect", string(st.Effect))
	if p := st.Principal; p.Present {
		name := "Principal"
		if p.Not {
			name = "NotPrincipal"
		}
		if p.Any && len(p.AWS)+len(p.Service)+len(p.Federated)+len(p.CanonicalUser) == 0 {
			add(name, "*")
		} else {
			m := map[string][]string{}
			aws := p.AWS
			if p.Any {
				aws = append([]string{"*"}, aws...)
			}
			for k, v := range map[string][]string{"AWS": aws, "Service": p.Service, "Federated": p.Federated, "CanonicalUser": p.CanonicalUser} {
				if len(v) > 0 {
					m[k] = v
				}
			}
			add(name, m)
		}
	}
	if st.Action.Not {
		add("NotAction", st.Action.Values)
	} else {
		add("Action", st.Action.Values)
	}
	if st.Resource.Not {
		add("NotResource", st.Resource.Values)
	} else {
		add("Resource", st.Resource.Values)
	}
	if len(st.Conditions) > 0 {
		block := map[string]map[string][]string{}
		for _, c := range st.Conditions {
			if block[c.Operator] == nil {
				block[c.Operator] = map[string][]string{}
			}
			block[c.Operator][c.Key] = append(block[c.Operator][c.Key], c.Values...)
		}
		add("Condition", block)
	}
	return []byte("{" + strings.Join(fields, ", ") + "}")
}

// marshal encodes without escaping <, > and &, which policies use as text.
func marshal(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // strings, lists and maps of them always encode
	return strings.TrimSuffix(b.String(), "\n")
}

// exactDifferences compares the normalized statements of both documents as
// multisets, ignoring Sids and order.
func exactDifferences(policy, template *Document, reasons *messages) {
	remaining := map[string]int{}
	for _, st := range template.Normalize().statements {
		remaining[exactKey(&st, template.version)]++
	}
	for _, st := range policy.Normalize().statements {
		key := exactKey(&st, policy.version)
		if remaining[key] > 0 {
			remaining[key]--
			continue
		}
		reasons.add(fmt.Sprintf("%s is not in the template: %s", st.label(), key))
	}
	for _, st := range template.Normalize().statements {
		key := exactKey(&st, template.version)
		if remaining[key] > 0 {
			remaining[key]--
			reasons.add(fmt.Sprintf("the template's %s is missing from the policy: %s", st.label(), key))
		}
	}
}

// exactKey identifies a statement for exact comparison. The version matters
// only where it changes the meaning: ${...} is a variable in 2012-10-17 and
// text before it.
func exactKey(st *Statement, version string) string {
	key := string(st.json(false))
	if strings.Contains(key, "${") {
		if version != Version2012 {
			version = Version2008
		}
		key += " (version " + version + ")"
	}
	return key
}
