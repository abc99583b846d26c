package emulator

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// eventBusRefFix makes moto's CloudFormation answer a Ref to an
// AWS::Events::EventBus with the bus's name, as CloudFormation documents.
// moto 5.2.5 gives its model object instead, and an AWS::Events::Rule whose
// EventBusName is that Ref (every CDK rule on a bus of the same stack) then
// fails inside put_rule; the change set's execution fails half-way, yet the
// stack ends CREATE_COMPLETE without the rule. The fix steps aside once moto
// has a physical_resource_id of its own for buses.
const eventBusRefFix = `
import sys
from moto.events.models import EventBus
if not hasattr(EventBus, "physical_resource_id"):
    EventBus.physical_resource_id = property(lambda bus: bus.name)
from moto.server import main
sys.exit(main())
`

// StartMotoForDeploy starts a moto server for t, as StartMoto does, for
// `cdk deploy`: moto's own server with the one correction to its
// CloudFormation that eventBusRefFix describes.
func StartMotoForDeploy(t testing.TB) *Moto {
	t.Helper()
	return startMotoFor(t, func(ctx context.Context, serverPath string) (*Moto, error) {
		python, err := scriptInterpreter(serverPath)
		if err != nil {
			return nil, err
		}
		// python -c: sys.argv[1:] are moto's arguments, as moto_server's.
		return runMoto(ctx, exec.Command(python, "-c", eventBusRefFix, "-H", "127.0.0.1", "-p", "0"))
	})
}

// scriptInterpreter is the Python that runs the moto_server script: the one
// of its #! line (its virtualenv's), else python3 next to it.
func scriptInterpreter(script string) (string, error) {
	f, err := os.Open(script)
	if err != nil {
		return "", err
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	if interpreter, ok := strings.CutPrefix(strings.TrimSpace(line), "#!"); ok {
		if fields := strings.Fields(interpreter); len(fields) == 1 && filepath.IsAbs(fields[0]) {
			return fields[0], nil
		}
	}
	python := filepath.Join(filepath.Dir(script), "python3")
	if _, err := os.Stat(python); err != nil {
		return "", fmt.Errorf("the Python of %s: no #! line naming it, and %v", script, err)
	}
	return python, nil
}

// Run runs cmd to its end, in a process group of its own, and returns its
// output, standard output and error together (the last MiB). When ctx ends
// first, cmd and everything it started are killed and the error says so.
func Run(ctx context.Context, cmd *exec.Cmd) (string, error) {
	name := filepath.Base(cmd.Path)
	p, err := startProcess(name, cmd, maxLog)
	if err != nil {
		return "", err
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		p.stop()
		return p.out.String(), fmt.Errorf("%s killed: %w", name, context.Cause(ctx))
	}
	if p.err != nil {
		return p.out.String(), fmt.Errorf("%s: %w", name, p.err)
	}
	return p.out.String(), nil
}
