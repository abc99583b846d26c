package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The pinned Runtime Interface Emulator (go.mod's tool directive).
const (
	rieModule  = "github.com/aws/aws-lambda-runtime-interface-emulator"
	riePackage = rieModule + "/cmd/aws-lambda-rie"
)

// invocationPath is where the RIE takes invocations, as Lambda's Invoke API.
const invocationPath = "/2015-03-31/functions/function/invocations"

// builds are the binaries built once per test binary, in a directory Main
// removes.
var builds struct {
	mu        sync.Mutex
	dir       string
	bootstrap onceBuild
	rie       onceBuild
}

type onceBuild struct {
	once sync.Once
	path string
	err  error
}

func buildDir() (string, error) {
	builds.mu.Lock()
	defer builds.mu.Unlock()
	if builds.dir == "" {
		dir, err := os.MkdirTemp("", "vpce-guard-emulator-")
		if err != nil {
			return "", err
		}
		builds.dir = dir
	}
	return builds.dir, nil
}

func removeBuilds() {
	builds.mu.Lock()
	defer builds.mu.Unlock()
	if builds.dir != "" {
		os.RemoveAll(builds.dir)
		builds.dir = ""
	}
}

// goCommand is the go command that runs these tests.
func goCommand() string {
	if path, err := exec.LookPath("go"); err == nil {
		return path
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// goBuild runs go build in dir for this machine's OS and architecture (the
// RIE runs the bootstrap here, not in a Linux container), unless extraEnv
// names others: of two values of a variable, the last counts.
func goBuild(dir string, extraEnv []string, out string, args ...string) error {
	cmd := exec.Command(goCommand(), append([]string{"build", "-o", out}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0")
	cmd.Env = append(cmd.Env, extraEnv...)
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build -o %s %s (in %s): %v\n%s", out, strings.Join(args, " "), dir, err, output)
	}
	return nil
}

// buildInRepo builds packages of the vpce-guard module, or of its
// dependencies at the versions go.mod selects.
func buildInRepo(out string, args ...string) error {
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	return goBuild(root, nil, out, args...)
}

// buildRIEBinary builds the RIE at the version go.mod pins. It is built
// within vpce-guard's module first, as go tool aws-lambda-rie would; if that
// fails (another dependency can raise one of the RIE's own dependencies to a
// version whose go.sum lines are missing), it is built within its own module,
// from the module cache, with the dependency versions its authors chose.
func buildRIEBinary(out string) error {
	inRepo := buildInRepo(out, riePackage)
	if inRepo == nil {
		return nil
	}
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	list := exec.Command(goCommand(), "list", "-m", "-f", "{{.Dir}}", rieModule)
	list.Dir = root
	dirOut, err := list.Output()
	dir := strings.TrimSpace(string(dirOut))
	if err != nil || dir == "" {
		return fmt.Errorf("%v\nand the RIE module's directory is unknown: go list -m %s: %v", inRepo, rieModule, err)
	}
	if own := goBuild(dir, []string{"GOWORK=off", "GOFLAGS=-mod=readonly"}, out, "./cmd/aws-lambda-rie"); own != nil {
		return fmt.Errorf("%v\nand within its own module: %v", inRepo, own)
	}
	return nil
}

// The environment variables naming binaries built before the tests (make test
// builds them, so that no test spends its own time building): the test
// bootstrap for this machine, the RIE, and the arm64 bootstrap as it ships.
const (
	EnvBootstrap      = "VPCE_GUARD_BOOTSTRAP"
	EnvRIE            = "VPCE_GUARD_RIE"
	EnvArm64Bootstrap = "VPCE_GUARD_ARM64_BOOTSTRAP"
)

// Prebuilt is the binary the environment variable env names, if it is set.
// A name that is set but does not exist is an error, not a reason to build.
func Prebuilt(env string) (path string, ok bool, err error) {
	path = os.Getenv(env)
	if path == "" {
		return "", false, nil
	}
	if _, err := os.Stat(path); err != nil {
		return "", false, fmt.Errorf("%s names a binary that is not there (run make test, which builds it): %w", env, err)
	}
	return path, true, nil
}

// PrebuiltOrBuild returns the binary the environment variable env names, or
// else builds one into out.
func PrebuiltOrBuild(env, out string, build func(out string) error) (string, error) {
	if path, ok, err := Prebuilt(env); ok || err != nil {
		return path, err
	}
	return out, build(out)
}

func (b *onceBuild) get(t testing.TB, name, env string, build func(out string) error) string {
	t.Helper()
	b.once.Do(func() {
		if b.path, _, b.err = Prebuilt(env); b.path != "" || b.err != nil {
			return
		}
		dir, err := buildDir()
		if err != nil {
			b.err = err
			return
		}
		start := time.Now()
		b.path = filepath.Join(dir, name)
		b.err = build(b.path)
		if b.err == nil {
			t.Logf("built %s in %v", name, time.Since(start).Round(time.Millisecond))
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// BuildBootstrap returns the path of the function built as it ships
// (BuildRelease) for this machine, named bootstrap: the one $VPCE_GUARD_BOOTSTRAP
// names, or else one built once per test binary.
func BuildBootstrap(t testing.TB) string {
	t.Helper()
	return builds.bootstrap.get(t, "bootstrap", EnvBootstrap, BuildFunction)
}

// buildRIE returns the pinned Runtime Interface Emulator, $VPCE_GUARD_RIE or
// one built once per test binary: starting a built binary is much faster than
// go tool aws-lambda-rie.
func buildRIE(t testing.TB) string {
	t.Helper()
	return builds.rie.get(t, "aws-lambda-rie", EnvRIE, buildRIEBinary)
}

// Lambda is a function run by the Runtime Interface Emulator on 127.0.0.1:
// one execution environment. The RIE cannot take two invocations at once (it
// dies of a nil pointer dereference), so Invoke runs them one after the
// other; start one Lambda per concurrent caller to have them overlap, as
// Lambda would start another execution environment.
type Lambda struct {
	// URL is the invocation URL: POST an event to it.
	URL       string
	proc      *process
	bootstrap string
	mu        sync.Mutex // held for the duration of an invocation
}

// LambdaEnv is the environment StartLambda gives the function before the
// caller's variables: dummy credentials, no shared config files or instance
// metadata (nothing of the machine's own AWS setup reaches the function), and
// the function settings the RIE would otherwise default.
func LambdaEnv() map[string]string {
	return map[string]string{
		"AWS_REGION":                      "us-east-1",
		"AWS_ACCESS_KEY_ID":               "testing",
		"AWS_SECRET_ACCESS_KEY":           "testing",
		"AWS_CONFIG_FILE":                 os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE":     os.DevNull,
		"AWS_EC2_METADATA_DISABLED":       "true",
		"AWS_LAMBDA_FUNCTION_NAME":        "vpce-guard",
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     "60",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
	}
}

// StartLambda runs bootstrap under the RIE with LambdaEnv and env (which wins;
// typically AWS_REGION, AWS_ENDPOINT_URL_EC2 and vpce-guard's settings), on
// free ports of 127.0.0.1, and returns once the RIE accepts connections. The
// function itself starts at the first invocation, as in Lambda. The RIE and
// the function are stopped when t ends; their output is printed if t failed.
func StartLambda(t testing.TB, bootstrap string, env map[string]string) *Lambda {
	t.Helper()
	rie := buildRIE(t)
	all := LambdaEnv()
	maps.Copy(all, env)
	var err error
	for range 3 { // a free port can be taken before the RIE binds it
		var l *Lambda
		if l, err = launchLambda(context.Background(), rie, bootstrap, all, maxLog); err == nil {
			t.Cleanup(func() {
				l.proc.stop()
				if t.Failed() {
					t.Logf("lambda log (%s):\n%s", l.URL, lastBytes(l.Log(), printedLog))
				}
			})
			return l
		}
	}
	t.Fatal(err)
	return nil
}

func launchLambda(ctx context.Context, rie, bootstrap string, env map[string]string, keepLog int) (*Lambda, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	// The Runtime API between the RIE and the function gets its own port:
	// its default, 9001, would collide between two Lambdas.
	runtimeAPI, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(rie,
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", runtimeAPI,
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	// The RIE passes its own environment on to the function.
	cmd.Env = baseEnv()
	for _, k := range slices.Sorted(maps.Keys(env)) {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	p, err := startProcess("aws-lambda-rie", cmd, keepLog)
	if err != nil {
		return nil, err
	}
	l := &Lambda{URL: "http://" + addr + invocationPath, proc: p, bootstrap: bootstrap}
	// Ready when the RIE itself listens on addr. Anything accepting
	// connections there would do for tcpReady, and another process can hold
	// the port: the RIE then fails to bind it and exits.
	if err := p.waitReady(ctx, func(ctx context.Context) error {
		if err := tcpReady(addr)(ctx); err != nil {
			return err
		}
		if holds, known := holdsListener(p.cmd.Process.Pid, addr); known && !holds {
			return fmt.Errorf("%s is held by another process", addr)
		}
		return nil
	}); err != nil {
		p.stop()
		return nil, err
	}
	return l, nil
}

// Invoke sends payload to the function and returns the RIE's HTTP status and
// body: the function's result, or its error as {"errorType", "errorMessage"}
// (see ParseFunctionError), or, when the function ran out of time, "Task timed
// out after N.00 seconds". err is set only when no answer came. Concurrent
// calls wait for each other.
func (l *Lambda) Invoke(ctx context.Context, payload []byte) (status int, body []byte, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.invoke(ctx, payload)
}

func (l *Lambda) invoke(ctx context.Context, payload []byte) (status int, body []byte, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.URL, bytes.NewReader(payload))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("invoke %s: %w", l.URL, err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, body, fmt.Errorf("invoke %s: read the answer: %w", l.URL, err)
	}
	return resp.StatusCode, body, nil
}

// InvokeLogged is Invoke, and also returns what the function and the RIE
// printed for this invocation (the function's outcome and metric lines, then
// the RIE's END and REPORT lines), once the RIE has printed its REPORT line.
// The function writes its lines before it answers, and the RIE reports after
// the answer, on the same output, so nothing of the invocation is missing.
func (l *Lambda) InvokeLogged(ctx context.Context, payload []byte) (status int, body []byte, log string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	pos := l.proc.out.position()
	if status, body, err = l.invoke(ctx, payload); err != nil {
		return status, body, "", err
	}
	log, err = l.proc.out.waitFrom(ctx, pos, "REPORT RequestId:")
	return status, body, log, err
}

// Log is the output of the RIE and of the function so far: the function's
// JSON log lines and EMF metrics, and the RIE's START/END/REPORT lines.
func (l *Lambda) Log() string { return l.proc.out.String() }

// FunctionError is the body Lambda returns for a function that returned an
// error: the error's type name (for vpce-guard, RemediationError) and message.
type FunctionError struct {
	ErrorType    string   `json:"errorType"`
	ErrorMessage string   `json:"errorMessage"`
	StackTrace   []string `json:"stackTrace,omitempty"`
}

// ParseFunctionError reads body as a function error; ok is false when body
// is a result instead.
func ParseFunctionError(body []byte) (FunctionError, bool) {
	var fe FunctionError
	if err := json.Unmarshal(body, &fe); err != nil || fe.ErrorType == "" {
		return FunctionError{}, false
	}
	return fe, true
}

// The same for programs without a testing.TB, such as the demo.

// BuildFunction builds the function as BuildBootstrap does, into out.
func BuildFunction(out string) error {
	return BuildRelease(out, runtime.GOOS, runtime.GOARCH)
}

// BuildRIE builds the pinned Runtime Interface Emulator into out.
func BuildRIE(out string) error { return buildRIEBinary(out) }

// LaunchLambda runs bootstrap under the RIE binary rie as StartLambda does;
// Close stops both.
func LaunchLambda(ctx context.Context, rie, bootstrap string, env map[string]string) (*Lambda, error) {
	return LaunchLambdaKeeping(ctx, rie, bootstrap, env, maxLog)
}

// LaunchLambdaKeeping is LaunchLambda keeping the last keepLog bytes of the
// output instead of a megabyte, for an invocation that logs more (a sweep of
// thousands of endpoints, whose outcomes InvokeLogged must return whole).
func LaunchLambdaKeeping(ctx context.Context, rie, bootstrap string, env map[string]string, keepLog int) (*Lambda, error) {
	all := LambdaEnv()
	maps.Copy(all, env)
	return launchLambda(ctx, rie, bootstrap, all, keepLog)
}

// PeakKiB is the most memory the function's process has used so far (its
// VmHWM), read from /proc: the RIE's child that runs the bootstrap.
func (l *Lambda) PeakKiB() (int, error) {
	for _, pid := range descendantsOf(l.proc.cmd.Process.Pid) {
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if err != nil || filepath.Base(exe) != filepath.Base(l.bootstrap) {
			continue
		}
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return 0, err
		}
		for line := range strings.SplitSeq(string(status), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			}
		}
	}
	return 0, fmt.Errorf("the function process (%s) was not found below the RIE", l.bootstrap)
}

// Close stops the RIE and the function.
func (l *Lambda) Close() { l.proc.stop() }
