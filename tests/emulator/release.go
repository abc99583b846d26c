package emulator

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

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
	args := append([]string{"build"}, ReleaseFlags...)
	cmd := exec.Command(goCommand(), append(args, "-o", out, "./lambda")...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s ./lambda for %s/%s: %v\n%s", strings.Join(ReleaseFlags, " "), goos, goarch, err, output)
	}
	return nil
}
