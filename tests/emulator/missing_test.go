package emulator_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpce-guard/vpce-guard/tests/emulator"
)

// Without moto, a test is skipped with a hint to run make test...
func TestMissingMotoSkips(t *testing.T) {
	t.Setenv(emulator.EnvMotoServer, filepath.Join(t.TempDir(), "no-moto_server"))
	t.Setenv(emulator.EnvRequireEmulators, "")
	if _, err := emulator.MotoServerPath(); !errors.Is(err, emulator.ErrNotInstalled) {
		t.Errorf("MotoServerPath error = %v, want ErrNotInstalled", err)
	}
	var skipped bool
	t.Run("inner", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		emulator.StartMoto(t)
	})
	if !skipped {
		t.Error("StartMoto without moto did not skip")
	}
}

// ...and fails under make test (VPCE_GUARD_REQUIRE_EMULATORS=1). The failing
// test runs in a child process, this test binary again.
func TestMissingMotoFailsWhenRequired(t *testing.T) {
	if os.Getenv("EMULATOR_TEST_CHILD") == "1" {
		emulator.StartMoto(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMissingMotoFailsWhenRequired$", "-test.v")
	cmd.Env = append(os.Environ(),
		"EMULATOR_TEST_CHILD=1",
		emulator.EnvMotoServer+"="+filepath.Join(t.TempDir(), "no-moto_server"),
		emulator.EnvRequireEmulators+"=1")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--- FAIL") || !strings.Contains(string(out), "VPCE_GUARD_REQUIRE_EMULATORS=1") {
		t.Errorf("child test: %v\n%s", err, out)
	}
}
