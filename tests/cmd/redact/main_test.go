package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vpce-guard/vpce-guard/lambda/cloudtrail"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, in, want string }{
		{"account in an ARN and as a number",
			`{"arn":"arn:aws:iam::753920291680:role/x","ownerId":753920291680,"other":210987654321}`,
			`{"arn":"arn:aws:iam::100000000001:role/x","ownerId":100000000001,"other":100000000002}`},
		{"placeholder and AWS accounts kept",
			`arn:aws:iam::111122223333:root 123456789012 137112412989`,
			`arn:aws:iam::111122223333:root 123456789012 137112412989`},
		{"not an account: longer, shorter, inside a word",
			`1795915275436 12345678901 vpce-012345678901abc i-031c2cfcd064f128f`,
			`1795915275436 12345678901 vpce-012345678901abc i-031c2cfcd064f128f`},
		{"access key and principal IDs, same length and prefix",
			`"ASIA27CJGWNQHFDWCKDR" "AKIAIOSFODNN7ABCDEFG" "AROAIBY7OLUDPY6JZWQTM:session" "AIDA2KEX3JLIYUA7ET75O"`,
			`"ASIAEXAMPLE000000001" "AKIAEXAMPLE000000002" "AROAEXAMPLE0000000003:session" "AIDAEXAMPLE0000000004"`},
		{"already masked keys kept", `AKIAIOSFODNN7EXAMPLE`, `AKIAIOSFODNN7EXAMPLE`},
		{"IPv4 and IPv6 addresses",
			`"sourceIPAddress":"3.237.66.170","x":"2a05:d018:1234::5","y":"3.237.66.170","z":"10.0.1.25"`,
			`"sourceIPAddress":"192.0.2.1","x":"2001:db8::3","y":"192.0.2.1","z":"192.0.2.2"`},
		{"not addresses: versions, times, ARNs, documentation ranges",
			`Boto3/1.34.145 os/linux#5.10.233-244.887.amzn2 1.2.3.4.5 03:27:10 arn:aws:sts::753920291680:x 203.0.113.9 ::1 127.0.0.1 AWS Internal`,
			`Boto3/1.34.145 os/linux#5.10.233-244.887.amzn2 1.2.3.4.5 03:27:10 arn:aws:sts::100000000001:x 203.0.113.9 ::1 127.0.0.1 AWS Internal`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := string(NewRedactor().Redact([]byte(tc.in))); got != tc.want {
				t.Errorf("Redact(%s)\n got %s\nwant %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestKeep(t *testing.T) {
	t.Parallel()
	got := string(NewRedactor("210987654321").Redact([]byte("210987654321 753920291680")))
	if want := "210987654321 100000000001"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

var (
	leftAccount = regexp.MustCompile(`(^|[^0-9A-Za-z])([0-9]{12})([^0-9A-Za-z]|$)`)
	leftKey     = regexp.MustCompile(`\b(AKIA|ASIA|AIDA|AROA)[A-Z0-9]{16,17}\b`)
)

// Every public record the decoder is tested with, redacted: still valid JSON,
// decoded to the same calls but for who made them, and nothing identifying
// left.
func TestRedactRecords(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../../../lambda/cloudtrail/testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no records: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out := NewRedactor().Redact(in)
			if !json.Valid(out) {
				t.Fatalf("not valid JSON after redaction:\n%s", out)
			}
			for _, m := range leftAccount.FindAllSubmatch(out, -1) {
				if a := string(m[2]); !strings.HasPrefix(a, "1000") && !NewRedactor().keep[a] {
					t.Errorf("account ID %s left", a)
				}
			}
			for _, k := range leftKey.FindAll(out, -1) {
				if !bytes.Contains(k, []byte("EXAMPLE")) {
					t.Errorf("key ID %s left", k)
				}
			}
			before, errBefore := cloudtrail.Decode(in)
			after, errAfter := cloudtrail.Decode(out)
			if (errBefore == nil) != (errAfter == nil) || len(before) != len(after) {
				t.Fatalf("decoded to %d calls (%v) before, %d (%v) after", len(before), errBefore, len(after), errAfter)
			}
			for i := range before {
				b, a := before[i], after[i]
				if b.EventName != a.EventName || b.Region != a.Region || strings.Join(b.EndpointIDs, ",") != strings.Join(a.EndpointIDs, ",") ||
					b.SkipReason != a.SkipReason || b.Sweep != a.Sweep || b.ErrorCode != a.ErrorCode {
					t.Errorf("call %d changed:\n before %+v\n after  %+v", i, b, a)
				}
			}
		})
	}
}

func TestRunWritesFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	os.WriteFile(a, []byte(`{"account":"753920291680"}`), 0o644)
	os.WriteFile(b, []byte(`{"account":"753920291680","ip":"3.237.66.170"}`), 0o644)
	var stdout, stderr bytes.Buffer
	if err := run([]string{"-w", a, b}, nil, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	gotA, _ := os.ReadFile(a)
	gotB, _ := os.ReadFile(b)
	// One mapping across the files of a run.
	if string(gotA) != `{"account":"100000000001"}` || string(gotB) != `{"account":"100000000001","ip":"192.0.2.1"}` {
		t.Errorf("files after -w:\n%s\n%s", gotA, gotB)
	}
	if stdout.Len() != 0 || !strings.Contains(stderr.String(), "1 account IDs") || strings.Contains(stderr.String(), "753920291680") {
		t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
}
