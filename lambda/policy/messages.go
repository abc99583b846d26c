package policy

import (
	"fmt"
	"hash/maphash"
	"slices"
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
	more  int
	// left holds a hash of each message left out, so that the count is of
	// different ones; made only when the list overflows.
	left map[uint64]bool
}

func newMessages(limit int) *messages { return &messages{limit: limit} }

// full reports whether a further message would only be counted; callers
// check it to skip building text nobody will read.
func (m *messages) full() bool { return len(m.list) >= m.limit }

// count records a message that is not built because the list is full; the
// caller knows it differs from every other.
func (m *messages) count() { m.more++ }

func (m *messages) add(s string) {
	s = brief(s)
	switch {
	case slices.Contains(m.list, s): // a short list: a scan is enough
	case m.full():
		if m.left == nil {
			m.left = map[uint64]bool{}
		}
		if h := maphash.String(messageSeed, s); !m.left[h] {
			m.left[h] = true
			m.more++
		}
	default:
		m.list = append(m.list, s)
	}
}

var messageSeed = maphash.MakeSeed()

// result is the list with a last line for what was left out, nil when empty.
func (m *messages) result() []string {
	if m.more > 0 {
		return append(m.list, MoreLine(m.more))
	}
	return m.list
}

// moreFormat is the last line of a bounded list: how many were left out.
const moreFormat = "and %d more"

// MoreLine is the last line of a list that leaves n messages out.
func MoreLine(n int) string { return fmt.Sprintf(moreFormat, n) }

// SplitMore parts a list Check or Brief bounded into the messages it holds
// and how many it left out, so that a caller bounding it further counts
// them all.
func SplitMore(list []string) (kept []string, more int) {
	if n := len(list); n > 0 {
		if _, err := fmt.Sscanf(list[n-1], moreFormat, &more); err == nil {
			return list[:n-1], more
		}
	}
	return list, 0
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
	if plainAndShort(s) {
		return s
	}
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

// plainAndShort reports whether s is short ASCII that JSON writes as it is,
// the usual message, which needs no counting.
func plainAndShort(s string) bool {
	if len(s) > MaxMessageLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
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
