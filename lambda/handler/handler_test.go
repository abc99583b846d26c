package handler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpce-guard/vpce-guard/internal/fakeclock"
	"github.com/vpce-guard/vpce-guard/internal/fakeec2"
	"github.com/vpce-guard/vpce-guard/internal/fakeorg"
	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/lambda/fanout"
	"github.com/vpce-guard/vpce-guard/lambda/handler"
	"github.com/vpce-guard/vpce-guard/lambda/owner"
	"github.com/vpce-guard/vpce-guard/lambda/policy"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
	"github.com/vpce-guard/vpce-guard/policytemplates"
)

const (
	account    = "111122223333"
	region     = "eu-west-1"
	logs       = "com.amazonaws.eu-west-1.logs"
	endpointID = "vpce-0123456789abcdef0"
	selfRole   = "arn:aws:iam::111122223333:role/vpce-guard/VpceGuardFunctionRole"
)

// createEvent is an EventBridge event for a CreateVpcEndpoint call.
func createEvent(id string) []byte {
	return fmt.Appendf(nil, `{"version":"0","id":"eb-1","detail-type":"AWS API Call via CloudTrail","source":"aws.ec2",
	"account":"111122223333","time":"2026-01-02T03:04:05Z","region":"eu-west-1","resources":[],
	"detail":{"eventVersion":"1.08","eventID":"ct-1","eventName":"CreateVpcEndpoint","eventSource":"ec2.amazonaws.com",
		"eventTime":"2026-01-02T03:04:05Z","awsRegion":"eu-west-1","recipientAccountId":"111122223333",
		"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333"},
		"requestParameters":{"CreateVpcEndpointRequest":{"VpcId":"vpc-1","ServiceName":"com.amazonaws.eu-west-1.logs","VpcEndpointType":"Interface"}},
		"responseElements":{"CreateVpcEndpointResponse":{"vpcEndpoint":{"vpcEndpointId":"%s","ownerId":111122223333,"state":"pending"}}}}}`, id)
}

// ownModifyEvent is the event of vpce-guard's own write.
func ownModifyEvent(id string) []byte {
	return fmt.Appendf(nil, `{"version":"0","id":"eb-2","detail-type":"AWS API Call via CloudTrail","source":"aws.ec2",
	"account":"111122223333","region":"eu-west-1","detail":{"eventID":"ct-2","eventName":"ModifyVpcEndpoint",
		"eventSource":"ec2.amazonaws.com","awsRegion":"eu-west-1","recipientAccountId":"111122223333",
		"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/VpceGuardFunctionRole/vpce-guard",
			"sessionContext":{"sessionIssuer":{"type":"Role","arn":"%s"}}},
		"requestParameters":{"ModifyVpcEndpointRequest":{"VpcEndpointId":"%s","PolicyDocument":"{}"}},
		"responseElements":{"ModifyVpcEndpointResponse":{"return":true}}}}`, selfRole, id)
}

const scheduledEvent = `{"version":"0","id":"sched-1","detail-type":"Scheduled Event","source":"aws.events",
	"account":"111122223333","time":"2026-01-02T03:00:00Z","region":"eu-west-1","resources":["arn:aws:events:eu-west-1:111122223333:rule/sweep"],"detail":{}}`

type fixture struct {
	ec2 *fakeec2.EC2
	h   *handler.Handler
	// invoke makes the real JSON round trip: the payload is decoded and the
	// response encoded by aws-lambda-go exactly as in Lambda. The outcomes
	// are those this invocation logged.
	invoke  func(payload []byte) ([]remediate.Outcome, handler.Summary, error)
	logs    *bytes.Buffer
	metrics *bytes.Buffer
}

func newFixture(t testing.TB, ec2 *fakeec2.EC2, configure func(*config.Config)) *fixture {
	t.Helper()
	return newFixtureWithClock(t, ec2, configure, nil)
}

func newFixtureWithClock(t testing.TB, ec2 *fakeec2.EC2, configure func(*config.Config), clock remediate.Clock) *fixture {
	t.Helper()
	return newFixtureWithOptions(t, ec2, configure, func(o *handler.Options) { o.Clock = clock })
}

