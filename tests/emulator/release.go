package emulator

import "slices"

// ReleaseFlags are the go build flags of every binary vpce-guard ships: the
// Lambda's bootstrap (infra/stack bundles it with them) and the command line
// (make build). lambda.norpc matters most: without it the RPC mode of the
// retired go1.x runtime links net/rpc, whose method lookup by reflection keeps
// every exported method of the EC2 client in the binary.
var ReleaseFlags = []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w"}

// MaxBootstrapBytes is the project's size target for the arm64 bootstrap.
const MaxBootstrapBytes = 10 << 20

// BuildRelease builds ./lambda with ReleaseFlags for goos/goarch into out.
func BuildRelease(out, goos, goarch string) error {
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	return goBuild(root, []string{"GOOS=" + goos, "GOARCH=" + goarch}, out, slices.Concat(ReleaseFlags, []string{"./lambda"})...)
}
