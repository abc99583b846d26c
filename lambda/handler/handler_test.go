package handler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/vpce-guard/vpce-guard/internal/fakeec2"
	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/lambda/handler"
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
	ec2     *fakeec2.EC2
	handle  func(ctx context.Context, event json.RawMessage) ([]remediate.Outcome, error)
	invoke  func(payload []byte) ([]remediate.Outcome, error)
	logs    *bytes.Buffer
	metrics *bytes.Buffer
}

func newFixture(t testing.TB, ec2 *fakeec2.EC2, configure func(*config.Config)) *fixture {
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
	h := handler.New(remediate.New(ec2, region, cfg), log, f.metrics)
	f.handle = h.Handle
	// The real JSON round trip: the payload is decoded and the result encoded
	// by aws-lambda-go exactly as in Lambda.
	lh := lambda.NewHandler(h.Handle)
	f.invoke = func(payload []byte) ([]remediate.Outcome, error) {
		response, err := lh.Invoke(context.Background(), payload)
		if err != nil {
			return nil, err
		}
		var outcomes []remediate.Outcome
		if err := json.Unmarshal(response, &outcomes); err != nil {
			t.Fatalf("response %s: %v", response, err)
		}
		return outcomes, nil
	}
	return f
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
	outcomes, err := f.invoke(createEvent(endpointID))
	if err != nil {
		t.Fatal(err)
	}
	if len(outcomes) != 1 || outcomes[0].Verdict != remediate.NonCompliant || outcomes[0].Action != remediate.Rewritten ||
		outcomes[0].EventID != "ct-1" || outcomes[0].EventName != "CreateVpcEndpoint" || outcomes[0].Caller != "arn:aws:iam::111122223333:user/alice" {
		t.Fatalf("outcomes %+v", outcomes)
	}
	if outcomes[0].PolicyBeforeText != "" {
		t.Error("the policy texts leaked into the response")
	}

	records := lines(t, f.logs)
	infos := withMessage(records, "outcome")
	if len(infos) != 1 {
		t.Fatalf("%d outcome lines, want 1: %v", len(infos), records)
	}
	for _, key := range []string{"endpointId", "serviceName", "verdict", "action", "reasons", "eventId", "eventName", "caller", "policyBefore", "policyAfter"} {
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
	if _, err := f.invoke(createEvent(endpointID)); err != nil {
		t.Fatal(err)
	}
	describes := f.ec2.DescribeCalls()
	outcomes, err := f.invoke(ownModifyEvent(endpointID))
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
	outcomes, err := f.invoke([]byte(scheduledEvent))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range outcomes {
		got = append(got, string(o.Verdict)+"/"+string(o.Action))
	}
	want := "compliant/none noncompliant/rewritten exempt/none noncompliant/rewritten"
	if strings.Join(got, " ") != want {
		t.Errorf("got %v, want %s", got, want)
	}
	emf := lines(t, f.metrics)
	if len(emf) != 2 || emf[0]["Service"] != "events" || emf[1]["Service"] != "logs" || emf[1]["Exempt"] != 1.0 || emf[1]["EndpointsChecked"] != 2.0 {
		t.Errorf("metrics %v", emf)
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
			outcomes, err := f.invoke([]byte(payload))
			if err != nil {
				t.Fatalf("error %v: a malformed event must not be retried", err)
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
	outcomes, err := f.handle(context.Background(), json.RawMessage(`{"Records":[{"eventID":"ct-9","eventName":"CreateVpcEndpoint"`))
	if err != nil || len(outcomes) != 0 {
		t.Fatalf("outcomes %+v, error %v; want none and no error", outcomes, err)
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
	outcomes, err := f.invoke([]byte(payload))
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
	_, err := f.invoke(createEvent(endpointID))
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
	if strings.Contains(out.String(), "policyBeforeText") || strings.Count(out.String(), "\n") != 1 {
		t.Errorf("INFO log %s, want one line without the policies", out.String())
	}
}
