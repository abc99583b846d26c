// Package oracle runs an IAM evaluator written by others,
// @cloud-copilot/iam-simulate (pinned in package.json beside this file,
// installed by make oracle into .tools/oracle), so that tests can hold the
// policy engine to it. One Node.js process answers every question of a test
// run: JSON lines in, JSON lines out (oracle.cjs).
package oracle

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vpce-guard/vpce-guard/tests/emulator"
)

// The environment variables that locate Node.js and the installed package;
// by default the CDK toolchain's Node.js 22 and make oracle's folder.
const (
	EnvNode    = "VPCE_GUARD_ORACLE_NODE"
	EnvModules = "VPCE_GUARD_ORACLE_MODULES"
)

// Question asks whether Policy, as a VPC endpoint policy, allows a request.
type Question struct {
	Policy    json.RawMessage     `json:"policy"`
	Principal string              `json:"principal"`
	Action    string              `json:"action"`
	Resource  string              `json:"resource"`
	Context   map[string][]string `json:"context"`
}

// Answer is iam-simulate's decision: Allowed, ExplicitlyDenied,
// ImplicitlyDenied, or error when it would not evaluate the question.
type Answer struct {
	Decision string `json:"decision"`
	Error    string `json:"error"`
	// IgnoredContextKeys are keys iam-simulate left out because the action
	// does not take them; the question is the same without them.
	IgnoredContextKeys []string `json:"ignoredContextKeys"`
}

// Allowed reports whether the request is allowed.
func (a Answer) Allowed() bool { return a.Decision == "Allowed" }

// Oracle is a running oracle process.
type Oracle struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Scanner
	stderr *os.File
}

// Start runs the oracle for the test and stops it when the test ends. When
// Node.js or the package is missing the test is skipped, or fails under make
// test (VPCE_GUARD_REQUIRE_EMULATORS=1), as for the emulators.
func Start(t testing.TB) *Oracle {
	t.Helper()
	node, modules, err := paths()
	emulator.RequireEmulator(t, err)
	root, err := emulator.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join(root, "tests", "oracle", "oracle.cjs"), modules)
	stderr, err := os.CreateTemp(t.TempDir(), "oracle-stderr")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the oracle: %v", err)
	}
	o := &Oracle{cmd: cmd, in: in, out: bufio.NewScanner(out), stderr: stderr}
	o.out.Buffer(make([]byte, 1<<20), 64<<20)
	t.Cleanup(func() {
		_ = o.in.Close()
		_ = o.cmd.Wait()
	})
	return o
}

func paths() (node, modules string, err error) {
	root, err := emulator.RepoRoot()
	if err != nil {
		return "", "", fmt.Errorf("%w: %v", emulator.ErrNotInstalled, err)
	}
	node = os.Getenv(EnvNode)
	if node == "" {
		node = filepath.Join(root, ".tools", "npm", "node_modules", ".bin", "node")
	}
	modules = os.Getenv(EnvModules)
	if modules == "" {
		modules = filepath.Join(root, ".tools", "oracle", "node_modules")
	}
	if _, err := os.Stat(node); err != nil {
		return "", "", fmt.Errorf("%w: Node.js for the IAM oracle: %v (make infra-tools installs it)", emulator.ErrNotInstalled, err)
	}
	if _, err := os.Stat(filepath.Join(modules, "@cloud-copilot", "iam-simulate", "package.json")); err != nil {
		return "", "", fmt.Errorf("%w: the IAM oracle: %v (make oracle installs it)", emulator.ErrNotInstalled, err)
	}
	return node, modules, nil
}

// Ask answers the questions in order. They are written while the answers
// are read, so that a batch of any size streams through the pipes.
func (o *Oracle) Ask(questions []Question) ([]Answer, error) {
	written := make(chan error, 1)
	go func() {
		w := bufio.NewWriter(o.in)
		enc := json.NewEncoder(w)
		for _, q := range questions {
			if err := enc.Encode(q); err != nil {
				written <- err
				return
			}
		}
		written <- w.Flush()
	}()
	answers := make([]Answer, 0, len(questions))
	for range questions {
		if !o.out.Scan() {
			return nil, errors.Join(errors.New("the oracle stopped answering"), o.out.Err(), o.stderrText())
		}
		var a Answer
		if err := json.Unmarshal(o.out.Bytes(), &a); err != nil {
			return nil, fmt.Errorf("the oracle's answer %q: %w", o.out.Bytes(), err)
		}
		answers = append(answers, a)
	}
	return answers, <-written
}

func (o *Oracle) stderrText() error {
	data, _ := os.ReadFile(o.stderr.Name())
	if len(data) == 0 {
		return nil
	}
	return fmt.Errorf("its standard error: %s", data)
}
