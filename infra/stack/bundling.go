package stack

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/vpce-guard/vpce-guard/internal/build"
)

// goBundling builds the function with the Go toolchain of the machine that
// synthesizes, for Lambda's provided.al2023 runtime on arm64. jsii calls
// TryBundle on the value it was given, through a pointer, so the receiver is one.
type goBundling struct {
	moduleRoot string
}

var _ awscdk.ILocalBundling = (*goBundling)(nil)

// TryBundle writes bootstrap into outputDir. It never returns false, which
// would make CDK fall back to bundling in Docker: a failed build panics, and
// jsii hands the panic to CDK as the error that stops the synth.
func (b *goBundling) TryBundle(outputDir *string, _ *awscdk.BundlingOptions) *bool {
	if err := b.build(*outputDir); err != nil {
		panic(err)
	}
	return jsii.Bool(true)
}

func (b *goBundling) build(outputDir string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("build the function: the go command is needed to bundle it: %w", err)
	}
	args := slices.Concat([]string{"build"}, build.Flags, []string{"-o", filepath.Join(outputDir, "bootstrap"), build.FunctionPackage})
	cmd := exec.Command(goTool, args...)
	cmd.Dir = b.moduleRoot
	cmd.Env = append(os.Environ(), build.Env("linux", "arm64")...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("build the function (%s in %s): %w\n%s", strings.Join(cmd.Args, " "), b.moduleRoot, err, out)
	}
	return nil
}

// ModuleRoot is the folder of the go.mod that holds dir: the function's
// source is built from there wherever the app or its tests run.
func ModuleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("no go.mod in " + dir + " or above it")
		}
	}
}
