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

// Without moto or the event-ruler jar, a test is skipped with a hint to run
// make test...
func TestMissingToolSkips(t *testing.T) {
	for _, tt := range []struct {
		name  string
		env   string
		path  func() (string, error)
		start func(testing.TB)
	}{
		{"moto", emulator.EnvMotoServer, emulator.MotoServerPath, func(t testing.TB) { emulator.StartMoto(t) }},
		{"event-ruler", emulator.EnvEventRuler, emulator.EventRulerJarPath, func(t testing.TB) { emulator.StartEventRuler(t) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(tt.env, filepath.Join(t.TempDir(), "not-there"))
			t.Setenv(emulator.EnvRequireEmulators, "")
			if _, err := tt.path(); !errors.Is(err, emulator.ErrNotInstalled) {
				t.Errorf("path error = %v, want ErrNotInstalled", err)
			}
			var skipped bool
			t.Run("inner", func(t *testing.T) {
				defer func() { skipped = t.Skipped() }()
				tt.start(t)
			})
			if !skipped {
				t.Errorf("starting %s without it did not skip", tt.name)
			}
		})
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
