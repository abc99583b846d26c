package policy

import (
	"fmt"
	"math/bits"
	"strings"
	"testing"
)

// The exhaustive tests below compare subsetOf, intersects and match with a
// reference that works on the pattern's text, not on its tokens, over every
// pattern of up to 4 symbols from {a, b, :, *, ?}.
//
// Why the string alphabet {a, b, :, é, 😀} is enough: the patterns' literals
// are a, b and ':', and every wildcard treats alike all characters other than
// ':' that are one UTF-16 unit (é stands for them, and is two bytes long, so a
// byte-wise reading would show) and alike all the others (😀 stands for them).
// Replacing each character of a string outside {a, b, :} by its stand-in
// changes no pattern's answer, so a statement about all strings over the
// alphabet is a statement about all strings.

const (
	patternSymbols = "ab:*?"
	stringSymbols  = "ab:é😀"
	maxPatternLen  = 4
	// maxStringLen bounds the brute-force strings. It makes intersects exact on
	// this domain: take a shortest string w that both p and q match and fix one
	// run of both automata over it. A character of w read by a '*' of p and a
	// '*' of q at once can be deleted (both stars then match one character less)
	// and w would not be shortest, so every character is read by a non-star token
	// of p or of q. If p has no star, every string it matches is len(p) <= 4 long;
	// otherwise p has at most 3 non-star tokens, and so has q: |w| <= max(4, 3+3) = 6.
	// The character can be taken from the alphabet: a literal of p or q is one of
	// a, b, ':'; if both tokens are wildcards, 'é' suits both.
	maxStringLen = 6
)

// allStrings lists every string over the alphabet's characters up to maxLen, shortest first.
func allStrings(alphabet string, maxLen int) []string {
	out := []string{""}
	level := []string{""}
	for n := 1; n <= maxLen; n++ {
		var next []string
		for _, s := range level {
			for _, c := range alphabet {
				next = append(next, s+string(c))
			}
		}
		out = append(out, next...)
		level = next
	}
	return out
}

// compilation is one way the package turns pattern text into tokens, with the
// reference reading of a '*' at position i of the text.
type compilation struct {
	name    string
	compile func(string) pattern
	// starCrossesColon reports whether the '*' at text[i] may match ':'.
	starCrossesColon func(text string, i int) bool
	// questionNarrow: a '?' matches neither ':' nor a character beyond one UTF-16 unit.
	questionNarrow bool
}

var compilations = []compilation{
	{
		name:             "glob",
		compile:          func(s string) pattern { return compileGlob(s, false) },
		starCrossesColon: func(string, int) bool { return true },
	},
	{
		// The template's reading: a '*' that does not end an ARN part stops at ':'.
		name: "narrow",
		compile: func(s string) pattern {
			p, ok := compileResource(s, Version2012, narrow, nil)
			if !ok {
				panic("narrow reading dropped " + s)
			}
			return p
		},
		starCrossesColon: func(text string, i int) bool { return i+1 == len(text) || text[i+1] == ':' },
		questionNarrow:   true,
	},
	{
		name: "broad",
		compile: func(s string) pattern {
			p, _ := compileResource(s, Version2012, broad, nil)
			return p
		},
		starCrossesColon: func(string, int) bool { return true },
	},
}

// refNFA is the reference automaton of a pattern text: state i means "the
// first i symbols of the text are matched"; a '*' state loops on the
// characters it may match and can be left without reading one.
type refNFA struct {
	text           string
	starLoops      []bool // starLoops[i]: text[i] is '*'
	crossColon     []bool
	questionNarrow bool
}

func newRefNFA(text string, c compilation) refNFA {
	n := refNFA{text: text, starLoops: make([]bool, len(text)), crossColon: make([]bool, len(text)), questionNarrow: c.questionNarrow}
	for i := 0; i < len(text); i++ {
		if text[i] == '*' {
			n.starLoops[i] = true
			n.crossColon[i] = c.starCrossesColon(text, i)
		}
	}
	return n
}

// States are bit masks; patterns are at most 4 symbols, so 5 states fit.
func (n refNFA) close(s uint8) uint8 {
	for i := 0; i < len(n.text); i++ {
		if n.starLoops[i] && s&(1<<i) != 0 {
			s |= 1 << (i + 1)
		}
	}
	return s
}

func (n refNFA) step(s uint8, ch rune) uint8 {
	var out uint8
	for i := 0; i < len(n.text); i++ {
		if s&(1<<i) == 0 {
			continue
		}
		switch sym := n.text[i]; {
		case sym == '*':
			if ch != ':' || n.crossColon[i] {
				out |= 1 << i
			}
		case sym == '?' && (!n.questionNarrow || ch != ':' && ch != '😀'), rune(sym) == ch:
			out |= 1 << (i + 1)
		}
	}
	return n.close(out)
}

