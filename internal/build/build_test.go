package build_test

import (
	"os"
	"strings"
	"testing"

	"github.com/vpce-guard/vpce-guard/internal/build"
)

// The Makefile builds with the same flags as the CDK app and the tests.
func TestMakefileSpellsTheFlags(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	want := "GO_BUILD_FLAGS := " + build.MakefileFlags()
	for line := range strings.SplitSeq(string(data), "\n") {
		if strings.HasPrefix(line, "GO_BUILD_FLAGS :=") {
			if line != want {
				t.Errorf("the Makefile says\n%s\nwant\n%s", line, want)
			}
			return
		}
	}
	t.Errorf("the Makefile has no GO_BUILD_FLAGS line; want\n%s", want)
}
