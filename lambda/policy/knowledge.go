package policy

import (
	"slices"
	"strings"
	"sync"

	"github.com/vpce-guard/vpce-guard/lambda/policy/internal/resourcetypes"
)

// KnownServices are the service prefixes whose actions the check knows the
// resource types of, from AWS's Service Authorization Reference.
func KnownServices() []string { return resourcetypes.Services() }

// actionTable is what the reference says of the known actions, compiled
// once for every check: a class for each set of ARN formats that actions
// share, since a request for an action names a resource of one of them.
type actionTable struct {
	actions []knownAction
	byLower []int // actions in order of lower, for the names a literal prefix starts
	classes []actionClass
	// all matches every known action: out of it are the actions the table
	// does not know, which may be authorized on anything.
	all *patternList
	// order is the order classes are searched in: those of the preferred
	// actions first, so that witnesses name them.
	order []int
}

type knownAction struct {
	name    string // service:Name as AWS spells it
	service string
	lower   string // as compiled action patterns match it
}

type actionClass struct {
	members bitset       // of actions
	formats *patternList // nil: any resource
	// named is formats with a name in every placeholder: at least one
	// character, and no colon, as AWS names regions, accounts and
	// resources. Only witnesses prefer it: the check holds a policy to
	// formats, whatever names AWS takes.
	named *patternList
}

// Lists the table makes have ids below zero; a check numbers its own from 1.
var knownActions = sync.OnceValue(func() *actionTable {
	t := &actionTable{all: &patternList{id: -1}}
	byFormats := map[string]int{}
	for _, service := range resourcetypes.Services() {
		for _, a := range resourcetypes.Actions(service) {
			key := strings.Join(a.Formats, "\n")
			c, ok := byFormats[key]
			if !ok {
				c = len(t.classes)
				byFormats[key] = c
				class := actionClass{}
				if len(a.Formats) > 0 {
					class.formats, class.named = &patternList{id: -2 - c}, &patternList{}
					for _, f := range a.Formats {
						class.formats.patterns = append(class.formats.patterns, compileFormat(f, false))
						class.formats.texts = append(class.formats.texts, f)
						class.named.patterns = append(class.named.patterns, compileFormat(f, true))
						class.named.texts = append(class.named.texts, f)
					}
				}
				t.classes = append(t.classes, class)
			}
			lower := service + ":" + strings.ToLower(a.Name)
			t.actions = append(t.actions, knownAction{name: service + ":" + a.Name, service: service, lower: lower})
			t.all.patterns = append(t.all.patterns, literalPattern(lower))
		}
	}
	for c := range t.classes {
		if named := t.classes[c].named; named != nil {
			named.id = -2 - len(t.classes) - c
		}
	}
	t.byLower = make([]int, len(t.actions))
	for i := range t.byLower {
		t.byLower[i] = i
	}
	slices.SortFunc(t.byLower, func(a, b int) int { return strings.Compare(t.actions[a].lower, t.actions[b].lower) })
	// Members as bit sets over the actions, once their number is known.
	for i := range t.classes {
		t.classes[i].members = newBitset(len(t.actions))
	}
	i := 0
	for _, service := range resourcetypes.Services() {
		for _, a := range resourcetypes.Actions(service) {
			t.classes[byFormats[strings.Join(a.Formats, "\n")]].members.add(i)
			i++
		}
	}
	for _, name := range preferred {
		for c, class := range t.classes {
			if j := slices.IndexFunc(t.actions, func(a knownAction) bool { return a.lower == name }); j >= 0 && class.members.has(j) && !slices.Contains(t.order, c) {
				t.order = append(t.order, c)
			}
		}
	}
	for c := range t.classes {
		if !slices.Contains(t.order, c) {
			t.order = append(t.order, c)
		}
	}
	return t
})

// compileFormat reads an ARN format of the reference: each ${Placeholder}
// any text, without a colon in the first five parts of the ARN (partition,
// service, region, account), which never hold one; named, a name there: at
// least one character, none of them a colon.
func compileFormat(f string, named bool) pattern {
	var p pattern
	colons := 0
	for i := 0; i < len(f); i++ {
		if f[i] == '$' && i+1 < len(f) && f[i+1] == '{' {
			if end := strings.IndexByte(f[i:], '}'); end > 0 {
				kind := anyRun
				if colons < 5 || named {
					kind = anyRunInSegment
				}
				if named {
					p = append(p, token{kind: anyCharInSegment})
				}
				p = appendStar(p, kind)
				i += end
				continue
			}
		}
		if f[i] == ':' {
			colons++
		}
		p = append(p, token{kind: literal, char: rune(f[i])})
	}
	return p
}

// members are the known actions the list matches: for each pattern, only
// the names that start with its literal prefix are tried.
func (t *actionTable) members(l *patternList) bitset {
	b := newBitset(len(t.actions))
	for _, p := range l.patterns {
		n := p.literalPrefixLen()
		// "prefix*", the usual shape, takes in every name it starts.
		wholeRange := n == len(p)-1 && p[n].kind == anyRun
		var prefix strings.Builder
		for _, tok := range p[:n] {
			prefix.WriteRune(tok.char)
		}
		from, _ := slices.BinarySearchFunc(t.byLower, prefix.String(), func(i int, s string) int { return strings.Compare(t.actions[i].lower, s) })
		for _, i := range t.byLower[from:] {
			if !strings.HasPrefix(t.actions[i].lower, prefix.String()) {
				break
			}
			if wholeRange || !b.has(i) && p.match(t.actions[i].lower) {
				b.add(i)
			}
		}
	}
	return b
}

// carriedList matches the actions of the carried services, "logs:*" for
// logs; nil when every action counts.
func carriedList(carries []string, id int) *patternList {
	if len(carries) == 0 {
		return nil
	}
	l := &patternList{id: id}
	for _, c := range carries {
		text := c + ":*"
		l.patterns, l.texts = append(l.patterns, compileGlob(text, true)), append(l.texts, text)
	}
	return l
}

// preferred are the actions a witness names first when it may name any of
// them, because they tell the story of an endpoint best: data going out.
var preferred = []string{"logs:putlogevents", "logs:createlogstream", "events:putevents", "logs:createexporttask", "logs:putsubscriptionfilter"}

// pick is the known action a witness names among b: a preferred one, or
// the first.
func (t *actionTable) pick(b bitset) int {
	for _, name := range preferred {
		if i := slices.IndexFunc(t.actions, func(a knownAction) bool { return a.lower == name }); i >= 0 && b.has(i) {
			return i
		}
	}
	return b.first()
}

// possible reports whether AWS may authorize the action on the resource
// through an endpoint that carries carries (none: every service): an action
// the table knows only on the resources of its types.
func (t *actionTable) possible(action, resource string, carries []string) bool {
	lower := asciiLowerString(action)
	service, _, _ := strings.Cut(lower, ":")
	if len(carries) > 0 && !slices.ContainsFunc(carries, func(c string) bool { return asciiLowerString(c) == service }) {
		return false
	}
	i := slices.IndexFunc(t.actions, func(a knownAction) bool { return a.lower == lower })
	if i < 0 {
		return true
	}
	for _, c := range t.classes {
		if c.members.has(i) {
			return c.formats == nil || c.formats.matches(resource)
		}
	}
	return true
}