func (n refNFA) start() uint8           { return n.close(1) }
func (n refNFA) accepting(s uint8) bool { return s&(1<<len(n.text)) != 0 }

func (n refNFA) matches(s string) bool {
	st := n.start()
	for _, c := range s {
		if st == 0 {
			break
		}
		st = n.step(st, c)
	}
	return n.accepting(st)
}

// includedExactly decides L(p) ⊆ L(q) over all strings, by exploring the
// product of the two subset automata; a reachable pair where p accepts and q
// does not is a counterexample.
func includedExactly(p, q refNFA) bool {
	type pair struct{ p, q uint8 }
	start := pair{p.start(), q.start()}
	seen := map[pair]bool{start: true}
	stack := []pair{start}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if p.accepting(cur.p) && !q.accepting(cur.q) {
			return false
		}
		for _, c := range stringSymbols {
			next := pair{p.step(cur.p, c), q.step(cur.q, c)}
			if next.p == 0 || seen[next] {
				continue // p matches nothing from here on
			}
			seen[next] = true
			stack = append(stack, next)
		}
	}
	return true
}

// langSet is a set of string indexes.
type langSet []uint64

func newLangSet(n int) langSet { return make(langSet, (n+63)/64) }
func (b langSet) set(i int)    { b[i/64] |= 1 << (i % 64) }
func (b langSet) subsetOf(c langSet) bool {
	for i := range b {
		if b[i]&^c[i] != 0 {
			return false
		}
	}
	return true
}
func (b langSet) intersects(c langSet) bool {
	for i := range b {
		if b[i]&c[i] != 0 {
			return true
		}
	}
	return false
}

// firstNotIn returns the index of the first string in b and not in c, or -1.
func (b langSet) firstNotIn(c langSet) int {
	for i := range b {
		if w := b[i] &^ c[i]; w != 0 {
			return i*64 + bits.TrailingZeros64(w)
		}
	}
	return -1
}

type compiledCase struct {
	text string
	tok  pattern
	ref  refNFA
	lang langSet // which of the brute-force strings the reference matches
}

func compileAll(t *testing.T, texts, strs []string, c compilation) []compiledCase {
	t.Helper()
	out := make([]compiledCase, len(texts))
	for i, text := range texts {
		cc := compiledCase{text: text, tok: c.compile(text), ref: newRefNFA(text, c), lang: newLangSet(len(strs))}
		for j, s := range strs {
			want := cc.ref.matches(s)
			if want {
				cc.lang.set(j)
			}
			if got := cc.tok.match(s); got != want {
				t.Errorf("%s %q match %q = %v, reference says %v", c.name, text, s, got, want)
			}
		}
		out[i] = cc
	}
	return out
}

