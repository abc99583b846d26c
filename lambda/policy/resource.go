package policy

import (
	"strings"
	"unicode/utf8"
)

// reading is how a document is read where AWS's documentation leaves room,
// or where some reader departs from it. Evaluate reads as AWS documents it
// (request). Check reads a policy broad (it matches at least what AWS may)
// and a template narrow (at most) where a quick answer will do, and
// otherwise tries each reading the documents are open to, reading both the
// same way (exact.go).
type reading struct {
	// starsCross: every '*' matches past colons; otherwise only a '*' ending
	// a colon-separated part of the ARN does, as documented.
	starsCross bool
	// questionsNarrow: a '?' matches neither ':' nor a character beyond one
	// UTF-16 unit; otherwise it matches any one character.
	questionsNarrow bool
	variables       variableReading
	// variablesEverywhere: a ${...} before an ARN's resource part (its
	// fifth colon) is a variable too; AWS documents variables only in the
	// resource part, and Evaluate reads one before it as text.
	variablesEverywhere bool
	// rootsAnyPartition: arn:P:iam::ID:root names the account ID in every
	// partition, as iam-simulate reads it.
	rootsAnyPartition bool
	// absentPrincipalNobody: a statement without a Principal applies to no
	// one; Evaluate has it apply to everyone.
	absentPrincipalNobody bool
}

// variableReading is what a policy variable (${aws:username}) stands for.
type variableReading uint8

const (
	fromRequest variableReading = iota // its value in the request; a pattern without one matches nothing
	asAnything                         // any text
	asNothing                          // a pattern with one matches nothing
)

var (
	broad   = reading{starsCross: true, variables: asAnything, variablesEverywhere: true}
	narrow  = reading{questionsNarrow: true, variables: asNothing, variablesEverywhere: true}
	request = reading{variables: fromRequest}
)

// opposite is narrow for broad and broad for narrow: what a NotResource
// list must be read as for its statement to be read the other way.
func (how reading) opposite() reading {
	if how == broad {
		return narrow
	}
	return broad
}

// compileResource compiles a Resource value. Policy variables (${aws:username})
// exist only in policies of version 2012-10-17, and AWS documents them only
// in the resource part of an ARN, after its fifth colon: the request reading
// takes one before it as text, the broad reading as anything, the narrow one
// as nothing. ok is false when the pattern can match nothing under this
// reading.
func compileResource(s string, version string, how reading, ctx map[string][]string) (p pattern, ok bool) {
	variables := version == Version2012
	p = make(pattern, 0, len(s))
	colons := 0
	for i := 0; i < len(s); i++ {
		c, size := utf8.DecodeRuneInString(s[i:])
		i += size - 1
		if c == ':' {
			colons++
		}
		if variables && c == '$' && i+1 < len(s) && s[i+1] == '{' && (how.variablesEverywhere || colons >= 5) {
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				p = append(p, token{kind: literal, char: c})
				continue
			}
			name := s[i+2 : i+end]
			i += end
			switch name {
			case "*", "?", "$": // escapes for the characters themselves
				p = append(p, token{kind: literal, char: rune(name[0])})
				continue
			}
			switch how.variables {
			case asAnything:
				p = appendStar(p, anyRun)
			case asNothing:
				return nil, false
			case fromRequest:
				value, found := variableValue(name, ctx)
				if !found {
					return nil, false // no value: the caller decides what the statement then means
				}
				for _, v := range value {
					p = append(p, token{kind: literal, char: v})
				}
			}
			continue
		}
		switch c {
		case '*':
			kind := anyRun
			endsPart := i+1 == len(s) || s[i+1] == ':'
			if !how.starsCross && !endsPart {
				kind = anyRunInSegment
			}
			p = appendStar(p, kind)
		case '?':
			kind := anyChar
			if how.questionsNarrow {
				kind = anyCharInSegment
			}
			p = append(p, token{kind: kind})
		default:
			p = append(p, token{kind: literal, char: c})
		}
	}
	return p, true
}

func appendStar(p pattern, kind tokenKind) pattern {
	if n := len(p); n > 0 && p[n-1].isStar() {
		if kind == anyRun {
			p[n-1].kind = anyRun // the wider of two adjacent stars wins
		}
		return p
	}
	return append(p, token{kind: kind})
}

// variableValue resolves ${key} or ${key, 'default'} from the request context.
func variableValue(name string, ctx map[string][]string) (string, bool) {
	key, def, hasDefault := strings.Cut(name, ",")
	key = foldKey(strings.TrimSpace(key))
	if values := ctx[key]; len(values) > 0 {
		return values[0], true
	}
	if hasDefault {
		def = strings.TrimSpace(def)
		if len(def) >= 2 && def[0] == '\'' && def[len(def)-1] == '\'' {
			return def[1 : len(def)-1], true
		}
	}
	return "", false
}