// newFixtureWithOptions is newFixture with the handler's options changed by
// options.
func newFixtureWithOptions(t testing.TB, ec2 *fakeec2.EC2, configure func(*config.Config), options func(*handler.Options)) *fixture {
	t.Helper()
	cfg, err := config.FromEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.SelfRoleARN = selfRole
	if configure != nil {
		configure(&cfg)
	}
	f := &fixture{ec2: ec2, logs: &bytes.Buffer{}, metrics: &bytes.Buffer{}}
	log := slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts := handler.Options{Remediator: remediate.New(ec2, region, cfg), Log: log, Metrics: f.metrics}
	if options != nil {
		options(&opts)
	}
	f.h = handler.NewWith(opts)
	lh := lambda.NewHandler(f.h.Handle)
	f.invoke = func(payload []byte) ([]remediate.Outcome, handler.Summary, error) {
		logged := f.logs.Len()
		response, err := lh.Invoke(context.Background(), payload)
		outcomes := outcomeLines(t, f.logs.Bytes()[logged:])
		var summary handler.Summary
		if err == nil {
			if err := json.Unmarshal(response, &summary); err != nil {
				t.Fatalf("response %s: %v", response, err)
			}
		}
		return outcomes, summary, err
	}
	return f
}

// outcomeLines decodes the outcome lines of a log.
func outcomeLines(t testing.TB, log []byte) []remediate.Outcome {
	t.Helper()
	var outcomes []remediate.Outcome
	for _, line := range bytes.Split(log, []byte("\n")) {
		var o struct {
			Msg string `json:"msg"`
			remediate.Outcome
		}
		if len(line) == 0 {
			continue
		}
		if err := json.Unmarshal(line, &o); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		if o.Msg == "outcome" {
			outcomes = append(outcomes, o.Outcome)
		}
	}
	return outcomes
}

// lines decodes JSON Lines.
func lines(t testing.TB, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		out = append(out, m)
	}
	return out
}

