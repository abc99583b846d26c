// Command redact masks what identifies an AWS account in CloudTrail records
// and EventBridge events before they are kept as test fixtures: 12-digit
// account IDs (but not AWS's own or the documentation's placeholders),
// access key IDs and IAM unique IDs (AKIA…, ASIA…, AIDA…, AROA…, the
// principal IDs), and IPv4 and IPv6 addresses.
//
// Usage:
//
//	go run ./tests/cmd/redact [-w] [-keep ID,...] [FILE...]
//
// It reads the files, or standard input, and writes the redacted text to
// standard output, or back to the files with -w. Each value is replaced
// consistently across all the files of one run, by a value of the same shape
// (12 digits, a key ID with the same prefix and length, an address from the
// documentation ranges), so the records stay valid JSON and still decode the
// same way; a JSON input that would no longer parse is refused. A summary of
// how many values of each kind were masked goes to standard error; the
// original values are never printed.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"regexp"
	"strings"
)

// keptAccounts are left as they are: AWS documentation placeholders (and
// moto's default account) and accounts AWS owns, which identify nobody.
var keptAccounts = []string{
	"111122223333", "123456789012", "444455556666", "777788889999", // documentation placeholders
	"137112412989", // Amazon's own AMIs (owner alias amazon)
}

// keyPrefixes start AWS access key IDs (AKIA long-term, ASIA temporary) and
// IAM unique IDs, which CloudTrail logs as principalId.
var keyPrefixes = []string{"AKIA", "ASIA", "AIDA", "AROA", "AIPA", "AGPA", "ANPA", "ANVA", "APKA", "ABIA", "ACCA"}

var (
	word = regexp.MustCompile(`[0-9A-Za-z]+`)
	// Candidates only: a candidate must stand alone (see standsAlone) and
	// parse as an address.
	ipv4 = regexp.MustCompile(`[0-9]{1,3}(\.[0-9]{1,3}){3}`)
	ipv6 = regexp.MustCompile(`[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f]{0,4}){2,7}`)
)

// Redactor replaces identifying values, the same value by the same
// replacement for as long as it is used.
type Redactor struct {
	keep     map[string]bool
	accounts map[string]string
	keys     map[string]string
	ips      map[string]string
}

// NewRedactor returns a Redactor that also keeps the accounts in keep.
func NewRedactor(keep ...string) *Redactor {
	r := &Redactor{keep: map[string]bool{}, accounts: map[string]string{}, keys: map[string]string{}, ips: map[string]string{}}
	for _, a := range append(keptAccounts, keep...) {
		r.keep[a] = true
	}
	return r
}

// Redact returns text with every identifying value replaced.
func (r *Redactor) Redact(text []byte) []byte {
	text = replaceAddrs(ipv4, text, func(m string) string {
		return r.replace(r.ips, m, func(n int) string {
			// 192.0.2.0/24, then 198.51.100.0/24, then 203.0.113.0/24 (RFC 5737).
			nets := []string{"192.0.2.", "198.51.100.", "203.0.113."}
			return fmt.Sprintf("%s%d", nets[(n-1)/254%3], (n-1)%254+1)
		})
	})
	text = replaceAddrs(ipv6, text, func(m string) string {
		return r.replace(r.ips, m, func(n int) string { return fmt.Sprintf("2001:db8::%x", n) })
	})
	return word.ReplaceAllFunc(text, func(m []byte) []byte {
		w := string(m)
		switch {
		case len(w) == 12 && allDigits(w) && !r.keep[w]:
			return []byte(r.replace(r.accounts, w, func(n int) string { return fmt.Sprintf("1000%08d", n) }))
		case isKeyID(w):
			return []byte(r.replace(r.keys, w, func(n int) string {
				// Same prefix and length: AKIAEXAMPLE000000001.
				tail := "EXAMPLE" + fmt.Sprintf("%0*d", len(w)-4-7, n)
				return w[:4] + tail
			}))
		}
		return m
	})
}

