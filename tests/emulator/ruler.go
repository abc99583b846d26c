package emulator

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// EnvEventRuler is the path of the jar that puts event-ruler behind a line
// protocol (tests/ruler); make test builds it and sets this variable.
const EnvEventRuler = "VPCE_GUARD_EVENT_RULER"

// EventRuler is AWS's event-ruler, the open-source Java library that matches
// EventBridge-style event patterns, in a Java process (tests/ruler) that
// answers one request a line. Its rules live in one machine for the process's
// lifetime.
type EventRuler struct {
	proc    *process // its output is the Java process's standard error
	stdin   io.WriteCloser
	answers chan string // its standard output, a line at a time; closed at its end
	mu      sync.Mutex  // one request, one answer
}

// EventRulerJarPath is the jar to run: $VPCE_GUARD_EVENT_RULER, else the one
// make builds in tests/ruler/target. The error wraps ErrNotInstalled when the
// jar or Java is missing.
func EventRulerJarPath() (string, error) {
	if _, err := exec.LookPath("java"); err != nil {
		return "", fmt.Errorf("%w: Java for event-ruler: %v", ErrNotInstalled, err)
	}
	path := os.Getenv(EnvEventRuler)
	if path == "" {
		root, err := RepoRoot()
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrNotInstalled, err)
		}
		path = filepath.Join(root, "tests", "ruler", "target", "ruler-check.jar")
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("%w: event-ruler: %v", ErrNotInstalled, err)
	}
	return path, nil
}

// StartEventRuler starts the event-ruler process for t, stopped when t ends;
// its standard error is printed if t failed. When the jar or Java is missing,
// t is skipped, or fails under make test (VPCE_GUARD_REQUIRE_EMULATORS=1).
func StartEventRuler(t testing.TB) *EventRuler {
	t.Helper()
	jar, err := EventRulerJarPath()
	requireInstalled(t, err, "event-ruler", "make event-ruler builds it")
	r, err := LaunchEventRuler(jar)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.Close()
		if t.Failed() {
			t.Logf("event-ruler's standard error:\n%s", lastBytes(r.proc.out.String(), printedLog))
		}
	})
	return r
}

// LaunchEventRuler starts java -jar jar. It does not wait for the JVM: the
// first answer does. The caller must Close it.
func LaunchEventRuler(jar string) (*EventRuler, error) {
	cmd := exec.Command("java", "-jar", jar)
	cmd.Env = baseEnv()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = w
	p, err := startProcess("event-ruler", cmd, maxLog)
	w.Close() // the child holds its own copy
	if err != nil {
		stdout.Close()
		return nil, err
	}
	r := &EventRuler{proc: p, stdin: stdin, answers: make(chan string)}
	go func() {
		defer close(r.answers)
		defer stdout.Close()
		lines := bufio.NewScanner(stdout)
		lines.Buffer(nil, 1<<20)
		for lines.Scan() {
			r.answers <- lines.Text()
		}
	}()
	return r, nil
}

// AddRule compiles pattern, a JSON event pattern, as the rule name, which
// must be one word. A pattern event-ruler refuses is an error.
func (r *EventRuler) AddRule(ctx context.Context, name string, pattern []byte) error {
	if name == "" || strings.ContainsAny(name, " \t\r\n") {
		return fmt.Errorf("rule name %q: want one word", name)
	}
	line, err := oneLine(pattern)
	if err != nil {
		return fmt.Errorf("pattern: %w", err)
	}
	answer, err := r.request(ctx, "rule "+name+" "+line)
	if err != nil {
		return fmt.Errorf("add rule %s: %w", name, err)
	}
	if answer != "ok" {
		return fmt.Errorf("add rule %s: unexpected answer %q", name, answer)
	}
	return nil
}

// Match returns the names of the rules that match event, a JSON event, sorted.
func (r *EventRuler) Match(ctx context.Context, event []byte) ([]string, error) {
	line, err := oneLine(event)
	if err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	answer, err := r.request(ctx, "event "+line)
	if err != nil {
		return nil, fmt.Errorf("match: %w", err)
	}
	names, ok := strings.CutPrefix(answer, "matched")
	if !ok {
		return nil, fmt.Errorf("match: unexpected answer %q", answer)
	}
	return strings.Fields(names), nil
}

// Close ends the process.
func (r *EventRuler) Close() {
	r.stdin.Close()
	r.proc.stop()
}

// oneLine is data, which must be JSON, without the whitespace between tokens.
func oneLine(data []byte) (string, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// request sends one line and returns the answer, or the error it reports.
func (r *EventRuler) request(ctx context.Context, line string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := io.WriteString(r.stdin, line+"\n"); err != nil {
		return "", fmt.Errorf("event-ruler does not take requests: %w; its standard error:\n%s", err, r.proc.out)
	}
	select {
	case answer, ok := <-r.answers:
		if !ok {
			return "", fmt.Errorf("event-ruler ended without an answer; its standard error:\n%s", r.proc.out)
		}
		if reason, failed := strings.CutPrefix(answer, "error "); failed {
			return "", errors.New(reason)
		}
		return answer, nil
	case <-ctx.Done():
		return "", fmt.Errorf("no answer from event-ruler: %w", context.Cause(ctx))
	}
}