func withMessage(records []map[string]any, msg string) []map[string]any {
	var out []map[string]any
	for _, r := range records {
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

func TestCreateEventRoundTrip(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fakeec2.New(fakeec2.Endpoint(endpointID, logs, account, fakeec2.DefaultPolicy)), nil)
	outcomes, summary, err := f.invoke(createEvent(endpointID))
	if err != nil {
		t.Fatal(err)
	}
	if len(outcomes) != 1 || outcomes[0].Verdict != remediate.NonCompliant || outcomes[0].Action != remediate.Rewritten ||
		outcomes[0].EventID != "ct-1" || outcomes[0].EventName != "CreateVpcEndpoint" || outcomes[0].Caller != "arn:aws:iam::111122223333:user/alice" {
		t.Fatalf("outcomes %+v", outcomes)
	}
	if o := outcomes[0]; o.Proof != policy.ProofWitness || len(o.Witnesses) == 0 || o.Witnesses[0].Action == "" ||
		o.Rewrite != config.RewriteTemplate || o.Widens == nil || len(*o.Widens) != 0 {
		t.Errorf("the logged outcome's proof %q, witnesses %+v, rewrite %q, widens %v", o.Proof, o.Witnesses, o.Rewrite, o.Widens)
	}
	if summary.Outcomes != 1 || summary.Verdicts[remediate.NonCompliant] != 1 || summary.Actions[remediate.Rewritten] != 1 ||
		summary.Errors != 0 || len(summary.Failed) != 0 || summary.Stopped {
		t.Errorf("summary %+v, want one noncompliant endpoint rewritten", summary)
	}

	records := lines(t, f.logs)
	infos := withMessage(records, "outcome")
	if len(infos) != 1 {
		t.Fatalf("%d outcome lines, want 1: %v", len(infos), records)
	}
	for _, key := range []string{"endpointId", "serviceName", "verdict", "action", "reasons", "eventId", "eventName", "caller", "policyBefore", "policyAfter",
		"proof", "witnesses", "rewrite", "widens"} {
		if _, ok := infos[0][key]; !ok {
			t.Errorf("the outcome line has no %s: %v", key, infos[0])
		}
	}
	if infos[0]["level"] != "INFO" || infos[0]["verdict"] != "noncompliant" || infos[0]["action"] != "rewritten" {
		t.Errorf("outcome line %v", infos[0])
	}
	debug := withMessage(records, "outcome policies")
	if len(debug) != 1 || debug[0]["level"] != "DEBUG" || debug[0]["policyBeforeText"] != fakeec2.DefaultPolicy ||
		!strings.Contains(debug[0]["policyAfterText"].(string), "log-group:*") {
		t.Errorf("debug lines %v", debug)
	}

	emf := lines(t, f.metrics)
	if len(emf) != 1 || emf[0]["Service"] != "logs" || emf[0]["EndpointsChecked"] != 1.0 || emf[0]["NonCompliant"] != 1.0 ||
		emf[0]["Rewritten"] != 1.0 || emf[0]["Exempt"] != 0.0 || emf[0]["Errors"] != 0.0 || emf[0]["_aws"] == nil {
		t.Errorf("metrics %v", emf)
	}
}

func TestOwnModifyEventRoundTrip(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fakeec2.New(fakeec2.Endpoint(endpointID, logs, account, fakeec2.DefaultPolicy)), nil)
	if _, _, err := f.invoke(createEvent(endpointID)); err != nil {
		t.Fatal(err)
	}
	describes := f.ec2.DescribeCalls()
	outcomes, _, err := f.invoke(ownModifyEvent(endpointID))
	if err != nil {
		t.Fatal(err)
	}
	if len(outcomes) != 1 || outcomes[0].Verdict != remediate.Compliant || !outcomes[0].OwnCall {
		t.Errorf("outcomes %+v, want compliant, our own call", outcomes)
	}
	if f.ec2.DescribeCalls()-describes != 1 || f.ec2.ModifyCalls() != 1 {
		t.Errorf("%d describes for our own event and %d writes in all, want 1 and 1", f.ec2.DescribeCalls()-describes, f.ec2.ModifyCalls())
	}
	last := withMessage(lines(t, f.logs), "outcome")
	if last[len(last)-1]["ownCall"] != true {
		t.Errorf("our own call is not labelled in the log: %v", last[len(last)-1])
	}
}

func TestScheduledEventSweeps(t *testing.T) {
	t.Parallel()
	template, err := policytemplates.Render(policytemplates.Logs, policytemplates.Params{Region: region, AccountID: account})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, fakeec2.New(
		fakeec2.Endpoint("vpce-00000001", logs, account, string(template)),
		fakeec2.Endpoint("vpce-00000002", logs, account, fakeec2.DefaultPolicy),
		fakeec2.Endpoint("vpce-00000003", logs, account, fakeec2.DefaultPolicy, "vpce-guard:exempt", "true"),
		fakeec2.Endpoint("vpce-00000004", "com.amazonaws.eu-west-1.events", account, fakeec2.DefaultPolicy),
	), nil)
	outcomes, summary, err := f.invoke([]byte(scheduledEvent))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, o := range outcomes {
		got[o.EndpointID] = string(o.Verdict) + "/" + string(o.Action)
	}
	want := map[string]string{"vpce-00000001": "compliant/none", "vpce-00000002": "noncompliant/rewritten",
		"vpce-00000003": "exempt/none", "vpce-00000004": "noncompliant/rewritten"}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if summary.Outcomes != 4 || summary.Actions[remediate.Rewritten] != 2 || summary.Verdicts[remediate.Exempt] != 1 {
		t.Errorf("summary %+v", summary)
	}
	// One record per endpoint, as each is done.
	sums := map[string]map[string]float64{}
	for _, record := range lines(t, f.metrics) {
		service := record["Service"].(string)
		if sums[service] == nil {
			sums[service] = map[string]float64{}
		}
		for _, m := range []string{"EndpointsChecked", "Exempt", "Rewritten"} {
			sums[service][m] += record[m].(float64)
		}
	}
	if n := len(lines(t, f.metrics)); n != 4 || sums["events"]["Rewritten"] != 1 || sums["logs"]["Exempt"] != 1 || sums["logs"]["EndpointsChecked"] != 2 {
		t.Errorf("%d metric records, sums %v", n, sums)
	}
}

