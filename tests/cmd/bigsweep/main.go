// Command bigsweep measures a sweep larger than its invocation, on moto and
// the Lambda emulator: N endpoints, some of them open (AWS's default policy),
// swept by the real function with a short timeout, one sweep after the other
// until every open endpoint holds the template. For each sweep it prints the
// wall time, the outcome lines, how the sweep ended, the writes, and the
// function's peak memory, and checks every endpoint's policy in moto against
// the outcomes.
//
//	go run ./tests/cmd/bigsweep -endpoints 10000 -open 1500 -timeout 60 -rate 20
//
// It is a measurement, not a test: nothing in make test runs it.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpce-guard/vpce-guard/policytemplates"
	"github.com/vpce-guard/vpce-guard/tests/emulator"
)

const (
	region  = "eu-north-1"
	account = "123456789012" // moto's
)

func main() {
	endpoints := flag.Int("endpoints", 10000, "endpoints of the Logs service in the region")
	open := flag.Int("open", 1500, "of which with AWS's default policy (the rest hold the template)")
	timeout := flag.Int("timeout", 60, "the function's timeout in seconds")
	rate := flag.String("rate", "2", "MAX_WRITES_PER_SECOND")
	maxSweeps := flag.Int("sweeps", 5, "sweeps at most")
	flag.Parse()
	if err := run(*endpoints, *open, *timeout, *rate, *maxSweeps); err != nil {
		fmt.Fprintln(os.Stderr, "bigsweep:", err)
		os.Exit(1)
	}
}

func run(endpoints, open, timeout int, rate string, maxSweeps int) error {
	ctx := context.Background()
	path, err := emulator.MotoServerPath()
	if err != nil {
		return err
	}
	moto, err := emulator.LaunchMoto(ctx, path)
	if err != nil {
		return err
	}
	defer moto.Close()
	dir, err := os.MkdirTemp("", "vpce-guard-bigsweep-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bootstrap, err := emulator.PrebuiltOrBuild(emulator.EnvBootstrap, filepath.Join(dir, "bootstrap"), emulator.BuildFunction)
	if err != nil {
		return err
	}
	rie, err := emulator.PrebuiltOrBuild(emulator.EnvRIE, filepath.Join(dir, "aws-lambda-rie"), emulator.BuildRIE)
	if err != nil {
		return err
	}

	client := emulator.NewEC2Client(moto.URL, region)
	template, err := policytemplates.Render(policytemplates.Logs, policytemplates.Params{Region: region, AccountID: account})
	if err != nil {
		return err
	}
	start := time.Now()
	if err := seed(ctx, client, endpoints, open, string(template)); err != nil {
		return err
	}
	fmt.Printf("seeded %d Logs endpoints, %d of them open, in %v\n", endpoints, open, time.Since(start).Round(time.Second))
	fmt.Printf("function: timeout %d s, MAX_WRITES_PER_SECOND=%s, SWEEP_CONCURRENCY=4 (default)\n", timeout, rate)

	sweep := fmt.Appendf(nil, `{"version":"0","id":"bigsweep","detail-type":"Scheduled Event","source":"aws.events","account":%q,`+
		`"time":"2026-12-02T03:00:00Z","region":%q,"resources":[],"detail":{}}`, account, region)
	rewritten := map[string]bool{}
	for n := 1; n <= maxSweeps && len(rewritten) < open; n++ {
		// A new execution environment per sweep, as a daily schedule would get.
		fn, err := emulator.LaunchLambdaKeeping(ctx, rie, bootstrap, map[string]string{
			"AWS_REGION":                  region,
			"AWS_ENDPOINT_URL_EC2":        moto.URL,
			"AWS_LAMBDA_FUNCTION_TIMEOUT": strconv.Itoa(timeout),
			"MAX_WRITES_PER_SECOND":       rate,
		}, 256<<20)
		if err != nil {
			return err
		}
		start := time.Now()
		status, body, log, err := fn.InvokeLogged(ctx, sweep)
		elapsed := time.Since(start)
		peak, peakErr := fn.PeakKiB()
		fn.Close()
		if err != nil {
			return err
		}
		counts, lines, err := tally(log, rewritten)
		if err != nil {
			return err
		}
		fmt.Printf("sweep %d: HTTP %d in %v; %d outcome lines; %s\n", n, status, elapsed.Round(time.Millisecond), lines, counts)
		fmt.Printf("  response: %s\n", shorten(string(body), 400))
		if peakErr == nil {
			fmt.Printf("  function peak memory %.1f MiB\n", float64(peak)/1024)
		}
		if err := verify(ctx, client, rewritten, open, string(template)); err != nil {
			return err
		}
		fmt.Printf("  moto: %d endpoints hold the template they were reported rewritten to, the others are as they were\n", len(rewritten))
	}
	if len(rewritten) < open {
		return fmt.Errorf("%d of %d open endpoints rewritten after %d sweeps", len(rewritten), open, maxSweeps)
	}
	return nil
}

// seed creates the endpoints, eight at a time: the first open ones with no
// policy, the rest with the template.
func seed(ctx context.Context, client *ec2.Client, n, open int, template string) error {
	vpc, err := client.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		return err
	}
	work := make(chan int)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range work {
				in := &ec2.CreateVpcEndpointInput{VpcId: vpc.Vpc.VpcId, VpcEndpointType: types.VpcEndpointTypeInterface,
					ServiceName: aws.String("com.amazonaws." + region + ".logs")}
				if i >= open {
					in.PolicyDocument = aws.String(template)
				}
				if _, err := client.CreateVpcEndpoint(ctx, in); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	return <-errs // nil when the channel is empty
}

// tally counts a sweep's outcome lines by verdict, action and error, and
// adds the rewritten endpoints to rewritten.
func tally(log string, rewritten map[string]bool) (string, int, error) {
	counts := map[string]int{}
	lines := 0
	for line := range strings.SplitSeq(log, "\n") {
		var o struct {
			Message    string `json:"message"`
			EndpointID string `json:"endpointId"`
			Verdict    string `json:"verdict"`
			Action     string `json:"action"`
			Error      string `json:"error"`
		}
		if json.Unmarshal([]byte(line), &o) != nil || o.Message != "outcome" {
			continue
		}
		lines++
		key := o.Verdict + "/" + o.Action
		if o.Error != "" {
			key += " (" + shorten(o.Error, 60) + ")"
		}
		counts[key]++
		if o.Action == "rewritten" {
			if rewritten[o.EndpointID] {
				return "", 0, fmt.Errorf("%s rewritten twice", o.EndpointID)
			}
			rewritten[o.EndpointID] = true
		}
	}
	return fmt.Sprint(counts), lines, nil
}

// verify reads every endpoint back: those reported rewritten hold the
// template, and exactly the open ones not rewritten yet hold AWS's default.
func verify(ctx context.Context, client *ec2.Client, rewritten map[string]bool, open int, template string) error {
	out, err := client.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{})
	if err != nil {
		return err
	}
	defaults := 0
	for _, e := range out.VpcEndpoints {
		id, policy := aws.ToString(e.VpcEndpointId), aws.ToString(e.PolicyDocument)
		switch {
		case policy == template:
		case rewritten[id]:
			return fmt.Errorf("%s was reported rewritten and holds %s", id, shorten(policy, 120))
		case strings.Contains(policy, `"Action": "*"`):
			defaults++
		default:
			return fmt.Errorf("%s holds %s", id, shorten(policy, 120))
		}
	}
	if defaults != open-len(rewritten) {
		return fmt.Errorf("%d endpoints hold the default policy, want %d", defaults, open-len(rewritten))
	}
	return nil
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
