package tests

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the testdata/golden files that differ from what the tests produce")

// checkGolden compares got with testdata/golden/NAME.json. With -update it
// rewrites the file, but only when it differs; either way a difference is
// printed as a diff.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".json")
	want, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if bytes.Equal(got, want) {
		return
	}
	d := lineDiff(string(want), string(got))
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("updated %s:\n%s", path, d)
		return
	}
	if want == nil {
		t.Errorf("%s does not exist; run go test ./tests -run '%s' -update to create it. It would hold:\n%s", path, t.Name(), got)
		return
	}
	t.Errorf("outcomes differ from %s (-want +got); if the change is intended, run go test ./tests -run '%s' -update:\n%s", path, t.Name(), d)
}

// lineDiff is a unified-style diff of two texts, line by line, from their
// longest common subsequence; good enough for golden files of a few hundred
// lines.
func lineDiff(a, b string) string {
	x, y := lines(a), lines(b)
	n, m := len(x), len(y)
	// lcs[i][j] is the length of the LCS of x[i:] and y[j:].
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	line := func(prefix, s string) {
		fmt.Fprintf(&out, "%s%s", prefix, s)
		if !strings.HasSuffix(s, "\n") {
			out.WriteString("\n")
		}
	}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && x[i] == y[j]:
			line("  ", x[i])
			i, j = i+1, j+1
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			line("+ ", y[j])
			j++
		default:
			line("- ", x[i])
			i++
		}
	}
	return out.String()
}

func lines(s string) []string {
	l := strings.SplitAfter(s, "\n")
	if l[len(l)-1] == "" {
		l = l[:len(l)-1]
	}
	return l
}

func TestLineDiff(t *testing.T) {
	t.Parallel()
	got := lineDiff("a\nb\nc\n", "a\nc\nd\n")
	want := "  a\n- b\n  c\n+ d\n"
	if got != want {
		t.Errorf("lineDiff = %q, want %q", got, want)
	}
}
