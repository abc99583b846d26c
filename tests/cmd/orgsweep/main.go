// Command orgsweep measures an organization's sweep on moto: an organization
// of N accounts whose member role is rolled out by StackSets, E endpoints per
// account and region (a third of them open), and the hub function under the
// Lambda emulator, fed its units as Lambda's SQS event source mapping would.
// It prints the wall time of the fan-out and of the units, the AWS calls by
// action, and the function's peak memory, and checks every endpoint after.
//
//	go run ./tests/cmd/orgsweep -accounts 20 -regions eu-west-1,us-east-1 -endpoints 25
//
// It is a measurement, not a test: nothing in make test runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/vpce-guard/vpce-guard/infra/stack"
	"github.com/vpce-guard/vpce-guard/policytemplates"
	"github.com/vpce-guard/vpce-guard/tests/emulator"
	"github.com/vpce-guard/vpce-guard/tests/orgsim"
)

func main() {
	accounts := flag.Int("accounts", 20, "member accounts")
	regions := flag.String("regions", "eu-west-1,us-east-1", "member regions, the first the hub's")
	endpoints := flag.Int("endpoints", 25, "Logs endpoints per account and region, a third of them open")
	flag.Parse()
	if err := run(*accounts, strings.Split(*regions, ","), *endpoints); err != nil {
		fmt.Fprintln(os.Stderr, "orgsweep:", err)
		os.Exit(1)
	}
}

func run(accounts int, regions []string, perRegion int) error {
	ctx := context.Background()
	open := perRegion / 3
	path, err := emulator.MotoServerPath()
	if err != nil {
		return err
	}
	moto, err := emulator.LaunchMoto(ctx, path)
	if err != nil {
		return err
	}
	defer moto.Close()
	dir, err := os.MkdirTemp("", "vpce-guard-orgsweep-")
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

	start := time.Now()
	org, _, err := orgsim.Create(ctx, moto.URL, accounts, 0)
	if err != nil {
		return err
	}
	member, err := org.MemberTemplates(regions)
	if err != nil {
		return err
	}
	if err := org.DeployMembers(ctx, member, regions); err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make(chan error, accounts*len(regions))
	for _, account := range org.Members {
		for _, region := range regions {
			wg.Go(func() {
				template, err := policytemplates.Render(policytemplates.Logs, policytemplates.Params{Region: region, AccountID: account})
				if err == nil {
					_, err = org.Endpoints(ctx, account, region, perRegion, open, string(template))
				}
				if err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	fmt.Printf("organization of %d accounts x %d regions x %d endpoints (%d open) set up on moto in %v\n",
		accounts, len(regions), perRegion, open, time.Since(start).Round(time.Second))

	queues := sqs.NewFromConfig(orgsim.Config(moto.URL, orgsim.HubAccount, regions[0]))
	units, err := queues.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("sweep-units")})
	if err != nil {
		return err
	}
	proxy, stop, err := emulator.LaunchFaultProxy(moto.URL)
	if err != nil {
		return err
	}
	defer stop()
	org.StrictSTS(proxy)
	fn, err := emulator.LaunchLambda(ctx, rie, bootstrap, map[string]string{
		"AWS_REGION": regions[0], "AWS_ENDPOINT_URL": proxy.URL,
		"MEMBER_ROLE_NAME": stack.MemberRoleName, "MEMBER_OUS": org.OU, "MEMBER_REGIONS": strings.Join(regions, ","),
		"SWEEP_QUEUE_URL": aws.ToString(units.QueueUrl), "MAX_WRITES_PER_SECOND": "100",
	})
	if err != nil {
		return err
	}
	defer fn.Close()

	sweep := fmt.Appendf(nil, `{"version":"0","id":"orgsweep","detail-type":"Scheduled Event","source":"aws.events","account":%q,`+
		`"time":"2026-12-02T03:00:00Z","region":%q,"resources":[],"detail":{}}`, orgsim.HubAccount, regions[0])
	start = time.Now()
	status, body, err := fn.Invoke(ctx, sweep)
	if err != nil || status != http.StatusOK {
		return fmt.Errorf("the scheduled sweep: %d %s %v", status, body, err)
	}
	fanOut := time.Since(start)
	start = time.Now()
	ran, failed, err := orgsim.Drain(ctx, queues, aws.ToString(units.QueueUrl), func(event []byte) error {
		_, body, err := fn.Invoke(ctx, event)
		if fe, ok := emulator.ParseFunctionError(body); ok && err == nil {
			err = fmt.Errorf("%s: %s", fe.ErrorType, fe.ErrorMessage)
		}
		return err
	})
	if err != nil {
		return err
	}
	drained := time.Since(start)
	peak, _ := fn.PeakKiB()

	calls := map[string]int{}
	for _, r := range proxy.Requests() {
		calls[r.Action]++
	}
	fmt.Printf("fan-out: %v (%s)\n", fanOut.Round(time.Millisecond), body)
	fmt.Printf("units: %d run, %d failed, in %v (%.0f ms a unit, one at a time)\n",
		ran, failed, drained.Round(time.Millisecond), float64(drained.Milliseconds())/float64(max(ran, 1)))
	var parts []string
	for _, action := range slices.Sorted(maps.Keys(calls)) {
		parts = append(parts, fmt.Sprintf("%s %d", action, calls[action]))
	}
	fmt.Printf("AWS calls: %s\n", strings.Join(parts, ", "))
	fmt.Printf("function peak memory: %.1f MiB\n", float64(peak)/1024)

	for _, account := range org.Members {
		for _, region := range regions {
			template, err := policytemplates.Render(policytemplates.Logs, policytemplates.Params{Region: region, AccountID: account})
			if err != nil {
				return err
			}
			policies, err := org.Policies(ctx, account, region)
			if err != nil {
				return err
			}
			for id, p := range policies {
				if p != string(template) {
					return fmt.Errorf("%s/%s %s was not rewritten", account, region, id)
				}
			}
		}
	}
	fmt.Printf("every endpoint of every member holds its account's template\n")
	return nil
}
