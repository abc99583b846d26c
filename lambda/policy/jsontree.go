package policy

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeTree reads the JSON in one pass into maps, lists, strings,
// json.Numbers, booleans and nils, the tree encoding/json would build with
// UseNumber. It rejects what encoding/json would quietly accept: duplicate
// keys (AWS and this package might keep different copies), \u escapes of
// lone UTF-16 surrogates (encoding/json turns each into U+FFFD, so two
// different texts would read as one), nesting deeper than any policy needs,
// and trailing data. The caller has checked that data is
// valid UTF-8.
//
// It is written by hand because it runs once per endpoint of a sweep:
// encoding/json's token API took most of Parse's time.
func decodeTree(data []byte) (any, error) {
	d := &treeDecoder{data: data}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	d.skipSpace()
	if d.pos < len(d.data) {
		return nil, &ParseError{Problem: "unexpected data after the policy document"}
	}
	return v, nil
}

type treeDecoder struct {
	data []byte
	pos  int
	// path leads to the value being read; it becomes text only for an error.
	path []step
}

// step is an object key or, when isIndex, a list index.
type step struct {
	key     string
	index   int
	isIndex bool
}

func (d *treeDecoder) value(depth int) (any, error) {
	if depth > maxNesting {
		return nil, &ParseError{Field: d.pathText(), Problem: fmt.Sprintf("nested deeper than %d levels", maxNesting)}
	}
	d.skipSpace()
	if d.pos >= len(d.data) {
		return nil, d.endOfInput()
	}
	switch c := d.data[d.pos]; {
	case c == '{':
		return d.object(depth)
	case c == '[':
		return d.list(depth)
	case c == '"':
		return d.str()
	case c == '-' || ('0' <= c && c <= '9'):
		return d.number()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	default:
		return nil, d.syntaxError("where a value should begin")
	}
}

func (d *treeDecoder) object(depth int) (any, error) {
	d.pos++ // {
	obj := map[string]any{}
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return obj, nil
	}
	for {
		d.skipSpace()
		if d.pos >= len(d.data) {
			return nil, d.endOfInput()
		}
		if d.data[d.pos] != '"' {
			return nil, d.syntaxError("where an object key should begin")
		}
		key, err := d.str()
		if err != nil {
			return nil, err
		}
		d.path = append(d.path, step{key: key})
		if _, dup := obj[key]; dup {
			return nil, &ParseError{Field: d.pathText(), Problem: "duplicate key"}
		}
		if err := d.expect(':', "after an object key"); err != nil {
			return nil, err
		}
		if obj[key], err = d.value(depth + 1); err != nil {
			return nil, err
		}
		d.path = d.path[:len(d.path)-1]
		if done, err := d.next('}', "after an object value"); done || err != nil {
			return obj, err
		}
	}
}

func (d *treeDecoder) list(depth int) (any, error) {
	d.pos++ // [
	list := []any{}
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		return list, nil
	}
	for i := 0; ; i++ {
		d.path = append(d.path, step{index: i, isIndex: true})
		item, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		d.path = d.path[:len(d.path)-1]
		list = append(list, item)
		if done, err := d.next(']', "after a list item"); done || err != nil {
			return list, err
		}
	}
}

// next reads the comma between members, or the closing bracket, which it
// reports as done.
func (d *treeDecoder) next(closing byte, where string) (done bool, err error) {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return false, d.endOfInput()
	}
	switch d.data[d.pos] {
	case ',':
		d.pos++
		return false, nil
	case closing:
		d.pos++
		return true, nil
	}
	return false, d.syntaxError(where)
}

func (d *treeDecoder) expect(c byte, where string) error {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return d.endOfInput()
	}
	if d.data[d.pos] != c {
		return d.syntaxError(where)
	}
	d.pos++
	return nil
}

func (d *treeDecoder) literal(word string) error {
	for i := 0; i < len(word); i++ {
		if d.pos >= len(d.data) {
			return d.endOfInput()
		}
		if d.data[d.pos] != word[i] {
			return d.syntaxError("in the literal " + word)
		}
		d.pos++
	}
	return nil
}

// number reads a number as JSON spells it and keeps its text, as
// encoding/json's UseNumber does.
func (d *treeDecoder) number() (any, error) {
	start := d.pos
	if d.data[d.pos] == '-' {
		d.pos++
	}
	if d.pos >= len(d.data) {
		return nil, d.endOfInput()
	}
	switch c := d.data[d.pos]; {
	case c == '0':
		d.pos++
	case '1' <= c && c <= '9':
		d.digits()
	default:
		return nil, d.syntaxError("in a number")
	}
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		d.pos++
		if err := d.someDigits(); err != nil {
			return nil, err
		}
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		d.pos++
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if err := d.someDigits(); err != nil {
			return nil, err
		}
	}
	return json.Number(d.data[start:d.pos]), nil
}