func TestMalformedEventIsDropped(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"no known shape": `{"hello":"world"}`,
		"wrong type":     `{"detail-type":"AWS API Call via CloudTrail","source":"aws.ec2","detail":{"eventID":"ct-9","eventName":"CreateVpcEndpoint","eventSource":["x"]}}`,
		"not an object":  `42`,
	}
	for name, payload := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, fakeec2.New(), nil)
			outcomes, summary, err := f.invoke([]byte(payload))
			if err != nil {
				t.Fatalf("error %v: a malformed event must not be retried", err)
			}
			if !summary.Malformed || summary.Errors != 1 {
				t.Errorf("summary %+v, want malformed, one error", summary)
			}
			if len(outcomes) != 0 || f.ec2.DescribeCalls() != 0 {
				t.Errorf("outcomes %+v after %d describes, want none", outcomes, f.ec2.DescribeCalls())
			}
			records := withMessage(lines(t, f.logs), "malformed event dropped")
			if len(records) != 1 || records[0]["level"] != "ERROR" || records[0]["error"] == "" || records[0]["excerpt"] == "" {
				t.Errorf("log %s", f.logs)
			}
			emf := lines(t, f.metrics)
			if len(emf) != 1 || emf[0]["Service"] != "none" || emf[0]["Errors"] != 1.0 {
				t.Errorf("metrics %v", emf)
			}
		})
	}
}

// Lambda only passes valid JSON, but a CloudTrail log file handed to the
// handler by other means may be cut short.
func TestTruncatedInputIsDropped(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fakeec2.New(), nil)
	summary, err := f.h.Handle(context.Background(), json.RawMessage(`{"Records":[{"eventID":"ct-9","eventName":"CreateVpcEndpoint"`))
	if err != nil || summary.Outcomes != 0 || !summary.Malformed {
		t.Fatalf("summary %+v, error %v; want no outcome, malformed, and no error", summary, err)
	}
	records := withMessage(lines(t, f.logs), "malformed event dropped")
	if len(records) != 1 || !strings.Contains(records[0]["error"].(string), "unexpected EOF") {
		t.Errorf("log %s", f.logs)
	}
}

func TestOtherEventIsSkippedWithoutAWSCalls(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fakeec2.New(), nil)
	payload := `{"detail-type":"AWS API Call via CloudTrail","source":"aws.ec2","account":"111122223333","region":"eu-west-1",
		"detail":{"eventID":"ct-3","eventName":"DeleteVpcEndpoints","eventSource":"ec2.amazonaws.com","awsRegion":"eu-west-1"}}`
	outcomes, _, err := f.invoke([]byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	if len(outcomes) != 1 || outcomes[0].Verdict != remediate.Skipped || !strings.Contains(outcomes[0].Reasons[0], "DeleteVpcEndpoints") {
		t.Errorf("outcomes %+v", outcomes)
	}
	if f.ec2.DescribeCalls() != 0 {
		t.Error("a skipped event made an AWS call")
	}
}

func TestFailedWriteFailsTheInvocation(t *testing.T) {
	t.Parallel()
	ec2 := fakeec2.New(fakeec2.Endpoint(endpointID, logs, account, fakeec2.DefaultPolicy))
	ec2.FailModify(endpointID, fakeec2.APIError("UnauthorizedOperation", "You are not authorized to perform this operation."))
	f := newFixture(t, ec2, nil)
	_, _, err := f.invoke(createEvent(endpointID))
	var failed *handler.RemediationError
	if !errors.As(err, &failed) || !errors.Is(err, remediate.ErrMissingPermission) {
		t.Fatalf("error %v (%T), want a RemediationError for a missing permission", err, err)
	}
	if !strings.Contains(err.Error(), endpointID) || !strings.Contains(err.Error(), "ec2:ModifyVpcEndpoint") {
		t.Errorf("error %q does not name the endpoint and the permission", err)
	}
	records := withMessage(lines(t, f.logs), "outcome")
	if len(records) != 1 || records[0]["level"] != "ERROR" || !strings.Contains(records[0]["error"].(string), "ec2:ModifyVpcEndpoint") {
		t.Errorf("log %v", records)
	}
	if emf := lines(t, f.metrics); len(emf) != 1 || emf[0]["Errors"] != 1.0 || emf[0]["Rewritten"] != 0.0 {
		t.Errorf("metrics %v", emf)
	}
}

