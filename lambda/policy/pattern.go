package policy

import "math/bits"

// A pattern is an IAM wildcard pattern compiled to tokens, so that a literal
// '*' (from the policy variable ${*}) and the wildcard '*' stay apart.
type pattern []token

type tokenKind uint8

const (
	literal tokenKind = iota
	anyChar           // ?: one character (a rune, not a byte)
	anyRun            // *
	// anyRunInSegment is a '*' inside a colon-separated part of an ARN: AWS
	// documents that only a '*' ending such a part may match past a colon.
	anyRunInSegment
	// anyCharInSegment is a '?' read narrowly: one character that is not a
	// colon (AWS documents no '?' crossing one) and is a single UTF-16 unit,
	// so that an evaluator counting UTF-16 units reads it alike.
	anyCharInSegment
)

type token struct {
	kind tokenKind
	char rune
}

// reads reports whether a one-character token (literal, anyChar,
// anyCharInSegment) matches c.
func (t token) reads(c rune) bool {
	switch t.kind {
	case literal:
		return t.char == c
	case anyChar:
		return true
	case anyCharInSegment:
		return inSegment(c)
	}
	return false
}

// inSegment reports whether c is a character every narrow wildcard may match.
func inSegment(c rune) bool { return c != ':' && c <= 0xFFFF }

// compileGlob reads '*' and '?' as wildcards and everything else literally.
// foldCase lower-cases the literals, for actions, which IAM compares without case.
func compileGlob(s string, foldCase bool) pattern {
	p := make(pattern, 0, len(s))
	for _, c := range s {
		switch c {
		case '*':
			if len(p) > 0 && p[len(p)-1].kind == anyRun {
				continue // "**" means the same as "*"
			}
			p = append(p, token{kind: anyRun})
		case '?':
			p = append(p, token{kind: anyChar})
		default:
			if foldCase {
				c = asciiLower(c)
			}
			p = append(p, token{kind: literal, char: c})
		}
	}
	return p
}

// asciiLower folds A-Z only: IAM's names are ASCII, and Unicode folding
// would let characters such as the Kelvin sign or the long s pass for letters.
func asciiLower[C byte | rune](c C) C {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalASCIIFold reports whether a and b are equal up to ASCII case, without copying.
func equalASCIIFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if asciiLower(a[i]) != asciiLower(b[i]) {
			return false
		}
	}
	return true
}

func asciiLowerString(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				b[j] = asciiLower(b[j])
			}
			return string(b)
		}
	}
	return s // most names are lower case already: no copy
}

func (t token) isStar() bool { return t.kind == anyRun || t.kind == anyRunInSegment }

// isUniversal reports whether the pattern matches every string.
func (p pattern) isUniversal() bool {
	return len(p) == 1 && p[0].kind == anyRun
}

// literalPrefixLen counts the literal tokens before the first wildcard.
func (p pattern) literalPrefixLen() int {
	for i, t := range p {
		if t.kind != literal {
			return i
		}
	}
	return len(p)
}

// match reports whether s (already case-folded by the caller when needed) is in
// the pattern's language, read as characters (runes). It runs the pattern's
// automaton over s: O(len(s)·len(p)). A byte that is not UTF-8 reads as U+FFFD.
func (p pattern) match(s string) bool {
	if len(p) < 64 {
		return p.matchInWord(s)
	}
	states := newStateSet(len(p))
	states.add(0)
	p.closeOverStars(states)
	next := newStateSet(len(p))
	for _, c := range s {
		next.clear()
		for q := range states.each() {
			if q == len(p) {
				continue
			}
			switch t := p[q]; t.kind {
			case anyRun:
				next.add(q)
			case anyRunInSegment:
				if c != ':' {
					next.add(q)
				}
			default:
				if t.reads(c) {
					next.add(q + 1)
				}
			}
		}
		p.closeOverStars(next)
		states, next = next, states
		if states.empty() {
			return false
		}
	}
	return states.has(len(p))
}

// matchInWord is match for patterns whose states fit in one word, the
// usual case: no allocation.
func (p pattern) matchInWord(s string) bool {
	var stars uint64
	for q, t := range p {
		if t.isStar() {
			stars |= 1 << q
		}
	}
	closeOverStars := func(m uint64) uint64 {
		for x := m & stars; x != 0; x &= x - 1 {
			q := bits.TrailingZeros64(x)
			m |= 1 << (q + 1)
			x |= stars & (1 << (q + 1)) // a star after a star is reached too
		}
		return m
	}
	states := closeOverStars(1)
	for _, c := range s {
		var next uint64
		for m := states; m != 0; m &= m - 1 {
			q := bits.TrailingZeros64(m)
			if q == len(p) {
				continue
			}
			switch t := p[q]; t.kind {
			case anyRun:
				next |= 1 << q
			case anyRunInSegment:
				if c != ':' {
					next |= 1 << q
				}
			default:
				if t.reads(c) {
					next |= 1 << (q + 1)
				}
			}
		}
		if states = closeOverStars(next); states == 0 {
			return false
		}
	}
	return states&(1<<len(p)) != 0
}

// closeOverStars adds the states reachable without reading a character: a '*'
// may match the empty string.
func (p pattern) closeOverStars(s *stateSet) {
	for q := 0; q < len(p); q++ {
		if p[q].isStar() && s.has(q) {
			s.add(q + 1)
		}
	}
}

