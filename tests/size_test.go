package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpce-guard/vpce-guard/internal/build"
	"github.com/vpce-guard/vpce-guard/tests/emulator"
)

// TestReleaseBinarySize holds the arm64 bootstrap as it ships (make test
// builds it; outside make the test builds it itself) to the size target. Far over it means the linker can no longer leave out the
// EC2 client's unused methods: that happens when net/rpc is linked (a build
// without lambda.norpc) or when any code looks methods up by reflection, and
// it also doubles the command line's memory.
func TestReleaseBinarySize(t *testing.T) {
	t.Parallel()
	out, ok, err := emulator.Prebuilt(emulator.EnvArm64Bootstrap)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		out = filepath.Join(t.TempDir(), "bootstrap")
		if err := emulator.BuildRelease(out, "linux", "arm64"); err != nil {
			t.Fatal(err)
		}
	}
	info, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("arm64 bootstrap: %d bytes", info.Size())
	if info.Size() > build.MaxBootstrapBytes {
		t.Errorf("the arm64 bootstrap is %d bytes, over the target of %d", info.Size(), build.MaxBootstrapBytes)
	}
}

// The bootstrap reaches Security Hub through lambda/securityhub, two
// operations written by hand: the SDK's client of the whole service was
// about 1.5 MB of it. The tests may still use the SDK's.
func TestBootstrapLeavesOutTheSecurityHubSDK(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("go", "list", "-tags", "lambda.norpc", "-deps", "../lambda")
	cmd.Env = append(os.Environ(), build.Env("linux", "arm64")...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for dep := range strings.FieldsSeq(string(out)) {
		if strings.HasPrefix(dep, "github.com/aws/aws-sdk-go-v2/service/securityhub") {
			t.Errorf("the bootstrap links %s", dep)
		}
	}
}
