package stack_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/vpce-guard/vpce-guard/infra/stack"
	"github.com/vpce-guard/vpce-guard/tests/emulator"
)

// nodeErr says why jsii has no supported Node.js to run on, if it has none.
var nodeErr error

// outRoot holds the cloud assemblies, which outlive the test that made them:
// each app is synthesized once per test binary and shared.
var outRoot string

func TestMain(m *testing.M) {
	nodeErr = useNode22()
	var err error
	if outRoot, err = os.MkdirTemp("", "vpce-guard-infra-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := emulator.Main(m)
	jsii.Close()
	os.RemoveAll(outRoot)
	os.Exit(code)
}

// useNode22 points jsii at Node.js 22 or later: $JSII_NODE (make sets it),
// else the one make infra-tools installs in .tools/npm.
func useNode22() error {
	node := os.Getenv("JSII_NODE")
	if node == "" {
		root, err := stack.ModuleRoot(".")
		if err != nil {
			return err
		}
		node = filepath.Join(root, ".tools", "npm", "node_modules", ".bin", "node")
	}
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return fmt.Errorf("Node.js for jsii: %s: %v", node, err)
	}
	version := strings.TrimSpace(string(out))
	major, _, _ := strings.Cut(strings.TrimPrefix(version, "v"), ".")
	if n, err := strconv.Atoi(major); err != nil || n < 22 {
		return fmt.Errorf("Node.js for jsii: %s is %s, want 22 or later", node, version)
	}
	return os.Setenv("JSII_NODE", node)
}

// requireNode skips a test that needs jsii when there is no Node.js 22, or
// fails it under make test (VPCE_GUARD_REQUIRE_EMULATORS=1).
func requireNode(t *testing.T) {
	t.Helper()
	if nodeErr == nil {
		return
	}
	if os.Getenv(emulator.EnvRequireEmulators) == "1" {
		t.Fatalf("%v (%s=1: the infra tests must run; make infra-tools installs Node.js 22)", nodeErr, emulator.EnvRequireEmulators)
	}
	t.Skipf("%v; run make test, which installs Node.js 22 in .tools/npm", nodeErr)
}

// synthesis is one app synthesized with some context.
type synthesis struct {
	app       awscdk.App
	stacks    []awscdk.Stack
	templates map[string]assertions.Template // by stack name
}

func (s *synthesis) template(t *testing.T, name string) assertions.Template {
	t.Helper()
	tpl, ok := s.templates[name]
	if !ok {
		t.Fatalf("no stack %s", name)
	}
	return tpl
}

// stack is the synthesis's only stack.
func (s *synthesis) only(t *testing.T) (awscdk.Stack, assertions.Template) {
	t.Helper()
	if len(s.stacks) != 1 {
		t.Fatalf("%d stacks, want 1", len(s.stacks))
	}
	st := s.stacks[0]
	return st, s.templates[*st.StackName()]
}

var synthesized struct {
	sync.Mutex
	byContext map[string]*synthesis
}

// synth builds the app with cdk.json's context and extra, the way cdk synth
// does, and synthesizes it once per test binary.
func synth(t *testing.T, extra map[string]any) *synthesis {
	t.Helper()
	requireNode(t)
	key, _ := json.Marshal(extra) // maps marshal with sorted keys
	synthesized.Lock()
	defer synthesized.Unlock()
	if s, ok := synthesized.byContext[string(key)]; ok {
		return s
	}
	app, stacks, err := build(t, extra)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	s := &synthesis{app: app, stacks: stacks, templates: map[string]assertions.Template{}}
	func() {
		// A failed synth, such as a cdk-nag finding, is a jsii panic.
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("synth with context %s: %v", key, r)
			}
		}()
		for _, st := range stacks {
			s.templates[*st.StackName()] = assertions.Template_FromStack(st, nil)
		}
	}()
	if synthesized.byContext == nil {
		synthesized.byContext = map[string]*synthesis{}
	}
	synthesized.byContext[string(key)] = s
	return s
}

func build(t *testing.T, extra map[string]any) (awscdk.App, []awscdk.Stack, error) {
	t.Helper()
	root, err := stack.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	context := cdkJSONContext(t, root)
	for k, v := range extra {
		context[k] = v
	}
	outdir, err := os.MkdirTemp(outRoot, "cdk.out-")
	if err != nil {
		t.Fatal(err)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &context, Outdir: jsii.String(outdir)})
	stacks, err := stack.Build(app, root, "")
	return app, stacks, err
}

// cdkJSONContext is the context in cdk.json: the feature flags the CLI passes.
func cdkJSONContext(t *testing.T, root string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "cdk.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cdkJSON struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(data, &cdkJSON); err != nil {
		t.Fatalf("cdk.json: %v", err)
	}
	return cdkJSON.Context
}

// templateJSON is a stack's template as plain JSON values.
func templateJSON(t *testing.T, tpl assertions.Template) map[string]any {
	t.Helper()
	data, err := json.Marshal(tpl.ToJSON())
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// resourcesOfType returns the logical IDs and resources of one type, by ID.
func resourcesOfType(t *testing.T, tpl assertions.Template, typ string) (ids []string, byID map[string]map[string]any) {
	t.Helper()
	byID = map[string]map[string]any{}
	resources, _ := templateJSON(t, tpl)["Resources"].(map[string]any)
	for id, r := range resources {
		res := r.(map[string]any)
		if res["Type"] == typ {
			ids = append(ids, id)
			byID[id] = res
		}
	}
	sort.Strings(ids)
	return ids, byID
}

// onlyID is the logical ID of the one resource of a type.
func onlyID(t *testing.T, tpl assertions.Template, typ string) string {
	t.Helper()
	ids, _ := resourcesOfType(t, tpl, typ)
	if len(ids) != 1 {
		t.Fatalf("%d resources of type %s (%v), want 1", len(ids), typ, ids)
	}
	return ids[0]
}

func getAtt(id, attr string) map[string]any {
	return map[string]any{"Fn::GetAtt": []any{id, attr}}
}

func ref(id string) map[string]any {
	return map[string]any{"Ref": id}
}
