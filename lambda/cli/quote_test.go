package cli

import (
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vpce-guard/vpce-guard/lambda/policy"
)

func TestShellQuote(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"logs:PutLogEvents", "logs:PutLogEvents"},
		{"arn:aws:logs:eu-west-1:111122223333:log-group:a/b*", "'arn:aws:logs:eu-west-1:111122223333:log-group:a/b*'"},
		{"", "''"},
		{"a b", "'a b'"},
		{"it's", `'it'\''s'`},
		{"$(id)`id`;|&<>!~#", "'$(id)`id`;|&<>!~#'"},
		{"a\nb", `$'a\x0ab'`},
		{"it's\n", `$'it\'s\x0a'`},
		{`a\b` + "\t", `$'a\\b\x09'`},
		{"\x1b[2J", `$'\x1b[2J'`},
		{"x\u202ey", `$'x\u202ey'`},
		{"x\u2028y", `$'x\u2028y'`},
		{"é", "'é'"},
	}
	bash, _ := exec.LookPath("bash")
	for _, tt := range tests {
		got := shellQuote(tt.in)
		if got != tt.want {
			t.Errorf("shellQuote(%q) = %s, want %s", tt.in, got, tt.want)
		}
		if bash == "" {
			continue
		}
		cmd := exec.Command(bash, "--norc", "--noprofile", "-c", "printf '%s' "+got)
		cmd.Env = []string{"LC_ALL=C.UTF-8"}
		out, err := cmd.Output()
		if err != nil || string(out) != tt.in {
			t.Errorf("bash reads %s as %q (%v), want %q", got, out, err, tt.in)
		}
	}
}

func TestPrintable(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"plain, é":            "plain, é",
		"two\nlines":          `two\x0alines`,
		"\x1b[31mred\u202e\r": `\x1b[31mred\u202e\x0d`,
	} {
		if got := printable(in); got != want || strings.ContainsAny(got, "\n\r\x1b") {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}

// Whatever the string, its quoted form is one line without a character a
// terminal hides, and a shell reads it back as the string.
func FuzzShellQuote(f *testing.F) {
	for _, seed := range []string{"", "a", "it's", "a\nb", "\x1b]0;title\x07", "\u202e", "$(id)", `\'`, "\x00", "é\u00a0"} {
		f.Add(seed)
	}
	bash, _ := exec.LookPath("bash")
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			t.Skip("a policy holds valid UTF-8, and no argument can hold NUL")
		}
		got := shellQuote(s)
		if strings.IndexFunc(got, needsEscape) >= 0 {
			t.Fatalf("shellQuote(%q) = %q holds a character a terminal hides", s, got)
		}
		if bash == "" {
			return
		}
		cmd := exec.Command(bash, "--norc", "--noprofile", "-c", "printf '%s' "+got)
		cmd.Env = []string{"LC_ALL=C.UTF-8"}
		out, err := cmd.Output()
		if err != nil || string(out) != s {
			t.Fatalf("bash reads %s as %q (%v), want %q", got, out, err, s)
		}
	})
}

func TestReplayCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		w    policy.Witness
		want string
	}{
		{policy.Witness{Principal: "111122223333", Action: "logs:GetLogEvents", Resource: "arn:x"},
			"vpce-guard simulate --policy p.json --action logs:GetLogEvents --resource arn:x --principal-account 111122223333"},
		{policy.Witness{Action: "logs:GetLogEvents", Resource: "arn:x", Context: map[string][]string{"b": {"2", "1"}, "a": {"x y"}}},
			"vpce-guard simulate --policy p.json --action logs:GetLogEvents --resource arn:x --context 'a=x y' --context b=2 --context b=1"},
		{policy.Witness{Principal: "logs.amazonaws.com", Action: "a:b", Resource: "*"},
			"vpce-guard simulate --policy p.json --action a:b --resource '*' --principal logs.amazonaws.com"},
	}
	for _, tt := range tests {
		if got := replayCommand("p.json", tt.w); got != tt.want {
			t.Errorf("replayCommand(%+v) =\n%s\nwant\n%s", tt.w, got, tt.want)
		}
	}
}
