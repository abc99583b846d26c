package cli

import (
	"os/exec"
	"strings"
	"testing"
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
