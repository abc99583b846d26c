package policy

import (
	"fmt"
	"unicode/utf8"
)

// The bounds on what one verdict says, so that a policy built to make a
// check talk cannot make an outcome big: at most MaxReasons reasons and
// MaxNotes notes, each at most MaxMessageLength characters and
// maxMessageJSON bytes once encoded as a JSON string, then one line "and N
// more". An outcome with both lists full stays well under 16 KB.
const (
	MaxReasons       = 15
	MaxNotes         = 5
	MaxMessageLength = 512
	maxMessageJSON   = 640
)

// messages collects reasons or notes: each once, the first few in full, the
// rest only counted.
type messages struct {
	limit int
	list  []string
	seen  map[string]bool
	more  int
}

func newMessages(limit int) *messages { return &messages{limit: limit} }

// full reports whether a further message would only be counted; callers
// check it to skip building text nobody will read.
func (m *messages) full() bool { return len(m.list) >= m.limit }

// count records a message that is not built because the list is full.
func (m *messages) count() { m.more++ }

func (m *messages) add(s string) {
	s = brief(s)
	switch {
	case m.seen[s]:
	case m.full():
		m.more++
	default:
		if m.seen == nil {
			m.seen = map[string]bool{}
		}
		m.seen[s] = true
		m.list = append(m.list, s)
	}
}

// result is the list with a last line for what was left out, nil when empty.
func (m *messages) result() []string {
	if m.more > 0 {
		return append(m.list, fmt.Sprintf("and %d more", m.more))
	}
	return m.list
}

// Brief bounds a list of messages as Check bounds its reasons: duplicates
// dropped, at most limit kept, each cut to MaxMessageLength characters, and
// a last line "and N more". For messages made outside Check, such as a parse
// error quoting a long value.
func Brief(list []string, limit int) []string {
	m := newMessages(limit)
	for _, s := range list {
		m.add(s)
	}
	return m.result()
}

// brief cuts s to MaxMessageLength characters and maxMessageJSON bytes as
// encoding/json would write it, marking the cut with an ellipsis.
func brief(s string) string {
	chars, size, cut := 0, 0, -1
	for i, r := range s {
		if chars == MaxMessageLength-1 || size+jsonSize(r) > maxMessageJSON-len("…") {
			if cut < 0 {
				cut = i // where the text ends if it must make room for the ellipsis
			}
		}
		chars++
		size += jsonSize(r)
		if chars > MaxMessageLength || size > maxMessageJSON {
			return s[:cut] + "…"
		}
	}
	return s
}

// jsonSize is how many bytes encoding/json writes for r inside a string,
// HTML escaping included.
func jsonSize(r rune) int {
	switch {
	case r == '"' || r == '\\':
		return 2
	case r < 0x20 || r == '<' || r == '>' || r == '&' || r == '\u2028' || r == '\u2029' || r == utf8.RuneError:
		return 6
	}
	return utf8.RuneLen(r)
}