// replaceAddrs replaces the IP addresses re finds that stand alone, such as
// "203.0.113.7" or "2001:db8::1" but not the "::7539" of "sts::753920291680"
// nor part of a longer dotted number.
func replaceAddrs(re *regexp.Regexp, text []byte, replace func(string) string) []byte {
	var out []byte
	last := 0
	for _, m := range re.FindAllIndex(text, -1) {
		s := string(text[m[0]:m[1]])
		if !standsAlone(text, m[0], m[1]) {
			continue
		}
		addr, err := netip.ParseAddr(s)
		if err != nil || keepAddr(addr) {
			continue
		}
		out = append(out, text[last:m[0]]...)
		out = append(out, replace(s)...)
		last = m[1]
	}
	return append(out, text[last:]...)
}

// standsAlone reports whether text[start:end] is not part of a longer word,
// number, ARN field or address.
func standsAlone(text []byte, start, end int) bool {
	joined := func(c byte) bool {
		return c == '.' || c == ':' || c == '_' || c == '-' ||
			('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
	}
	return (start == 0 || !joined(text[start-1])) && (end == len(text) || !joined(text[end]))
}

func (r *Redactor) replace(seen map[string]string, value string, next func(n int) string) string {
	if v, ok := seen[value]; ok {
		return v
	}
	v := next(len(seen) + 1)
	seen[value] = v
	return v
}

// Counts says how many distinct values of each kind were replaced.
func (r *Redactor) Counts() string {
	return fmt.Sprintf("%d account IDs, %d key and principal IDs, %d IP addresses", len(r.accounts), len(r.keys), len(r.ips))
}

// keepAddr leaves alone addresses that identify nobody: loopback,
// unspecified, and the documentation ranges the replacements come from.
func keepAddr(a netip.Addr) bool {
	if a.IsLoopback() || a.IsUnspecified() {
		return true
	}
	for _, p := range []string{"192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"} {
		if netip.MustParsePrefix(p).Contains(a) {
			return true
		}
	}
	return false
}

func allDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// isKeyID recognises access key IDs (20 characters) and IAM unique IDs (21):
// a known prefix, then upper-case letters and digits. Already masked IDs
// (…EXAMPLE…) are left alone.
func isKeyID(w string) bool {
	if len(w) < 16 || len(w) > 32 || strings.Contains(w, "EXAMPLE") {
		return false
	}
	ok := false
	for _, p := range keyPrefixes {
		ok = ok || strings.HasPrefix(w, p)
	}
	return ok && strings.ToUpper(w) == w
}

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "redact:", err)
		os.Exit(2)
	}
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("redact", flag.ContinueOnError)
	fs.SetOutput(stderr)
	write := fs.Bool("w", false, "write the result back to the files instead of standard output")
	keep := fs.String("keep", "", "comma-separated account IDs to keep as they are, besides AWS's own and the documentation's")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var extra []string
	if *keep != "" {
		extra = strings.Split(*keep, ",")
	}
	r := NewRedactor(extra...)
	files := fs.Args()
	if len(files) == 0 {
		if *write {
			return errors.New("-w needs files")
		}
		data, err := io.ReadAll(stdin)
		if err != nil {
			return err
		}
		out, err := redactChecked(r, "standard input", data)
		if err != nil {
			return err
		}
		_, err = stdout.Write(out)
		fmt.Fprintln(stderr, "redacted", r.Counts())
		return err
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		out, err := redactChecked(r, f, data)
		if err != nil {
			return err
		}
		if *write {
			if !bytes.Equal(out, data) {
				if err := os.WriteFile(f, out, 0o644); err != nil {
					return err
				}
			}
		} else if _, err := stdout.Write(out); err != nil {
			return err
		}
	}
	fmt.Fprintln(stderr, "redacted", r.Counts())
	return nil
}

// redactChecked redacts data and makes sure JSON input is still JSON.
func redactChecked(r *Redactor, name string, data []byte) ([]byte, error) {
	out := r.Redact(data)
	if json.Valid(data) && !json.Valid(out) {
		return nil, fmt.Errorf("%s: the redacted text is no longer valid JSON; nothing written", name)
	}
	return out, nil
}