func TestInfoLevelLeavesThePoliciesOut(t *testing.T) {
	t.Parallel()
	cfg, _ := config.FromEnv(func(string) string { return "" })
	var out bytes.Buffer
	ec2 := fakeec2.New(fakeec2.Endpoint(endpointID, logs, account, fakeec2.DefaultPolicy))
	h := handler.New(remediate.New(ec2, region, cfg), slog.New(slog.NewJSONHandler(&out, nil)), io.Discard)
	if _, err := h.Handle(context.Background(), createEvent(endpointID)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "policyBeforeText") || strings.Count(out.String(), "\n") != 2 {
		t.Errorf("INFO log %s, want the outcome and the summary, without the policies", out.String())
	}
}

// The margin is a tenth of the invocation's time, and at least a second.
func TestCutoffKeepsAMargin(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct{ timeout, margin time.Duration }{
		{15 * time.Minute, 90 * time.Second},
		{60 * time.Second, 6 * time.Second},
		{3 * time.Second, time.Second},
		{500 * time.Millisecond, time.Second}, // already past: nothing starts
	} {
		if got := handler.Cutoff(start, start.Add(tc.timeout)); !got.Equal(start.Add(tc.timeout - tc.margin)) {
			t.Errorf("timeout %v: cutoff after %v, want %v", tc.timeout, got.Sub(start), tc.timeout-tc.margin)
		}
	}
}

// Near its deadline the function stops starting work: the endpoint whose
// write would start too late is not written, the next is not checked, each
// has its outcome logged and counted, and the invocation fails so that
// Lambda retries the event.
func TestEventStopsBeforeTheDeadline(t *testing.T) {
	t.Parallel()
	ids := []string{"vpce-00000001", "vpce-00000002", "vpce-00000003"}
	ec2 := fakeec2.New(
		fakeec2.Endpoint(ids[0], logs, account, fakeec2.DefaultPolicy),
		fakeec2.Endpoint(ids[1], logs, account, fakeec2.DefaultPolicy),
		fakeec2.Endpoint(ids[2], logs, account, fakeec2.DefaultPolicy))
	clock := fakeclock.At(time.Now())
	// A one-hour invocation keeps six minutes; each Describe takes 40.
	ec2.BeforeCall(func(action, _ string) {
		if action == "DescribeVpcEndpoints" {
			clock.Advance(40 * time.Minute)
		}
	})
	f := newFixtureWithClock(t, ec2, nil, clock)
	ctx, cancel := context.WithDeadline(context.Background(), clock.Now().Add(time.Hour))
	defer cancel()
	payload := fmt.Appendf(nil, `{"detail-type":"AWS API Call via CloudTrail","source":"aws.ec2","account":"111122223333","region":"eu-west-1",
		"detail":{"eventID":"ct-5","eventName":"ModifyVpcEndpoint","eventSource":"ec2.amazonaws.com","awsRegion":"eu-west-1",
		"requestParameters":{"ModifyVpcEndpointRequest":{"VpcEndpointId":%q}}}}`, ids[0])
	// A log file names many endpoints; a record, one. Three records here.
	records := fmt.Sprintf(`{"Records":[%s,%s,%s]}`, record(payload, ids[0]), record(payload, ids[1]), record(payload, ids[2]))

	_, err := f.h.Handle(ctx, json.RawMessage(records))
	var failed *handler.RemediationError
	if !errors.As(err, &failed) || !errors.Is(err, remediate.ErrDeadlineNear) {
		t.Fatalf("error %v, want a RemediationError for the deadline", err)
	}
	outcomes := outcomeLines(t, f.logs.Bytes())
	want := []string{"", "not rewritten: the invocation's deadline was near", "not checked: the invocation's deadline was near"}
	if len(outcomes) != 3 {
		t.Fatalf("%d outcomes logged, want 3", len(outcomes))
	}
	for i, o := range outcomes {
		if o.EndpointID != ids[i] || o.Error != want[i] {
			t.Errorf("outcome %d: %s error %q, want %s error %q", i+1, o.EndpointID, o.Error, ids[i], want[i])
		}
	}
	errorsCounted := 0.0
	for _, r := range lines(t, f.metrics) {
		errorsCounted += r["Errors"].(float64)
	}
	stops := withMessage(lines(t, f.logs), "stopped before the deadline")
	if errorsCounted != 2 || len(stops) != 2 {
		t.Errorf("%v errors counted and %d stop lines, want 2 and 2 (one per stopped record)", errorsCounted, len(stops))
	}
	if ec2.ModifyCalls() != 1 || ec2.Describes(ids[2]) != 0 {
		t.Errorf("%d writes, %d Describe of the last; want 1 and 0", ec2.ModifyCalls(), ec2.Describes(ids[2]))
	}
}

