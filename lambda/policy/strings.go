package policy

import (
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// patternList is a union of patterns: a statement's Action or Resource list
// read one way, a piece of one, or what the check adds (the actions an
// endpoint carries, a resource type's ARN formats). id tells lists apart in
// the memo of a check.
type patternList struct {
	id       int
	patterns []pattern
	texts    []string // as written, when there is a text: for readable witnesses
}

// stringSet is the set of strings that some pattern of every list of in
// matches and no pattern of any list of out does.
type stringSet struct {
	in, out []*patternList
}

func (s stringSet) with(l *patternList, inside bool) stringSet {
	if inside {
		return stringSet{in: append(slices.Clip(s.in), l), out: s.out}
	}
	return stringSet{in: s.in, out: append(slices.Clip(s.out), l)}
}

// has reports whether s is in the set.
func (s stringSet) has(str string) bool {
	for _, l := range s.in {
		if !l.matches(str) {
			return false
		}
	}
	for _, l := range s.out {
		if l.matches(str) {
			return false
		}
	}
	return true
}

// names are the list's patterns as plain strings, when there are many and
// each is one: the search walks such a list as a trie. nil otherwise.
func (l *patternList) names() []string {
	if len(l.patterns) < 8 {
		return nil
	}
	out := make([]string, 0, len(l.patterns))
	for _, p := range l.patterns {
		if p.literalPrefixLen() != len(p) {
			return nil
		}
		var b strings.Builder
		for _, t := range p {
			b.WriteRune(t.char)
		}
		out = append(out, b.String())
	}
	return out
}

// some reports whether f holds for some pattern of the list.
func (l *patternList) some(f func(pattern) bool) bool { return slices.ContainsFunc(l.patterns, f) }

// meets reports whether some pattern of l and some of o share a string.
func (l *patternList) meets(o *patternList) bool {
	return l.some(func(p pattern) bool { return o.some(p.intersects) })
}

func (l *patternList) matches(s string) bool {
	return l.some(func(p pattern) bool { return p.match(s) })
}

// answer is what a search found: a member, none, or, when the budget ran
// out, nothing known; every caller reads unknown as "may have members".
type answer uint8

const (
	empty answer = iota
	member
	unknown
)

type found struct {
	answer answer
	member string
}

// budget bounds the work of one check, whatever the documents: each search
// step spends from it, and once it is spent every open question is answered
// unknown, which the check reads against compliance.
type budget struct {
	left int
	// spent is set once a question went unanswered for lack of budget.
	spent bool
}

func (b *budget) spend(n int) bool {
	if b == nil {
		return true // no bound
	}
	if b.left < n {
		b.left, b.spent = 0, true
		return false
	}
	b.left -= n
	return true
}

// finder answers questions about string sets, each once per check.
type finder struct {
	budget *budget
	memo   map[string]found
	// fill gives members of a pattern that read well (its wildcards filled
	// with plausible text), which the finder tries before searching.
	fill func(pattern) []string
}

func (f *finder) key(s stringSet) string {
	ids := func(lists []*patternList) []int {
		out := make([]int, len(lists))
		for i, l := range lists {
			out[i] = l.id
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	var b strings.Builder
	for _, id := range ids(s.in) {
		b.WriteString(strconv.Itoa(id))
		b.WriteByte(',')
	}
	b.WriteByte('|')
	for _, id := range ids(s.out) {
		b.WriteString(strconv.Itoa(id))
		b.WriteByte(',')
	}
	return b.String()
}

// find answers whether the set has a member and, if so, gives the shortest.
func (f *finder) find(s stringSet) found {
	key := f.key(s)
	if r, ok := f.memo[key]; ok {
		return r
	}
	r, ok := f.quick(s)
	if !ok {
		r = f.search(s)
	}
	if f.memo == nil {
		f.memo = map[string]found{}
	}
	f.memo[key] = r
	return r
}

// nonEmpty reports whether the set may have members: true when unknown.
func (f *finder) nonEmpty(s stringSet) bool { return f.find(s).answer != empty }

// quick answers without a search where it can, exactly: a filled-in
// pattern of in that is a member, or a single pattern within a pattern of out.
func (f *finder) quick(s stringSet) (found, bool) {
	tries := 0
	for _, l := range slices.Backward(s.in) { // the lists added last are the most specific
		for _, p := range l.patterns {
			for _, candidate := range f.fill(p) {
				if tries++; tries > 32 {
					break
				}
				if s.has(candidate) {
					return found{answer: member, member: candidate}, true
				}
			}
		}
	}
	// Two lists of in no pattern of which meet leave nothing.
	for i, a := range s.in {
		for _, b := range s.in[i+1:] {
			if !a.meets(b) {
				return found{answer: empty}, true
			}
		}
	}
	// A list of in each pattern of which is within a pattern of out leaves
	// nothing: try the shortest lists first, on both sides.
	in := slices.Clone(s.in)
	out := slices.Clone(s.out)
	bySize := func(a, b *patternList) int { return len(a.patterns) - len(b.patterns) }
	slices.SortFunc(in, bySize)
	slices.SortFunc(out, bySize)
	for _, l := range in {
		if len(out) > 0 && slices.IndexFunc(l.patterns, func(p pattern) bool { return !withinSome(p, out) }) < 0 {
			return found{answer: empty}, true
		}
	}
	return found{}, false
}

func withinSome(p pattern, lists []*patternList) bool {
	return slices.ContainsFunc(lists, func(l *patternList) bool { return l.some(p.subsetOf) })
}

// search walks the product of the lists' automata breadth first, over the
// sets of states they can be in together, from the start to a set where every
// list of in has a pattern at its end and no list of out has. Characters that
// no pattern names behave alike, so one of them stands for all: besides the
// patterns' own characters it tries ':', one fresh character of one UTF-16
// unit and one beyond, which are what the wildcards tell apart. The answer is
// exact when the budget lasts.
func (f *finder) search(s stringSet) found {
	for _, l := range s.in {
		if len(l.patterns) == 0 {
			return found{answer: empty}
		}
	}
	for _, l := range s.out {
		if slices.Contains(s.in, l) || l.some(pattern.isUniversal) {
			return found{answer: empty}
		}
	}
	// A long list of plain names (the known actions, out of a set of
	// unknown ones) is walked as one position in their trie rather than as
	// as many automata.
	var names []string
	lists := slices.Clip(s.in)
	for _, l := range s.out {
		if n := l.names(); n != nil {
			names = append(names, n...)
		} else {
			lists = append(lists, l)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	outFrom := len(s.in) // lists from here on are out
	// Every pattern's states, one after another: a token at each state but
	// the last, which is the pattern's end. lo and hi bound each list's.
	var tokens []token
	var ends []bool
	lo, hi := make([]int, len(lists)), make([]int, len(lists))
	literals := map[rune]bool{}
	for li, l := range lists {
		lo[li] = len(tokens)
		for _, p := range l.patterns {
			for _, t := range p {
				tokens, ends = append(tokens, t), append(ends, false)
				if t.kind == literal {
					literals[t.char] = true
				}
			}
			tokens, ends = append(tokens, token{}), append(ends, true)
		}
		hi[li] = len(tokens)
	}
	for _, n := range names {
		for _, c := range n {
			literals[c] = true
		}
	}
	fresh, beyond := freshCharacters(literals)
	// The trie: each prefix of a name gets a number; -1 is off every name.
	var prefixes []string
	prefixID := map[string]int32{}
	nodeOf := func(prefix string) int32 {
		i, _ := slices.BinarySearch(names, prefix)
		if i == len(names) || !strings.HasPrefix(names[i], prefix) {
			return -1
		}
		id, ok := prefixID[prefix]
		if !ok {
			id = int32(len(prefixes))
			prefixes = append(prefixes, prefix)
			prefixID[prefix] = id
		}
		return id
	}
	isName := func(node int32) bool {
		if node < 0 {
			return false
		}
		_, found := slices.BinarySearch(names, prefixes[node])
		return found
	}
	size := len(tokens)
	words := size/64 + 1
	var stars []int
	for i, t := range tokens {
		if !ends[i] && t.isStar() {
			stars = append(stars, i)
		}
	}
	closeOver := func(set []uint64) {
		for _, i := range stars { // in order, so that a star after a star is reached too
			if set[i/64]&(1<<(i%64)) != 0 {
				set[(i+1)/64] |= 1 << ((i + 1) % 64)
			}
		}
	}
	// Each list's states, and its patterns' ends, as masks.
	listMasks, endMasks := make([][]uint64, len(lists)), make([][]uint64, len(lists))
	for li := range lists {
		listMasks[li], endMasks[li] = make([]uint64, words), make([]uint64, words)
		for i := lo[li]; i < hi[li]; i++ {
			listMasks[li][i/64] |= 1 << (i % 64)
			if ends[i] {
				endMasks[li][i/64] |= 1 << (i % 64)
			}
		}
	}
	meets := func(set, mask []uint64) bool {
		for i, w := range set {
			if w&mask[i] != 0 {
				return true
			}
		}
		return false
	}
	// judge: alive while every list of in has a state left; accepting when
	// the strings that lead here are members.
	judge := func(set []uint64) (alive, accepting bool) {
		alive, accepting = true, true
		for li := range lists {
			if li < outFrom {
				alive = alive && meets(set, listMasks[li])
				accepting = accepting && meets(set, endMasks[li])
			} else if meets(set, endMasks[li]) {
				accepting = false
			}
		}
		return alive, accepting
	}
	var states []uint64 // the sets of states found, words each, in order
	var nodes []int32   // and where in the trie of names each is
	var parent []int32
	var via []rune
	seen := map[uint64][]int32{} // by hash, the sets found
	add := func(set []uint64, node int32, from int32, c rune) {
		h := hashWords(set) ^ uint64(node+2)*0x9e3779b97f4a7c15
		for _, i := range seen[h] {
			if nodes[i] == node && slices.Equal(states[int(i)*words:(int(i)+1)*words], set) {
				return
			}
		}
		seen[h] = append(seen[h], int32(len(parent)))
		states = append(states, set...)
		nodes = append(nodes, node)
		parent = append(parent, from)
		via = append(via, c)
	}
	start := make([]uint64, words)
	for li := range lists {
		for i := lo[li]; i < hi[li]; i++ {
			if i == lo[li] || ends[i-1] { // each pattern's state 0
				start[i/64] |= 1 << (i % 64)
			}
		}
	}
	closeOver(start)
	if alive, _ := judge(start); !alive {
		return found{answer: empty}
	}
	add(start, nodeOf(""), -1, 0)
	next := make([]uint64, words)
	var alphabet []rune
	for head := 0; head < len(parent); head++ {
		set, node := states[head*words:(head+1)*words], nodes[head]
		if _, accepting := judge(set); accepting && !isName(node) {
			var b []rune
			for i := int32(head); parent[i] >= 0; i = parent[i] {
				b = append(b, via[i])
			}
			slices.Reverse(b)
			return found{answer: member, member: string(b)}
		}
		// The characters that may lead elsewhere: those the next tokens
		// name, then the ones that stand for all others.
		alphabet = alphabet[:0]
		for i := range eachBit(set) {
			if !ends[i] && tokens[i].kind == literal && !slices.Contains(alphabet, tokens[i].char) {
				alphabet = append(alphabet, tokens[i].char)
			}
		}
		if node >= 0 { // the characters that go on along a name
			prefix := prefixes[node]
			i, _ := slices.BinarySearch(names, prefix)
			for ; i < len(names) && strings.HasPrefix(names[i], prefix); i++ {
				if c, _ := utf8.DecodeRuneInString(names[i][len(prefix):]); len(names[i]) > len(prefix) && !slices.Contains(alphabet, c) {
					alphabet = append(alphabet, c)
				}
			}
		}
		slices.Sort(alphabet)
		for _, c := range []rune{fresh, ':', beyond} {
			if !slices.Contains(alphabet, c) {
				alphabet = append(alphabet, c)
			}
		}
		// Each character tried costs a pass over the set, and may keep one more.
		if !f.budget.spend(len(alphabet) * (words + 1)) {
			return found{answer: unknown}
		}
		for _, c := range alphabet {
			clear(next)
			for i := range eachBit(set) {
				if ends[i] {
					continue
				}
				switch t := tokens[i]; t.kind {
				case anyRun:
					next[i/64] |= 1 << (i % 64)
				case anyRunInSegment:
					if c != ':' {
						next[i/64] |= 1 << (i % 64)
					}
				default:
					if t.reads(c) {
						next[(i+1)/64] |= 1 << ((i + 1) % 64)
					}
				}
			}
			closeOver(next)
			if alive, _ := judge(next); alive {
				nextNode := int32(-1)
				if node >= 0 {
					nextNode = nodeOf(prefixes[node] + string(c))
				}
				add(next, nextNode, int32(head), c)
			}
		}
	}
	return found{answer: empty}
}

// hashWords mixes the words of a set of states into one, for a map key.
func hashWords(set []uint64) uint64 {
	h := uint64(len(set))
	for _, w := range set {
		h = (h ^ w) * 0x9e3779b97f4a7c15
		h ^= h >> 29
	}
	return h
}

// eachBit yields the members of a set of states in increasing order.
func eachBit(set []uint64) func(func(int) bool) {
	return func(yield func(int) bool) {
		for wi, w := range set {
			for w != 0 {
				b := bits.TrailingZeros64(w)
				if !yield(wi*64 + b) {
					return
				}
				w &^= 1 << b
			}
		}
	}
}

// freshCharacters picks a character of one UTF-16 unit that is not a colon
// and one beyond U+FFFF, neither of them among literals: readable ones
// first, since they end up in witnesses.
func freshCharacters(literals map[rune]bool) (fresh, beyond rune) {
	for _, c := range "xyzwvqjk0123456789-_ABCDEFGHIJKLMNOPQRSTUVWXYZ" {
		if !literals[c] {
			fresh = c
			break
		}
	}
	for c := rune(0x100); fresh == 0; c++ {
		if !literals[c] && c != ':' {
			fresh = c
		}
	}
	for c := rune(0x1F600); ; c++ {
		if !literals[c] && utf8.ValidRune(c) {
			return fresh, c
		}
	}
}
