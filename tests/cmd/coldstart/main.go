// Command coldstart measures what a Lambda user pays for vpce-guard before it
// does anything: the size of the arm64 bootstrap Lambda runs, the time from
// starting the runtime to the first handled invocation, and the function's
// peak memory. It runs the function under the Lambda Runtime Interface
// Emulator on 127.0.0.1, with an event that needs no AWS call. make bench runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vpce-guard/vpce-guard/internal/build"
	"github.com/vpce-guard/vpce-guard/tests/emulator"
)

// event is a CloudTrail call the function skips: the measurement is of the
// runtime, not of EC2.
const event = `{"version":"0","id":"c01d5747-0000-4000-8000-000000000001","detail-type":"AWS API Call via CloudTrail",
"source":"aws.ec2","account":"111122223333","time":"2026-01-01T00:00:00Z","region":"eu-west-1","resources":[],
"detail":{"eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":"eu-west-1","eventID":"e1"}}`

func main() {
	runs := flag.Int("runs", 10, "cold starts to measure")
	flag.Parse()
	if err := run(*runs); err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

func run(runs int) error {
	dir, err := os.MkdirTemp("", "vpce-guard-coldstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	arm := filepath.Join(dir, "bootstrap-arm64")
	if err := emulator.BuildRelease(arm, "linux", "arm64"); err != nil {
		return err
	}
	info, err := os.Stat(arm)
	if err != nil {
		return err
	}
	fmt.Printf("arm64 bootstrap (%s): %d bytes (%.1f MiB; target at most %d MiB)\n",
		build.MakefileFlags(), info.Size(), float64(info.Size())/(1<<20), build.MaxBootstrapBytes>>20)

	// The emulator runs the function on this machine, so it measures a build
	// for this machine with the same flags.
	bootstrap, rie := filepath.Join(dir, "bootstrap"), filepath.Join(dir, "aws-lambda-rie")
	if err := emulator.BuildFunction(bootstrap); err != nil {
		return err
	}
	if err := emulator.BuildRIE(rie); err != nil {
		return err
	}
	var starts []time.Duration
	var peaks []int
	for range runs {
		start, peak, err := coldStart(rie, bootstrap)
		if err != nil {
			return err
		}
		starts, peaks = append(starts, start), append(peaks, peak)
	}
	slices.Sort(starts)
	slices.Sort(peaks)
	fmt.Printf("cold start, first invocation (process start, init, handling) to its answer, %d runs: min %v, median %v, max %v\n",
		runs, starts[0].Round(time.Millisecond), starts[len(starts)/2].Round(time.Millisecond), starts[len(starts)-1].Round(time.Millisecond))
	fmt.Printf("function peak memory (VmHWM), %d runs: min %.1f MiB, median %.1f MiB, max %.1f MiB\n",
		runs, mib(peaks[0]), mib(peaks[len(peaks)/2]), mib(peaks[len(peaks)-1]))
	if info.Size() > build.MaxBootstrapBytes {
		return fmt.Errorf("the arm64 bootstrap is %d bytes, over the %d-byte target", info.Size(), build.MaxBootstrapBytes)
	}
	return nil
}

// coldStart starts the runtime, times the first invocation, which starts the
// function, and reads the function's peak resident memory.
func coldStart(rie, bootstrap string) (time.Duration, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fn, err := emulator.LaunchLambda(ctx, rie, bootstrap, map[string]string{"AWS_REGION": "eu-west-1"})
	if err != nil {
		return 0, 0, err
	}
	defer fn.Close()
	// The emulator starts the function at the first invocation, as Lambda
	// does for a new execution environment: this is the cold start a caller
	// waits for, process start and init included.
	start := time.Now()
	status, body, err := fn.Invoke(ctx, []byte(event))
	if err != nil {
		return 0, 0, err
	}
	elapsed := time.Since(start)
	if status != http.StatusOK || !strings.Contains(string(body), `"verdicts":{"skipped":1}`) {
		return 0, 0, fmt.Errorf("invocation: HTTP %d: %s", status, body)
	}
	peak, err := fn.PeakKiB()
	return elapsed, peak, err
}

func mib(kib int) float64 { return float64(kib) / 1024 }