// record is the CloudTrail record of an EventBridge event, for endpoint id.
func record(event []byte, id string) string {
	var e struct {
		Detail map[string]any `json:"detail"`
	}
	if err := json.Unmarshal(event, &e); err != nil {
		panic(err)
	}
	e.Detail["requestParameters"] = map[string]any{"ModifyVpcEndpointRequest": map[string]any{"VpcEndpointId": id}}
	e.Detail["eventID"] = "ct-" + id
	b, _ := json.Marshal(e.Detail)
	return string(b)
}

// A sweep in which endpoints fail succeeds: each failure is an outcome, a
// count and an entry in the response, which lists at most twenty.
func TestSweepSucceedsWithFailedEndpoints(t *testing.T) {
	t.Parallel()
	var endpoints []string
	var all []types.VpcEndpoint
	for i := range 25 {
		id := fmt.Sprintf("vpce-%08d", i)
		endpoints = append(endpoints, id)
		all = append(all, fakeec2.Endpoint(id, logs, account, fakeec2.DefaultPolicy))
	}
	ec2 := fakeec2.New(all...)
	for _, id := range endpoints {
		ec2.FailModify(id, fakeec2.APIError("UnauthorizedOperation", strings.Repeat("denied by a service control policy; ", 40)))
	}
	f := newFixture(t, ec2, func(c *config.Config) { c.MaxWritesPerSecond = 0 })
	outcomes, summary, err := f.invoke([]byte(scheduledEvent))
	if err != nil {
		t.Fatalf("error %v: a sweep fails only when it cannot list", err)
	}
	if len(outcomes) != 25 || summary.Errors != 25 || len(summary.Failed) != handler.MaxFailuresListed || summary.FailedNotListed != 5 {
		t.Fatalf("%d outcomes, summary %d errors, %d listed and %d not; want 25, 25, 20, 5",
			len(outcomes), summary.Errors, len(summary.Failed), summary.FailedNotListed)
	}
	for _, failure := range summary.Failed {
		if len(failure.Error) > 512 || !strings.HasSuffix(failure.Error, "…") || !slices.Contains(endpoints, failure.EndpointID) {
			t.Errorf("failure %s: %d bytes, %q", failure.EndpointID, len(failure.Error), failure.Error[:40])
		}
	}
	errorsCounted := 0.0
	for _, r := range lines(t, f.metrics) {
		errorsCounted += r["Errors"].(float64)
	}
	if errorsCounted != 25 {
		t.Errorf("%v errors counted, want 25", errorsCounted)
	}
}

const (
	memberA = "111111111111"
	memberB = "222222222222"
)