func (d *treeDecoder) someDigits() error {
	if d.pos >= len(d.data) {
		return d.endOfInput()
	}
	if c := d.data[d.pos]; c < '0' || c > '9' {
		return d.syntaxError("in a number")
	}
	d.digits()
	return nil
}

func (d *treeDecoder) digits() {
	for d.pos < len(d.data) && '0' <= d.data[d.pos] && d.data[d.pos] <= '9' {
		d.pos++
	}
}

// str reads a string. Most policy strings have no escapes and are copied
// once; escapes are decoded as encoding/json does, except that an unpaired
// surrogate is an error.
func (d *treeDecoder) str() (string, error) {
	d.pos++ // "
	start := d.pos
	for d.pos < len(d.data) {
		switch c := d.data[d.pos]; {
		case c == '"':
			s := string(d.data[start:d.pos])
			d.pos++
			return s, nil
		case c == '\\':
			return d.escapedStr(start)
		case c < 0x20:
			return "", d.syntaxError("in a string (a control character)")
		default:
			d.pos++
		}
	}
	return "", d.endOfInput()
}

func (d *treeDecoder) escapedStr(start int) (string, error) {
	var b strings.Builder
	b.Write(d.data[start:d.pos])
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			return b.String(), nil
		case c < 0x20:
			return "", d.syntaxError("in a string (a control character)")
		case c != '\\':
			b.WriteByte(c)
			d.pos++
			continue
		}
		d.pos++ // the backslash
		if d.pos >= len(d.data) {
			return "", d.endOfInput()
		}
		esc := d.data[d.pos]
		d.pos++
		switch esc {
		case '"', '\\', '/':
			b.WriteByte(esc)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			escape := d.pos - 2
			r, err := d.hex4()
			if err != nil {
				return "", err
			}
			if utf16.IsSurrogate(r) {
				if r = d.lowSurrogate(r); r == utf8.RuneError {
					return "", &ParseError{Field: d.pathText(), Problem: fmt.Sprintf(
						"%s at offset %d is half of a UTF-16 surrogate pair: a text that cannot be read exactly", d.data[escape:escape+6], escape)}
				}
			}
			b.WriteRune(r)
		default:
			d.pos--
			return "", d.syntaxError("in a string escape")
		}
	}
	return "", d.endOfInput()
}

// lowSurrogate completes the high surrogate r with a \uXXXX low surrogate
// that follows, consuming it; otherwise r stands alone and the answer is
// U+FFFD.
func (d *treeDecoder) lowSurrogate(r rune) rune {
	if d.pos+6 > len(d.data) || d.data[d.pos] != '\\' || d.data[d.pos+1] != 'u' {
		return utf8.RuneError
	}
	save := d.pos
	d.pos += 2
	r2, err := d.hex4()
	if err == nil {
		if pair := utf16.DecodeRune(r, r2); pair != utf8.RuneError {
			return pair
		}
	}
	d.pos = save
	return utf8.RuneError
}

// hex4 reads the four hex digits of a \u escape.
func (d *treeDecoder) hex4() (rune, error) {
	var r rune
	for range 4 {
		if d.pos >= len(d.data) {
			return 0, d.endOfInput()
		}
		v, ok := unhex(d.data[d.pos])
		if !ok {
			return 0, d.syntaxError("in a \\u escape")
		}
		r = r<<4 | v
		d.pos++
	}
	return r, nil
}

func unhex(c byte) (rune, bool) {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0'), true
	case 'a' <= c && c <= 'f':
		return rune(c - 'a' + 10), true
	case 'A' <= c && c <= 'F':
		return rune(c - 'A' + 10), true
	}
	return 0, false
}

func (d *treeDecoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *treeDecoder) endOfInput() error {
	return &ParseError{Problem: fmt.Sprintf("not valid JSON: unexpected end of input at offset %d", len(d.data))}
}

func (d *treeDecoder) syntaxError(where string) error {
	r, _ := utf8.DecodeRune(d.data[d.pos:])
	return &ParseError{Problem: fmt.Sprintf("not valid JSON: unexpected %q %s (near offset %d)", r, where, d.pos)}
}

// pathText spells the path as the rest of Parse does: Statement[0].Effect.
func (d *treeDecoder) pathText() string {
	var b strings.Builder
	for _, p := range d.path {
		if p.isIndex {
			fmt.Fprintf(&b, "[%d]", p.index)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p.key)
	}
	return b.String()
}
