package tests

import (
	"os"
	"path/filepath"
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
