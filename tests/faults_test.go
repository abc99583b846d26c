package tests

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
	"github.com/vpce-guard/vpce-guard/policytemplates"
	"github.com/vpce-guard/vpce-guard/tests/emulator"
)

// faultSetup is an open Logs endpoint in moto, created by replaying the
// console CreateVpcEndpoint, and its event ready to send.
type faultSetup struct {
	client   *ec2.Client
	id       string
	event    []byte
	before   string // the endpoint's policy before the event: AWS's default
	template string
}

func newFaultSetup(t *testing.T, moto *emulator.Moto) faultSetup {
	t.Helper()
	ctx := t.Context()
	client := emulator.EC2Client(t, moto.URL, replayRegion)
	n := newNetwork(t, ctx, client, replayRegion)
	f := loadFixture(t, "04-create-logs-no-policy.json", replayRegion)
	r := replayCreate(t, ctx, client, n, f)
	return faultSetup{
		client:   client,
		id:       r.endpointID,
		event:    f.withIDs(r.ids),
		before:   endpointPolicy(t, ctx, client, r.endpointID),
		template: renderFor(t, policytemplates.Logs, replayRegion),
	}
}

// policyNow is the endpoint's policy, which must be the one before the event
// or the template: never anything in between.
func (s faultSetup) policyNow(t *testing.T) string {
	t.Helper()
	now := endpointPolicy(t, t.Context(), s.client, s.id)
	if now != s.before && now != s.template {
		t.Errorf("the endpoint's policy is neither untouched nor the template:\n%s", now)
	}
	return now
}

type injection struct {
	action string
	fault  emulator.Fault
	count  int
}

// Transient faults, each within the retry budget: the invocation succeeds
// and the endpoint ends with the template.
func TestFaultsTransient(t *testing.T) {
	t.Parallel()
	moto := emulator.SharedMoto(t)
	bootstrap := emulator.BuildBootstrap(t)
	for _, tc := range []struct {
		name   string
		inject []injection
	}{
		{"throttled-describe-and-modify", []injection{
			{"DescribeVpcEndpoints", emulator.Throttle(), 2},
			{"ModifyVpcEndpoint", emulator.Throttle(), 2}}},
		{"server-errors-up-to-the-budget", []injection{
			{"ModifyVpcEndpoint", emulator.ServerError(), config.MaxAttempts - 1}}},
		{"throttle-then-server-error", []injection{
			{"DescribeVpcEndpoints", emulator.ServerError(), 1},
			{"ModifyVpcEndpoint", emulator.Throttle(), 1},
			{"ModifyVpcEndpoint", emulator.ServerError(), 2}}},
		{"slow-answers", []injection{
			{"DescribeVpcEndpoints", emulator.Slow(1500 * time.Millisecond), 1},
			{"ModifyVpcEndpoint", emulator.Slow(1500 * time.Millisecond), 1}}},
		{"lost-answer-to-the-write", []injection{
			{"ModifyVpcEndpoint", emulator.LostAnswer(), 2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newFaultSetup(t, moto)
			proxy := emulator.StartFaultProxy(t, moto.URL)
			faulted, failed := map[string]int{}, map[string]int{}
			for _, in := range tc.inject {
				proxy.Inject(in.action, in.fault, in.count)
				faulted[in.action] += in.count
				if in.fault.Status != 0 {
					failed[in.action] += in.count
				}
			}
			fn := emulator.StartLambda(t, bootstrap, functionEnv(proxy.URL, replayRegion, nil))

			outcomes := invoke(t, t.Context(), fn, s.event)
			if len(outcomes) != 1 || outcomes[0].Verdict != remediate.NonCompliant || outcomes[0].Action != remediate.Rewritten {
				t.Errorf("outcomes %+v, want one noncompliant/rewritten", outcomes)
			}
			if s.policyNow(t) != s.template {
				t.Error("the endpoint was not rewritten")
			}
			// Each failed attempt is retried once; a slow answer is no failure.
			for action, n := range faulted {
				seen, got := proxy.Count(action)
				if want := 1 + failed[action]; got != n || seen != want {
					t.Errorf("%s: %d requests, %d of them faulted; want %d and %d", action, seen, got, want, n)
				}
			}
		})
	}
}

// Failures that outlast the retry budget: the invocation fails with
// RemediationError, so that Lambda retries the event, and the endpoint is
// untouched or fully rewritten.
func TestFaultsPersistent(t *testing.T) {
	t.Parallel()
	moto := emulator.SharedMoto(t)
	bootstrap := emulator.BuildBootstrap(t)
	for _, tc := range []struct {
		name      string
		inject    injection
		rewritten bool // the template was written although the function was told it failed
		message   string
	}{
		{name: "modify-always-500", inject: injection{"ModifyVpcEndpoint", emulator.ServerError(), -1},
			message: "modify vpc endpoint"},
		{name: "modify-always-throttled", inject: injection{"ModifyVpcEndpoint", emulator.Throttle(), -1},
			message: "RequestLimitExceeded"},
		{name: "modify-answers-always-lost", inject: injection{"ModifyVpcEndpoint", emulator.LostAnswer(), -1},
			rewritten: true, message: "modify vpc endpoint"},
		{name: "describe-always-throttled", inject: injection{"DescribeVpcEndpoints", emulator.Throttle(), -1},
			message: "describe vpc endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newFaultSetup(t, moto)
			proxy := emulator.StartFaultProxy(t, moto.URL)
			proxy.Inject(tc.inject.action, tc.inject.fault, tc.inject.count)
			fn := emulator.StartLambda(t, bootstrap, functionEnv(proxy.URL, replayRegion, nil))

			status, body, err := fn.Invoke(t.Context(), s.event)
			if err != nil {
				t.Fatal(err)
			}
			fe, ok := emulator.ParseFunctionError(body)
			if !ok || fe.ErrorType != "RemediationError" || !strings.Contains(fe.ErrorMessage, tc.message) ||
				!strings.Contains(fe.ErrorMessage, s.id) {
				t.Errorf("invocation: HTTP %d %s; want a RemediationError naming %s and %q", status, body, s.id, tc.message)
			}
			if seen, _ := proxy.Count(tc.inject.action); seen != config.MaxAttempts {
				t.Errorf("%s tried %d times, want the retry budget, %d", tc.inject.action, seen, config.MaxAttempts)
			}
			if now := s.policyNow(t); (now == s.template) != tc.rewritten {
				t.Errorf("rewritten = %v, want %v", now == s.template, tc.rewritten)
			}
			if !strings.Contains(fn.Log(), `"level":"ERROR","message":"outcome"`) {
				t.Error("no outcome logged at ERROR")
			}
		})
	}
}