func TestPatternAlgorithmsAgainstBruteForce(t *testing.T) {
	t.Parallel()
	texts := allStrings(patternSymbols, maxPatternLen)
	strs := allStrings(stringSymbols, maxStringLen)
	compiled := map[string][]compiledCase{}
	for _, c := range compilations {
		compiled[c.name] = compileAll(t, texts, strs, c)
	}
	if t.Failed() {
		t.FailNow()
	}
	// The readings Check pairs: policy patterns (glob for actions, broad for
	// resources) against template patterns (glob, narrow), and narrow against
	// narrow for the tokens only that reading produces.
	combos := [][2]string{{"glob", "glob"}, {"glob", "narrow"}, {"narrow", "glob"}, {"narrow", "narrow"}, {"broad", "narrow"}}
	for _, combo := range combos {
		t.Run(combo[0]+"-in-"+combo[1], func(t *testing.T) {
			t.Parallel()
			ps, qs := compiled[combo[0]], compiled[combo[1]]
			var pairs, inclusions, found, missed, bruteOnly, failures int
			var missedExamples, bruteOnlyExamples []string
			for _, p := range ps {
				for _, q := range qs {
					pairs++
					exact := includedExactly(p.ref, q.ref)
					brute := p.lang.subsetOf(q.lang)
					if exact && !brute {
						t.Fatalf("reference disagrees with itself on %q ⊆ %q", p.text, q.text)
					}
					if brute && !exact {
						bruteOnly++ // inclusion up to length 6 that fails on longer strings
						if len(bruteOnlyExamples) < 3 {
							bruteOnlyExamples = append(bruteOnlyExamples, fmt.Sprintf("%q⊆%q", p.text, q.text))
						}
					}
					got := p.tok.subsetOf(q.tok)
					if got && !exact {
						failures++
						if failures <= 20 {
							witness := "(longer than 6)"
							if i := p.lang.firstNotIn(q.lang); i >= 0 {
								witness = fmt.Sprintf("%q", strs[i])
							}
							t.Errorf("UNSOUND: %s %q subsetOf %s %q = true, but %s matches only the first", combo[0], p.text, combo[1], q.text, witness)
						}
					}
					if exact {
						inclusions++
						if got {
							found++
						} else {
							missed++
							if len(missedExamples) < 8 {
								missedExamples = append(missedExamples, fmt.Sprintf("%q⊆%q", p.text, q.text))
							}
						}
					}

					wantMeet := p.lang.intersects(q.lang)
					if gotMeet := p.tok.intersects(q.tok); gotMeet != wantMeet {
						failures++
						if failures <= 20 {
							t.Errorf("%s %q intersects %s %q = %v, want %v", combo[0], p.text, combo[1], q.text, gotMeet, wantMeet)
						}
					}
					if gotMeet := q.tok.intersects(p.tok); gotMeet != wantMeet {
						failures++
						if failures <= 20 {
							t.Errorf("intersects is not symmetric on %q, %q", p.text, q.text)
						}
					}
				}
			}
			t.Logf("%s in %s: %d pairs, %d true inclusions: subsetOf proves %d and misses %d (%.2f%%), e.g. %s; %d pairs are included up to length %d only (%s), which is why inclusion is decided on automata",
				combo[0], combo[1], pairs, inclusions, found, missed, 100*float64(missed)/float64(max(inclusions, 1)), strings.Join(missedExamples, " "),
				bruteOnly, maxStringLen, strings.Join(bruteOnlyExamples, " "))
		})
	}
}

// The two universal-pattern helpers must agree with the languages too.
func TestPatternIsUniversalAndLiteralStart(t *testing.T) {
	t.Parallel()
	strs := allStrings(stringSymbols, maxStringLen)
	for _, c := range compilations {
		for _, text := range allStrings(patternSymbols, maxPatternLen) {
			p := c.compile(text)
			if p.isUniversal() {
				for _, s := range strs {
					if !p.match(s) {
						t.Errorf("%s %q is universal but does not match %q", c.name, text, s)
						break
					}
				}
			}
			prefix := text[:p.literalPrefixLen()]
			if !strings.HasPrefix(text, prefix) || strings.ContainsAny(prefix, "*?") {
				t.Errorf("%s %q: literal prefix %q", c.name, text, prefix)
			}
		}
	}
}

// adversarialPattern is (*a)^n *b, the shape that makes naive backtracking
// matchers take exponential time.
func adversarialPattern(prefix string, n int) string {
	return prefix + strings.Repeat("*a", n) + "*b"
}

// Adversarial patterns must be decided, and decided right; the benchmark
// BenchmarkCheck/adversarial reports how the time grows. Every algorithm here is
// a walk over pairs of positions, so there is no step count to observe from
// outside: the test runs them at sizes where exponential behaviour would never
// finish and checks the answers.
func TestPatternAdversarial(t *testing.T) {
	t.Parallel()
	const prefix = "arn:aws:logs:eu-west-1:111122223333:log-group:"
	for _, n := range []int{200, 1000} {
		for _, c := range compilations {
			more, fewer := c.compile(adversarialPattern(prefix, n)), c.compile(adversarialPattern(prefix, n-1))
			if !more.subsetOf(fewer) {
				t.Errorf("%s n=%d: (*a)^n*b should be within (*a)^(n-1)*b", c.name, n)
			}
			if fewer.subsetOf(more) {
				t.Errorf("%s n=%d: (*a)^(n-1)*b is not within (*a)^n*b", c.name, n)
			}
			if !more.intersects(fewer) {
				t.Errorf("%s n=%d: the two patterns share strings", c.name, n)
			}
			noB := c.compile(prefix + strings.Repeat("*a", n) + "*c")
			if more.intersects(noB) {
				t.Errorf("%s n=%d: patterns ending in b and c share no string", c.name, n)
			}
			s := prefix + strings.Repeat("a", n)
			if more.match(s) || !more.match(s+"b") || fewer.match(prefix+strings.Repeat("a", n-2)+"b") {
				t.Errorf("%s n=%d: wrong match on the adversarial strings", c.name, n)
			}
			if got := more.match(prefix + strings.Repeat("a", 4*n)); got {
				t.Errorf("%s n=%d: matched a string without b", c.name, n)
			}
		}
	}
}
