package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The CDK app reads of the function only what its deployment must agree on:
// the configuration's names (lambda/config, and through it the templates and
// the policy parser they are checked with) and the metrics' (lambda/metrics).
// The use case (handler, remediate, the EC2 client...) stays out, so that a
// change there cannot change a synthesized template.
func TestInfraImportsOnlyTheContract(t *testing.T) {
	t.Parallel()
	const module = "github.com/vpce-guard/vpce-guard/"
	allowed := []string{
		"infra", "infra/stack", "infra/scp", "internal/build",
		"lambda/config", "lambda/metrics", "lambda/policy", "policytemplates",
		"lambda/policy/internal/resourcetypes", // the parser's own data
	}
	out, err := exec.Command("go", "list", "-deps", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for dep := range strings.FieldsSeq(string(out)) {
		own, ok := strings.CutPrefix(dep, module)
		if ok && !slices.Contains(allowed, own) {
			t.Errorf("infra depends on %s", dep)
		}
		if dep == "github.com/aws/aws-sdk-go-v2/service/ec2" {
			t.Errorf("infra depends on the EC2 client")
		}
	}
}