// An EC2 write slower than the function's timeout. Three answers are right,
// and which one comes depends on how busy the machine is: Lambda stops the
// invocation ("timed out"); the SDK gives up at the invocation's deadline
// (RemediationError, context deadline exceeded); or, when the Describe alone
// took past the cutoff, the write is never started (RemediationError, not
// rewritten). In every case the endpoint holds its old policy or the
// template, and the next event, once EC2 answers again, converges.
func TestFaultsTimeout(t *testing.T) {
	t.Parallel()
	moto := emulator.SharedMoto(t)
	bootstrap := emulator.BuildBootstrap(t)
	s := newFaultSetup(t, moto)
	proxy := emulator.StartFaultProxy(t, moto.URL)
	proxy.Inject("ModifyVpcEndpoint", emulator.Slow(time.Hour), -1)
	fn := emulator.StartLambda(t, bootstrap, functionEnv(proxy.URL, replayRegion,
		map[string]string{"AWS_LAMBDA_FUNCTION_TIMEOUT": "2"}))

	status, body, err := fn.Invoke(t.Context(), s.event)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the function answered HTTP %d %s", status, body)
	fe, failed := emulator.ParseFunctionError(body)
	switch {
	case strings.Contains(string(body), "timed out"):
	case failed && fe.ErrorType == "RemediationError" && strings.Contains(fe.ErrorMessage, s.id) &&
		(strings.Contains(fe.ErrorMessage, "context deadline exceeded") || strings.Contains(fe.ErrorMessage, remediate.ErrDeadlineNear.Error())):
	default:
		t.Errorf("invocation: HTTP %d %s; want a timeout, or a RemediationError for the deadline naming %s", status, body, s.id)
	}
	s.policyNow(t)

	// EC2 answers again: the next event (Lambda's retry) ends with the template.
	again := emulator.StartLambda(t, bootstrap, functionEnv(moto.URL, replayRegion, nil))
	outcomes := invoke(t, t.Context(), again, s.event)
	if len(outcomes) != 1 || outcomes[0].Error != "" ||
		(outcomes[0].Action != remediate.Rewritten && outcomes[0].Verdict != remediate.Compliant) {
		t.Errorf("the next event: %+v, want rewritten or compliant", outcomes)
	}
	if now := s.policyNow(t); now != s.template {
		t.Errorf("after the next event the policy is\n%s\nwant the template", now)
	}
}

