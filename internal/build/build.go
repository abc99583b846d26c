// Package build owns how vpce-guard's binaries are built: the Lambda's
// bootstrap (bundled by the CDK app), the command line (make build) and the
// test bootstrap the emulator tests run. The Makefile spells the same flags,
// and a test holds it to them.
package build

import "strings"

// FunctionPackage is the Go package built into the function and the command
// line, relative to the module root.
const FunctionPackage = "./lambda"

// Flags are the go build flags of every binary vpce-guard ships.
// lambda.norpc matters most: without it the RPC mode of the retired go1.x
// runtime links net/rpc, whose method lookup by reflection keeps every
// exported method of the EC2 client in the binary (machine code of 26 MB
// instead of 5, and 18 MiB resident at start instead of 12). -buildvcs=false
// keeps the binary the same whether or not it is built from a git checkout.
var Flags = []string{"-tags", "lambda.norpc", "-trimpath", "-buildvcs=false", "-ldflags=-s -w"}

// Env is the environment of a release build for goos and goarch, after the
// caller's own: no cgo, so the binary runs on Lambda's provided.al2023.
func Env(goos, goarch string) []string {
	return []string{"GOOS=" + goos, "GOARCH=" + goarch, "CGO_ENABLED=0"}
}

// MaxBootstrapBytes is the project's size target for the arm64 bootstrap:
// 10 MiB for the single-account function (9.1 MiB), and 2 more for what an
// organization's hub links in, the STS, Organizations and SQS clients (about
// 1 MiB). A build without lambda.norpc is over 35 MiB.
const MaxBootstrapBytes = 12 << 20

// MakefileFlags is Flags as the Makefile writes them, for the shell: a flag
// holding a space is quoted.
func MakefileFlags() string {
	quoted := make([]string, len(Flags))
	for i, f := range Flags {
		if name, value, ok := strings.Cut(f, "="); ok && strings.Contains(value, " ") {
			f = name + "='" + value + "'"
		}
		quoted[i] = f
	}
	return strings.Join(quoted, " ")
}