// hubFixture is a hub function whose members are A (eu-west-1, us-east-1)
// and B (eu-west-1), and whose sweep covers one OU holding A, B and C, which
// has no member role.
func hubFixture(t *testing.T, clock remediate.Clock) (*handler.Handler, fakeec2.Members, *fakeorg.Queue, *bytes.Buffer) {
	t.Helper()
	open := func(account, service string) *fakeec2.EC2 {
		return fakeec2.New(fakeec2.Endpoint("vpce-00000001", service, account, fakeec2.DefaultPolicy),
			fakeec2.Endpoint("vpce-00000002", service, account, fakeec2.DefaultPolicy))
	}
	members := fakeec2.Members{
		memberA + "/eu-west-1": open(memberA, logs),
		memberA + "/us-east-1": open(memberA, "com.amazonaws.us-east-1.logs"),
		memberB + "/eu-west-1": open(memberB, logs),
	}
	cfg, err := config.FromEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxWritesPerSecond = 0
	org := &fakeorg.Org{Management: "999999999999", Accounts: map[string][]string{
		"ou-abcd-11111111": {memberA, memberB, "333333333333"}}}
	queue := &fakeorg.Queue{}
	var logs bytes.Buffer
	h := handler.NewWith(handler.Options{
		Remediator: remediate.NewHub(members, cfg),
		Log:        slog.New(slog.NewJSONHandler(&logs, nil)),
		Metrics:    io.Discard,
		Clock:      clock,
		Sweep: &handler.OrgSweep{Organizations: org, Queue: queue, QueueURL: "https://sqs.eu-west-1.amazonaws.com/999999999999/units",
			Targets: fanout.Targets{OUs: []string{"ou-abcd-11111111"}, Regions: []string{"eu-west-1", "us-east-1"}}},
	})
	return h, members, queue, &logs
}

// sqsEvent is the event source mapping's event for units.
func sqsEvent(t *testing.T, units ...fanout.Unit) json.RawMessage {
	t.Helper()
	var records []map[string]string
	for i, u := range units {
		body, _ := json.Marshal(u)
		records = append(records, map[string]string{"eventSource": "aws:sqs", "messageId": fmt.Sprint("m", i), "body": string(body)})
	}
	event, _ := json.Marshal(map[string]any{"Records": records})
	return event
}

// The hub's scheduled sweep queues one unit per member account and region,
// and checks no endpoint itself.
func TestHubSweepQueuesUnits(t *testing.T) {
	t.Parallel()
	h, members, queue, _ := hubFixture(t, nil)
	summary, err := h.Handle(context.Background(), json.RawMessage(scheduledEvent))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range queue.Bodies() {
		var u fanout.Unit
		if err := json.Unmarshal([]byte(b), &u); err != nil {
			t.Fatal(err)
		}
		got = append(got, u.Account+"/"+u.Region)
	}
	want := []string{memberA + "/eu-west-1", memberA + "/us-east-1", memberB + "/eu-west-1", memberB + "/us-east-1",
		"333333333333/eu-west-1", "333333333333/us-east-1"}
	if !slices.Equal(got, want) || summary.Units != 6 || summary.Outcomes != 0 {
		t.Errorf("queued %v (summary %+v), want %v and no outcome", got, summary, want)
	}
	for key, ec2 := range members {
		if ec2.DescribeCalls() != 0 {
			t.Errorf("%s described by the fan-out", key)
		}
	}
}

// A unit sweeps its account and region only; a unit whose account has no
// member role fails the invocation, for SQS to retry it.
func TestHubSweepsAUnit(t *testing.T) {
	t.Parallel()
	h, members, _, logs := hubFixture(t, nil)
	summary, err := h.Handle(context.Background(), sqsEvent(t, fanout.Unit{Account: memberA, Region: "us-east-1"}))
	if err != nil || summary.Outcomes != 2 || summary.Actions[remediate.Rewritten] != 2 {
		t.Fatalf("unit: %+v, %v; want two endpoints rewritten", summary, err)
	}
	for key, ec2 := range members {
		if want := key == memberA+"/us-east-1"; (ec2.ModifyCalls() == 2) != want {
			t.Errorf("%s: %d writes", key, ec2.ModifyCalls())
		}
	}
	outcomes := outcomeLines(t, logs.Bytes())
	if len(outcomes) != 2 || outcomes[0].Account != memberA || outcomes[0].EventName != handler.UnitEventName {
		t.Errorf("outcomes %+v", outcomes)
	}

	_, err = h.Handle(context.Background(), sqsEvent(t, fanout.Unit{Account: "333333333333", Region: "eu-west-1"}))
	var failed *handler.RemediationError
	if !errors.As(err, &failed) || !strings.Contains(err.Error(), "333333333333") || !strings.Contains(err.Error(), fakeec2.MemberRoleName) {
		t.Errorf("a unit without a member role: %v, want a RemediationError naming the account and role", err)
	}
	if _, err := h.Handle(context.Background(), json.RawMessage(`{"Records":[{"eventSource":"aws:sqs","messageId":"x","body":"{}"}]}`)); err == nil {
		t.Error("a unit that names no account was accepted")
	}
}