// With the margin in play the outcome is certain: the Describe answers after
// the cutoff (27 s into a 30 s invocation, whose margin is 3 s), so the write
// is never started, the outcome says why, the invocation fails with a
// RemediationError for Lambda to retry, and the endpoint is untouched. The
// function then has the margin, less what the machine delays it, to log and
// answer: a few milliseconds of work in three seconds.
func TestFaultsStopBeforeTheDeadline(t *testing.T) {
	t.Parallel()
	moto := emulator.SharedMoto(t)
	bootstrap := emulator.BuildBootstrap(t)
	s := newFaultSetup(t, moto)
	proxy := emulator.StartFaultProxy(t, moto.URL)
	proxy.Inject("DescribeVpcEndpoints", emulator.Slow(27*time.Second), 1)
	fn := emulator.StartLambda(t, bootstrap, functionEnv(proxy.URL, replayRegion,
		map[string]string{"AWS_LAMBDA_FUNCTION_TIMEOUT": "30"}))

	status, body, log, err := fn.InvokeLogged(t.Context(), s.event)
	if err != nil {
		t.Fatal(err)
	}
	fe, ok := emulator.ParseFunctionError(body)
	if !ok || fe.ErrorType != "RemediationError" || !strings.Contains(fe.ErrorMessage, remediate.ErrDeadlineNear.Error()) {
		t.Fatalf("invocation: HTTP %d %s; want a RemediationError for the deadline", status, body)
	}
	outcomes := emulator.LoggedOutcomes(t, log)
	if len(outcomes) != 1 || outcomes[0].EndpointID != s.id || outcomes[0].Verdict != remediate.NonCompliant ||
		outcomes[0].Action != remediate.None || outcomes[0].Error != "not rewritten: the invocation's deadline was near" {
		t.Errorf("outcomes %+v, want one noncompliant endpoint not rewritten for the deadline", outcomes)
	}
	if writes, _ := proxy.Count("ModifyVpcEndpoint"); writes != 0 {
		t.Errorf("%d writes sent after the cutoff, want none", writes)
	}
	if now := s.policyNow(t); now != s.before {
		t.Errorf("the endpoint was changed to\n%s", now)
	}
}

// Two events for the same endpoint handled at once, by two instances of the
// function, as Lambda would run them in two execution environments (one RIE
// is one environment and cannot take two invocations at once): both read the
// open policy before either writes, and the endpoint ends with one compliant
// policy.
func TestFaultsConcurrentEvents(t *testing.T) {
	t.Parallel()
	moto := emulator.SharedMoto(t)
	bootstrap := emulator.BuildBootstrap(t)
	s := newFaultSetup(t, moto)
	proxy := emulator.StartFaultProxy(t, moto.URL)
	// Hold every read back so that the two invocations overlap.
	proxy.Inject("DescribeVpcEndpoints", emulator.Slow(500*time.Millisecond), -1)
	env := functionEnv(proxy.URL, replayRegion, nil)
	functions := []*emulator.Lambda{emulator.StartLambda(t, bootstrap, env), emulator.StartLambda(t, bootstrap, env)}

	results := make([][]remediate.Outcome, len(functions))
	var wg sync.WaitGroup
	for i, fn := range functions {
		wg.Go(func() { results[i] = invokeNoFatal(t, t.Context(), fn, s.event) })
	}
	wg.Wait()

	for i, outcomes := range results {
		if len(outcomes) != 1 || outcomes[0].Error != "" ||
			(outcomes[0].Action != remediate.Rewritten && outcomes[0].Verdict != remediate.Compliant) {
			t.Errorf("function %d: %+v, want rewritten or compliant", i+1, outcomes)
		}
	}
	if now := s.policyNow(t); now != s.template {
		t.Errorf("policy after two concurrent events:\n%s\nwant the template", now)
	}
	if writes, _ := proxy.Count("ModifyVpcEndpoint"); writes < 1 || writes > 2 {
		t.Errorf("%d writes, want one or two", writes)
	}
	// A third event, once both are done, finds it compliant and writes nothing.
	outcomes := invoke(t, t.Context(), functions[0], s.event)
	if len(outcomes) != 1 || outcomes[0].Verdict != remediate.Compliant || outcomes[0].Action != remediate.None {
		t.Errorf("after convergence: %+v, want compliant", outcomes)
	}
}

// invokeNoFatal is invoke for another goroutine than the test's: it reports
// with t.Errorf and returns nil on failure.
func invokeNoFatal(t *testing.T, ctx context.Context, fn *emulator.Lambda, event []byte) []remediate.Outcome {
	status, body, log, err := fn.InvokeLogged(ctx, event)
	if err != nil || status != http.StatusOK {
		t.Errorf("invoke: HTTP %d, %s, %v", status, body, err)
		return nil
	}
	if fe, ok := emulator.ParseFunctionError(body); ok {
		t.Errorf("invocation failed: %s: %s", fe.ErrorType, fe.ErrorMessage)
		return nil
	}
	outcomes, err := emulator.ParseOutcomes(log)
	if err != nil {
		t.Error(err)
	}
	return outcomes
}
