package emulator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"
)

// The environment variables that locate moto and decide what a missing
// emulator means.
const (
	// EnvMotoServer is the path of moto_server; make test sets it.
	EnvMotoServer = "MOTO_SERVER"
	// EnvRequireEmulators, when "1", turns a missing emulator into a failure
	// instead of a skip; make test sets it.
	EnvRequireEmulators = "VPCE_GUARD_REQUIRE_EMULATORS"
)

// ErrNotInstalled is wrapped by the error of MotoServerPath when moto cannot
// be found.
var ErrNotInstalled = errors.New("emulator not installed")

// Moto is a moto server on 127.0.0.1.
type Moto struct {
	// URL is the server's base URL, http://127.0.0.1:PORT, for an SDK
	// client's BaseEndpoint or AWS_ENDPOINT_URL_EC2.
	URL  string
	proc *process
}

// MotoServerPath is the moto_server to run: $MOTO_SERVER, else the
// repository's .venv/bin/moto_server. The error wraps ErrNotInstalled when
// neither exists.
func MotoServerPath() (string, error) {
	path := os.Getenv(EnvMotoServer)
	if path == "" {
		root, err := RepoRoot()
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrNotInstalled, err)
		}
		path = filepath.Join(root, ".venv", "bin", "moto_server")
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("%w: moto_server: %v", ErrNotInstalled, err)
	}
	return path, nil
}

// RequireEmulator handles err, an emulator that could not be found: the test
// fails under make test (VPCE_GUARD_REQUIRE_EMULATORS=1) and is skipped
// otherwise. It returns when err is nil.
func RequireEmulator(t testing.TB, err error) {
	t.Helper()
	requireInstalled(t, err, "moto", "make venv installs it in .venv")
}

// requireInstalled fails or skips t for the missing tool what, as
// RequireEmulator says; install says how make installs it.
func requireInstalled(t testing.TB, err error, what, install string) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv(EnvRequireEmulators) == "1" {
		t.Fatalf("%v (%s=1: the tests that need %s must run; %s)", err, EnvRequireEmulators, what, install)
	}
	t.Skipf("%v; run make test, which installs %s and runs these tests", err, what)
}

// motoListening is the line moto (werkzeug) prints once it listens.
var motoListening = regexp.MustCompile(`Running on (http://127\.0\.0\.1:[0-9]+)`)

// LaunchMoto starts moto_server at serverPath on 127.0.0.1 on a free port and
// returns once it answers. The caller must Close it.
func LaunchMoto(ctx context.Context, serverPath string) (*Moto, error) {
	// Port 0: the kernel picks a free port as moto binds it, and moto prints
	// it, so no other process can take it in between.
	return runMoto(ctx, exec.Command(serverPath, "-H", "127.0.0.1", "-p", "0"))
}

// runMoto starts cmd, a moto server on 127.0.0.1, port 0, and returns once
// it answers.
func runMoto(ctx context.Context, cmd *exec.Cmd) (*Moto, error) {
	// moto needs no credentials; keep the test's own AWS settings out of it.
	cmd.Env = append(baseEnv(), "PYTHONUNBUFFERED=1")
	p, err := startProcess("moto_server", cmd, maxLog)
	if err != nil {
		return nil, err
	}
	m := &Moto{proc: p}
	err = p.waitReady(ctx, func(ctx context.Context) error {
		if m.URL == "" {
			match := motoListening.FindStringSubmatch(p.out.String())
			if match == nil {
				return errors.New("no listening address in its output yet")
			}
			m.URL = match[1]
		}
		return httpReady(m.URL + "/moto-api/")(ctx)
	})
	if err != nil {
		p.stop()
		return nil, err
	}
	return m, nil
}

// Close stops the server.
func (m *Moto) Close() error {
	m.proc.stop()
	return nil
}

// Log is the server's output so far (the end of it when it is long).
func (m *Moto) Log() string { return m.proc.out.String() }

// Reset empties every region and account of the server. Do not call it on a
// shared server that other tests are using.
func (m *Moto) Reset(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.URL+"/moto-api/reset", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reset moto: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reset moto: %s: %s", resp.Status, body)
	}
	return nil
}

// StartMoto starts a moto server for t alone, stopped when t ends; its log
// is printed if t failed. When moto is missing, see RequireEmulator.
func StartMoto(t testing.TB) *Moto {
	t.Helper()
	return startMotoFor(t, LaunchMoto)
}

// startMotoFor starts a moto server for t with launch, as StartMoto says.
func startMotoFor(t testing.TB, launch func(ctx context.Context, serverPath string) (*Moto, error)) *Moto {
	t.Helper()
	path, err := MotoServerPath()
	RequireEmulator(t, err)
	m, err := launch(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("moto log (%s):\n%s", m.URL, lastBytes(m.Log(), printedLog))
		}
		m.Close()
	})
	return m
}

// shared is the moto server of the test binary, started by the first test
// that asks for it and stopped by Main.
var shared struct {
	once sync.Once
	moto *Moto
	err  error
}

// SharedMoto returns the test binary's moto server, starting it on first use.
// Tests that share it must not Reset it and should keep out of each other's
// way: their own VPCs and endpoints, or a region of their own when they list
// every endpoint. Main stops it and prints its log when a test failed; a
// binary that uses SharedMoto must call Main from TestMain.
func SharedMoto(t testing.TB) *Moto {
	t.Helper()
	path, err := MotoServerPath()
	RequireEmulator(t, err)
	shared.once.Do(func() {
		start := time.Now()
		shared.moto, shared.err = LaunchMoto(context.Background(), path)
		if shared.err == nil {
			t.Logf("shared moto at %s, ready in %v", shared.moto.URL, time.Since(start).Round(time.Millisecond))
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.moto
}

// Main runs the tests of a binary that uses SharedMoto or the builds
// (BuildBootstrap, StartLambda), then stops the shared moto, printing its log
// if a test failed, and removes the builds. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(emulator.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	if shared.moto != nil {
		if code != 0 {
			fmt.Fprintf(os.Stderr, "--- shared moto log (%s):\n%s\n--- end of moto log\n", shared.moto.URL, lastBytes(shared.moto.Log(), printedLog))
		}
		shared.moto.Close()
	}
	removeBuilds()
	return code
}

// baseEnv is the part of this process's environment a child needs to run,
// without the AWS settings of whoever runs the tests.
func baseEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "SYSTEMROOT"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}