// A unit stopped by the cutoff queues its continuation, from where it stopped.
func TestHubUnitContinues(t *testing.T) {
	t.Parallel()
	clock := fakeclock.At(time.Now())
	h, members, queue, _ := hubFixture(t, clock)
	members[memberB+"/eu-west-1"].BeforeCall(func(action, _ string) {
		if action == "ModifyVpcEndpoint" {
			clock.Advance(time.Hour) // the first write takes the invocation's time
		}
	})
	ctx, cancel := context.WithDeadline(context.Background(), clock.Now().Add(10*time.Minute))
	defer cancel()
	summary, err := h.Handle(ctx, sqsEvent(t, fanout.Unit{Account: memberB, Region: "eu-west-1"}))
	if err != nil || !summary.Stopped || summary.Units != 1 || summary.Actions[remediate.Rewritten] != 1 {
		t.Fatalf("%+v, %v; want one write, stopped, one continuation queued", summary, err)
	}
	var next fanout.Unit
	if err := json.Unmarshal([]byte(queue.Bodies()[0]), &next); err != nil {
		t.Fatal(err)
	}
	if next != (fanout.Unit{Account: memberB, Region: "eu-west-1", Part: 1}) {
		t.Errorf("continuation %+v, want part 1 of the same unit from the first page", next)
	}
}

// An endpoint rewritten a second time is counted in RewrittenAgain, and its
// outcome line names the earlier rewrite and the owner; a rewrite that
// could not be recorded is a warning, counted, and not a failure.
func TestRewrittenAgainRoundTrip(t *testing.T) {
	t.Parallel()
	ec2 := fakeec2.New(fakeec2.Endpoint(endpointID, logs, account, fakeec2.DefaultPolicy, owner.StackNameTag, "network-prod"))
	f := newFixture(t, ec2, nil)
	if _, _, err := f.invoke(createEvent(endpointID)); err != nil {
		t.Fatal(err)
	}
	if _, err := ec2.ModifyVpcEndpoint(context.Background(), &awsec2.ModifyVpcEndpointInput{
		VpcEndpointId: aws.String(endpointID), PolicyDocument: aws.String(fakeec2.DefaultPolicy)}); err != nil {
		t.Fatal(err)
	}
	ec2.FailCreateTags(fakeec2.APIError("RequestLimitExceeded", "Request limit exceeded."))
	logged, metered := f.logs.Len(), f.metrics.Len()
	outcomes, summary, err := f.invoke(createEvent(endpointID))
	if err != nil || len(outcomes) != 1 || outcomes[0].Action != remediate.Rewritten || summary.Errors != 0 {
		t.Fatalf("outcomes %+v, summary %+v, %v", outcomes, summary, err)
	}
	line := withMessage(lines(t, bytes.NewBuffer(f.logs.Bytes()[logged:])), "outcome")
	if len(line) != 1 || line[0]["level"] != "WARN" || line[0]["rewrittenBefore"] == nil || line[0]["recordError"] == nil ||
		line[0]["owner"].(map[string]any)["name"] != "network-prod" {
		t.Errorf("outcome line %v", line)
	}
	emf := lines(t, bytes.NewBuffer(f.metrics.Bytes()[metered:]))
	if len(emf) != 1 || emf[0]["RewrittenAgain"] != 1.0 || emf[0]["RewritesNotRecorded"] != 1.0 || emf[0]["Errors"] != 0.0 {
		t.Errorf("metrics %v", emf)
	}
}
