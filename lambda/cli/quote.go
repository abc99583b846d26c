package cli

import (
	"fmt"
	"strings"
	"unicode"
)

// shellQuote quotes s as one word for a POSIX shell, so that a command line
// printed for copying runs only what it says, whatever s holds.
//
// A word of letters, digits and @%+=:,./_- alone stays as it is. Any other
// printable text goes in single quotes, inside which a shell reads nothing
// but the closing quote; a quote in s closes them, comes escaped, and opens
// them again. Text with characters a terminal does not show as themselves
// (line breaks, escape sequences, the invisible and direction-changing
// format characters) goes in $'...' with those characters escaped, so that
// the line stays one line and reads as it runs.
// A shell without $'...' reads it as a $ and a single-quoted word: still one
// inert word.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool { return !isPlainShellRune(r) }) < 0 {
		return s
	}
	if strings.IndexFunc(s, needsEscape) < 0 {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	var b strings.Builder
	b.WriteString("$'")
	for _, r := range s {
		switch {
		case r == '\'' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteString(printable(string(r)))
		}
	}
	b.WriteByte('\'')
	return b.String()
}

func isPlainShellRune(r rune) bool {
	return r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./_-", r))
}

// needsEscape reports whether a terminal would not show r as itself.
func needsEscape(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) || r == unicode.ReplacementChar
}

// printable is s for a terminal, one line that shows what it holds: the
// characters needsEscape finds written as \xHH, \uHHHH or \UHHHHHHHH. A
// reason may quote a policy's values, and a line break in one must not
// start a line that looks like one of the command's own.
func printable(s string) string {
	if strings.IndexFunc(s, needsEscape) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case !needsEscape(r):
			b.WriteRune(r)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	return b.String()
}
