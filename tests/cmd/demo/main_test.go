package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vpce-guard/vpce-guard/tests/emulator"
)

// The demo is the project's first impression: it must keep telling the
// story it tells, end to end.
func TestDemo(t *testing.T) {
	_, err := emulator.MotoServerPath()
	emulator.RequireEmulator(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out); err != nil {
		t.Fatalf("run: %v\noutput so far:\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []*regexp.Regexp{
		// Before: the default policy lets an intruder's keys write into their own account.
		regexp.MustCompile(`"Action": "\*", "Resource": "\*"`),
		regexp.MustCompile(`ALLOW  an intruder's keys .*log group exfil`),
		// vpce-guard rewrites it, and says why.
		regexp.MustCompile(`verdict noncompliant, action rewritten`),
		regexp.MustCompile(`because statement 1 allows \* on \*`),
		// After: only the allowed log group of the account.
		regexp.MustCompile(`ALLOW  a role of this account .*log group logs-test-allowed`),
		regexp.MustCompile(`DENY   a role of this account .*log group logs-test-denied`),
		regexp.MustCompile(`DENY   an intruder's keys .*log group exfil`),
		// And leaves a compliant policy alone.
		regexp.MustCompile(`verdict compliant, action none`),
	} {
		if !want.MatchString(text) {
			t.Errorf("the demo's output lacks %q:\n%s", want, text)
		}
	}
	if strings.Count(text, "ALLOW  an intruder's keys") != 1 {
		t.Errorf("an intruder is allowed other than before the rewrite:\n%s", text)
	}
}
