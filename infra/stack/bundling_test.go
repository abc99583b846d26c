package stack

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/jsii-runtime-go"
)

// A build that fails stops the synth with the compiler's words, instead of
// returning false, which would make CDK try Docker.
func TestGoBundlingFailureIsAnError(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module example.com/broken\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "lambda"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "lambda", "main.go"), []byte("package main\n\nfunc main() { undefined() }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := &goBundling{moduleRoot: root}
	var recovered any
	func() {
		defer func() { recovered = recover() }()
		b.TryBundle(jsii.String(t.TempDir()), nil)
	}()
	msg := fmt.Sprint(recovered)
	for _, want := range []string{"build the function", "undefined: undefined"} {
		if !strings.Contains(msg, want) {
			t.Errorf("TryBundle panicked with %q, want it to contain %q", msg, want)
		}
	}
	if !strings.Contains(msg, "go build -tags lambda.norpc -trimpath -buildvcs=false -ldflags=-s -w") {
		t.Errorf("TryBundle's error %q does not show the build command", msg)
	}
}

func TestModuleRoot(t *testing.T) {
	t.Parallel()
	root, err := ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "lambda", "main.go")); err != nil {
		t.Errorf("ModuleRoot = %s, which has no lambda/main.go: %v", root, err)
	}
	if _, err := ModuleRoot(string(filepath.Separator)); err == nil {
		t.Error("ModuleRoot(/) found a go.mod")
	}
}