// subsetOf reports whether every string p matches is matched by q too. It is
// sound (true only when the inclusion holds) and runs in O(len(p)·len(q)); it may
// answer false for a few exotic inclusions that depend on '?' in p, which makes a
// check stricter, never looser.
//
// It walks q's automaton over p's tokens and keeps, after each token, only the
// states q is sure to reach whatever concrete characters p's wildcards stand for:
// a literal moves q as usual; a '?' in p keeps only moves that take any
// character; a '*' in p keeps only q's '*' states, the only ones that survive
// strings of every length. Since fewer states can only accept less, reaching q's
// end from this set proves the inclusion.
func (p pattern) subsetOf(q pattern) bool {
	if q.isUniversal() {
		return true
	}
	// Fast path for the common "literal prefix then wildcards" shape.
	qp, pp := q.literalPrefixLen(), p.literalPrefixLen()
	for i := range min(qp, pp) {
		if q[i].char != p[i].char {
			return false
		}
	}
	if qp == len(q) { // q is a plain string
		return pp == len(p) && len(p) == len(q)
	}
	if qp == len(q)-1 && q[len(q)-1].kind == anyRun && pp >= qp {
		return true // q is "prefix*" and p starts with that prefix
	}

	states := newStateSet(len(q))
	states.add(0)
	q.closeOverStars(states)
	next := newStateSet(len(q))
	for _, t := range p {
		next.clear()
		for s := range states.each() {
			if s == len(q) {
				continue
			}
			if qt := q[s]; qt.absorbs(t) {
				next.add(s)
			} else if qt.consumesOne(t) {
				next.add(s + 1)
			}
		}
		q.closeOverStars(next)
		states, next = next, states
		if states.empty() {
			return false
		}
	}
	return states.has(len(q))
}

// absorbs reports whether q's token t, a star, stays put whatever p's token
// p stands for.
func (t token) absorbs(p token) bool {
	switch t.kind {
	case anyRun:
		return true
	case anyRunInSegment:
		return p.kind == literal && p.char != ':' || p.kind == anyRunInSegment || p.kind == anyCharInSegment
	}
	return false
}

// consumesOne reports whether q's token t reads the one character p's token
// stands for, whichever it is.
func (t token) consumesOne(p token) bool {
	switch p.kind {
	case literal:
		return t.reads(p.char)
	case anyChar:
		return t.kind == anyChar
	case anyCharInSegment:
		return t.kind == anyChar || t.kind == anyCharInSegment
	}
	return false
}

// intersects reports whether some string matches both patterns. It is exact:
// a search over pairs of positions in p and q, O(len(p)·len(q)).
func (p pattern) intersects(q pattern) bool {
	if p.isUniversal() || q.isUniversal() {
		return true // every pattern matches some string
	}
	if !p.literalEndsAgree(q) {
		return false // most pairs differ in a literal at one end: no search needed
	}
	width := len(q) + 1
	seen := make([]bool, (len(p)+1)*width)
	var stack [][2]int
	push := func(i, j int) {
		if !seen[i*width+j] {
			seen[i*width+j] = true
			stack = append(stack, [2]int{i, j})
		}
	}
	push(0, 0)
	for len(stack) > 0 {
		i, j := stack[len(stack)-1][0], stack[len(stack)-1][1]
		stack = stack[:len(stack)-1]
		if i == len(p) && j == len(q) {
			return true
		}
		// A '*' may match nothing.
		if i < len(p) && p[i].isStar() {
			push(i+1, j)
		}
		if j < len(q) && q[j].isStar() {
			push(i, j+1)
		}
		if i == len(p) || j == len(q) {
			continue
		}
		// Both read one character: possible when some character suits both.
		a, b := p[i], q[j]
		if !shareCharacter(a, b) {
			continue
		}
		ni, nj := i+1, j+1
		if a.isStar() {
			ni = i
		}
		if b.isStar() {
			nj = j
		}
		push(ni, nj)
	}
	return false
}

// literalEndsAgree reports whether the literal tokens that start both
// patterns agree, and so do those that end them.
func (p pattern) literalEndsAgree(q pattern) bool {
	for i := 0; i < len(p) && i < len(q) && p[i].kind == literal && q[i].kind == literal; i++ {
		if p[i].char != q[i].char {
			return false
		}
	}
	for i, j := len(p)-1, len(q)-1; i >= 0 && j >= 0 && p[i].kind == literal && q[j].kind == literal; i, j = i-1, j-1 {
		if p[i].char != q[j].char {
			return false
		}
	}
	return true
}

func shareCharacter(a, b token) bool {
	if a.kind != literal {
		a, b = b, a
	}
	switch {
	case a.kind != literal:
		return true // two wildcards: any ASCII letter suits both
	case b.kind == anyRun:
		return true
	case b.kind == anyRunInSegment:
		return a.char != ':'
	}
	return b.reads(a.char)
}

// stateSet is a bit set of automaton states 0..n.
type stateSet struct{ words []uint64 }

func newStateSet(n int) *stateSet { return &stateSet{words: make([]uint64, n/64+1)} }

func (s *stateSet) add(i int)      { s.words[i/64] |= 1 << (i % 64) }
func (s *stateSet) has(i int) bool { return s.words[i/64]&(1<<(i%64)) != 0 }
func (s *stateSet) clear() {
	for i := range s.words {
		s.words[i] = 0
	}
}
func (s *stateSet) empty() bool {
	for _, w := range s.words {
		if w != 0 {
			return false
		}
	}
	return true
}

// each yields the members in increasing order.
func (s *stateSet) each() func(func(int) bool) {
	return func(yield func(int) bool) {
		for wi, w := range s.words {
			for w != 0 {
				bit := bits.TrailingZeros64(w)
				if !yield(wi*64 + bit) {
					return
				}
				w &^= 1 << bit
			}
		}
	}
}

// union adds every member of other, a set of the same size.
func (s *stateSet) union(other *stateSet) {
	for i := range s.words {
		s.words[i] |= other.words[i]
	}
}
