package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// treeSeeds cover every branch of decodeTree: each kind of value, escapes and
// surrogates, the number grammar, and input cut or wrong at every kind of place.
var treeSeeds = []string{
	`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":["arn:aws:logs:eu-west-1:111122223333:log-group:*"]}]}`,
	` { "a" : [ 1 , -0 , 0.5 , -1.25e+10 , 2E-3 , 1e5 , true , false , null , "" , { } , [ ] ] } `,
	"{\"a\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\u20AC \\ud83d\\ude00\"}",
	`"\ud800"`, `"\udc00"`, `"\ud800\u0041"`, `"\ud800\ud800"`, `"\ud83d\ude00x"`, `"\ud800\uZZZZ"`, `"\ud800\"`, `"\ud800\u"`,
	`"\u00"`, `"\u00G0"`, `"\x"`, "\"a\tb\"", "\"a\x01\"", `"é€😀"`,
	`01`, `-`, `-a`, `1.`, `1.e3`, `1e`, `1e+`, `.5`, `+1`, `1 2`, `-01`,
	`tru`, `trUe`, `nul`, `nulll`, `falsey`,
	``, ` `, `{`, `[`, `{"a"`, `{"a":`, `{"a":1`, `{"a":1,`, `{"a":1,}`, `[1,]`, `[1 2]`, `{"a" 1}`, `{1:2}`, `{"a":1}}`, `[1]]`,
	`{"a":1,"a":2}`, `{"a":{"b":1,"b":1}}`, `[{"x":1},{"x":1,"x":1}]`,
	strings.Repeat("[", 33) + strings.Repeat("]", 33),
	strings.Repeat("[", 34) + strings.Repeat("]", 34),
	strings.Repeat(`{"a":`, 33) + "1" + strings.Repeat("}", 33),
}

// FuzzDecodeTree holds decodeTree to encoding/json. On valid UTF-8 it accepts
// exactly the documents encoding/json accepts, less those with a duplicate
// key, a lone surrogate escape or nested too deep, and it builds the tree
// encoding/json builds with UseNumber.
//
//	go test ./lambda/policy -run x -fuzz FuzzDecodeTree -fuzztime 120s
func FuzzDecodeTree(f *testing.F) {
	for _, s := range treeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !utf8.Valid(data) {
			return // Parse rejects it before decoding
		}
		got, err := decodeTree(data)
		valid := json.Valid(data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("%q: error %v is not a *ParseError", data, err)
			}
			if pe.Problem == "duplicate key" || strings.HasPrefix(pe.Problem, "nested deeper than") {
				return
			}
			if strings.Contains(pe.Problem, "surrogate") {
				mustHoldLoneSurrogate(t, data)
				return
			}
			if valid {
				t.Fatalf("%q is valid JSON but was rejected: %v", data, err)
			}
			return
		}
		if !valid {
			t.Fatalf("%q is not valid JSON but was accepted as %#v", data, got)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var want any
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("%q: encoding/json: %v", data, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %#v\nwant %#v", data, got, want)
		}
	})
}

// mustHoldLoneSurrogate fails when encoding/json accepts data and reads no
// U+FFFD that data does not spell itself: the mark of a lone surrogate escape.
func mustHoldLoneSurrogate(t *testing.T, data []byte) {
	t.Helper()
	var tree any
	if err := json.Unmarshal(data, &tree); err != nil {
		return // invalid anyway; the surrogate came first
	}
	if bytes.Contains(data, []byte("\uFFFD")) || bytes.Contains(bytes.ToLower(data), []byte(`\ufffd`)) {
		return // U+FFFD is spelled in the input: nothing to tell apart
	}
	if !strings.Contains(fmt.Sprint(tree), "\uFFFD") {
		t.Fatalf("%q: rejected for a lone surrogate, but encoding/json reads no U+FFFD in it", data)
	}
}

func TestDecodeTreeErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{``, "invalid policy: not valid JSON: unexpected end of input at offset 0"},
		{`{"a":[1,2`, "invalid policy: not valid JSON: unexpected end of input at offset 9"},
		{`{"a":[1,2}`, `invalid policy: not valid JSON: unexpected '}' after a list item (near offset 9)`},
		{`{"a" 1}`, `invalid policy: not valid JSON: unexpected '1' after an object key (near offset 5)`},
		{`{1:2}`, `invalid policy: not valid JSON: unexpected '1' where an object key should begin (near offset 1)`},
		{`Allow everything`, `invalid policy: not valid JSON: unexpected 'A' where a value should begin (near offset 0)`},
		{`{"a":"é\x"}`, `invalid policy: not valid JSON: unexpected 'x' in a string escape (near offset 9)`},
		{`{"a":01}`, `invalid policy: not valid JSON: unexpected '1' after an object value (near offset 6)`},
		{`{} {}`, `invalid policy: unexpected data after the policy document`},
		{`{"Statement":[{"Effect":"Deny","Effect":"Allow"}]}`, "invalid policy: Statement[0].Effect: duplicate key"},
		{`[[{"a":[1,{"b":1,"b":2}]}]]`, "invalid policy: [0][0].a[1].b: duplicate key"},
		{strings.Repeat("[", 33) + "1" + strings.Repeat("]", 33), "invalid policy: " + strings.Repeat("[0]", 33) + ": nested deeper than 32 levels"},
		{`{"Statement":[{"Resource":["a","x\udc00"]}]}`, `invalid policy: Statement[0].Resource[1]: \udc00 at offset 33 is half of a UTF-16 surrogate pair: a text that cannot be read exactly`},
		{`{"a":"\ud800\u0041"}`, `invalid policy: a: \ud800 at offset 6 is half of a UTF-16 surrogate pair: a text that cannot be read exactly`},
		{`{"\udbff":1}`, `invalid policy: \udbff at offset 2 is half of a UTF-16 surrogate pair: a text that cannot be read exactly`},
	}
	for _, c := range cases {
		_, err := decodeTree([]byte(c.in))
		if err == nil || err.Error() != c.want {
			t.Errorf("%q:\n got %v\nwant %s", c.in, err, c.want)
		}
	}
	// 32 levels below the top is as deep as a value may be.
	if _, err := decodeTree([]byte(strings.Repeat("[", 32) + "1" + strings.Repeat("]", 32))); err != nil {
		t.Errorf("32 levels: %v", err)
	}
}

// FuzzShapes holds the hand-written shape checks to the regular expressions
// they stand for.
func FuzzShapes(f *testing.F) {
	for _, s := range []string{"logs:PutLogEvents", "logs:*", "*", "s3-object-lambda:Get?bject", ":a", "a:", "a:b:c", "logs:Put-Log",
		"111122223333", "11112222333", "1111222233334", "11112222333a", "", "ｌogs:x", "１１１１２２２２３３３３"} {
		f.Add(s)
	}
	action := regexp.MustCompile(`^[A-Za-z0-9*?-]+:[A-Za-z0-9*?]+$`)
	account := regexp.MustCompile(`^[0-9]{12}$`)
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isActionShape(s), action.MatchString(s); got != want {
			t.Errorf("isActionShape(%q) = %v, the regular expression says %v", s, got, want)
		}
		if got, want := isAccountID(s), account.MatchString(s); got != want {
			t.Errorf("isAccountID(%q) = %v, the regular expression says %v", s, got, want)
		}
	})
}
