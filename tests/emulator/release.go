package emulator

import (
	"slices"

	"github.com/vpce-guard/vpce-guard/internal/build"
)

// BuildRelease builds the function with the release flags (internal/build)
// for goos/goarch into out.
func BuildRelease(out, goos, goarch string) error {
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	return goBuild(root, build.Env(goos, goarch), out, slices.Concat(build.Flags, []string{build.FunctionPackage})...)
}
