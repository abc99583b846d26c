package remediate_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpce-guard/vpce-guard/internal/fakeclock"
	"github.com/vpce-guard/vpce-guard/internal/fakeec2"
	"github.com/vpce-guard/vpce-guard/lambda/cloudtrail"
	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/lambda/policy"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
	"github.com/vpce-guard/vpce-guard/policytemplates"
)

const endpointID = "vpce-0123456789abcdef0"

func modifyCall(ids ...string) cloudtrail.Call {
	return cloudtrail.Call{
		EventID: "e-1", EventName: "ModifyVpcEndpoint", EventSource: "ec2.amazonaws.com",
		Account: account, Region: region, EndpointIDs: ids,
		Caller: cloudtrail.Caller{Type: "IAMUser", ARN: "arn:aws:iam::111122223333:user/alice"},
	}
}

func TestHandleCall(t *testing.T) {
	t.Parallel()
	logsTemplate := render(t, policytemplates.Logs, region)
	tests := []struct {
		name      string
		endpoint  *fakeEndpoint // nil: the endpoint does not exist
		configure func(*config.Config)
		call      func(cloudtrail.Call) cloudtrail.Call
		verdict   remediate.Verdict
		action    remediate.Action
		reason    string // a part of the first reason; "" for none at all
		describes int
		modifies  int
	}{
		{name: "template is compliant", endpoint: &fakeEndpoint{service: logs, policy: logsTemplate},
			verdict: remediate.Compliant, action: remediate.None, describes: 1},
		{name: "narrower policy is compliant", endpoint: &fakeEndpoint{service: logs, policy: narrower},
			verdict: remediate.Compliant, action: remediate.None, describes: 1},
		{name: "full access is rewritten", endpoint: &fakeEndpoint{service: logs, policy: fullAccess},
			verdict: remediate.NonCompliant, action: remediate.Rewritten, reason: "statement 1 allows * on *", describes: 1, modifies: 1},
		{name: "other accounts' log groups are rewritten", endpoint: &fakeEndpoint{service: logs, policy: foreignGroups},
			verdict: remediate.NonCompliant, action: remediate.Rewritten, reason: "arn:aws:logs:*:*:log-group:*", describes: 1, modifies: 1},
		{name: "dry run writes nothing", endpoint: &fakeEndpoint{service: logs, policy: fullAccess},
			configure: func(c *config.Config) { c.DryRun = true },
			verdict:   remediate.NonCompliant, action: remediate.WouldRewrite, reason: "statement 1", describes: 1},
		{name: "no policy document", endpoint: &fakeEndpoint{service: logs},
			verdict: remediate.NonCompliant, action: remediate.Rewritten, reason: "no policy document", describes: 1, modifies: 1},
		{name: "unreadable policy", endpoint: &fakeEndpoint{service: logs, policy: `{"Statement":[{"Effect":"Permit"}]}`},
			verdict: remediate.NonCompliant, action: remediate.Rewritten, reason: "cannot be read: invalid policy: statement 1", describes: 1, modifies: 1},
		{name: "exempt", endpoint: &fakeEndpoint{service: logs, policy: fullAccess, tags: []string{"vpce-guard:exempt", "true"}},
			verdict: remediate.Exempt, action: remediate.None, reason: "tagged vpce-guard:exempt=true", describes: 1},
		{name: "exempt value ignores case", endpoint: &fakeEndpoint{service: logs, policy: fullAccess, tags: []string{"vpce-guard:exempt", "True"}},
			verdict: remediate.Exempt, action: remediate.None, reason: "tagged", describes: 1},
		{name: "exemption tag with another value", endpoint: &fakeEndpoint{service: logs, policy: fullAccess, tags: []string{"vpce-guard:exempt", "false"}},
			verdict: remediate.NonCompliant, action: remediate.Rewritten, reason: "statement 1", describes: 1, modifies: 1},
		{name: "custom exemption key, any value", endpoint: &fakeEndpoint{service: logs, policy: fullAccess, tags: []string{"security-exception", "TICKET-42"}},
			configure: func(c *config.Config) { c.ExemptTag = config.Tag{Key: "security-exception"} },
			verdict:   remediate.Exempt, action: remediate.None, reason: "tagged security-exception=TICKET-42", describes: 1},
		{name: "not found", endpoint: nil,
			verdict: remediate.NotFound, action: remediate.None, reason: "does not exist", describes: 1},
		{name: "deleted", endpoint: &fakeEndpoint{service: logs, policy: fullAccess, state: "deleted"},
			verdict: remediate.Skipped, action: remediate.None, reason: "the endpoint is deleted", describes: 1},
		{name: "deleting, as the SDK spells it", endpoint: &fakeEndpoint{service: logs, policy: fullAccess, state: "Deleting"},
			verdict: remediate.Skipped, action: remediate.None, reason: "the endpoint is deleting", describes: 1},
		{name: "rejected", endpoint: &fakeEndpoint{service: logs, policy: fullAccess, state: "rejected"},
			verdict: remediate.Skipped, action: remediate.None, reason: "rejected", describes: 1},
		{name: "pending is checked", endpoint: &fakeEndpoint{service: logs, policy: fullAccess, state: "pending"},
			verdict: remediate.NonCompliant, action: remediate.Rewritten, describes: 1, modifies: 1, reason: "statement 1"},
		{name: "service without a template", endpoint: &fakeEndpoint{service: "com.amazonaws.eu-west-1.s3", policy: fullAccess},
			verdict: remediate.Skipped, action: remediate.None, reason: "no template guards com.amazonaws.eu-west-1.s3", describes: 1},
		{name: "service not enabled", endpoint: &fakeEndpoint{service: "com.amazonaws.eu-west-1.events", policy: fullAccess},
			configure: func(c *config.Config) { c.Templates.Services = []string{policytemplates.ServiceLogs} },
			verdict:   remediate.Skipped, action: remediate.None, reason: "no template guards com.amazonaws.eu-west-1.events", describes: 1},
		{name: "events endpoint", endpoint: &fakeEndpoint{service: "com.amazonaws.eu-west-1.events", policy: fullAccess},
			verdict: remediate.NonCompliant, action: remediate.Rewritten, reason: "events:", describes: 1, modifies: 1},
		{name: "custom event bus endpoint", endpoint: &fakeEndpoint{service: "com.amazonaws.eu-west-1.eventsv2", policy: fullAccess},
			verdict: remediate.NonCompliant, action: remediate.Rewritten, reason: "statement 1 allows * on *", describes: 1, modifies: 1},
		{name: "custom event bus endpoint with the template", endpoint: &fakeEndpoint{service: "com.amazonaws.eu-west-1.eventsv2", policy: render(t, policytemplates.Events, region)},
			verdict: remediate.Compliant, action: remediate.None, describes: 1},
		{name: "custom event bus endpoint, another account's bus", endpoint: &fakeEndpoint{service: "com.amazonaws.eu-west-1.eventsv2",
			policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"events:PutEvents","Resource":"arn:aws:events:eu-west-1:444455556666:event-busv2/*"}]}`},
			verdict: remediate.NonCompliant, action: remediate.Rewritten, reason: "444455556666:event-busv2/*", describes: 1, modifies: 1},
		{name: "syslog endpoint", endpoint: &fakeEndpoint{service: "com.amazonaws.eu-west-1.syslog-logs", policy: fullAccess},
			verdict: remediate.NonCompliant, action: remediate.Rewritten, reason: "statement 1 allows * on *", describes: 1, modifies: 1},
		{name: "syslog endpoint with its template", endpoint: &fakeEndpoint{service: "com.amazonaws.eu-west-1.syslog-logs", policy: render(t, policytemplates.Syslog, region)},
			verdict: remediate.Compliant, action: remediate.None, describes: 1},
		{name: "syslog endpoint, another account's log group", endpoint: &fakeEndpoint{service: "com.amazonaws.eu-west-1.syslog-logs", policy: foreignGroups},
			verdict: remediate.NonCompliant, action: remediate.Rewritten, reason: "arn:aws:logs:*:*:log-group:*", describes: 1, modifies: 1},
		{name: "fips logs endpoint", endpoint: &fakeEndpoint{service: "com.amazonaws.eu-west-1.logs-fips", policy: fullAccess},
			verdict: remediate.NonCompliant, action: remediate.Rewritten, describes: 1, modifies: 1, reason: "statement 1"},
		{name: "logs-strict rejects the plain template", endpoint: &fakeEndpoint{service: logs, policy: logsTemplate},
			configure: func(c *config.Config) { c.Templates.StrictLogs = true },
			verdict:   remediate.NonCompliant, action: remediate.Rewritten, reason: "", describes: 1, modifies: 1},
		{name: "exact mode rejects a narrower policy", endpoint: &fakeEndpoint{service: logs, policy: narrower},
			configure: func(c *config.Config) { c.Mode = policy.Exact },
			verdict:   remediate.NonCompliant, action: remediate.Rewritten, describes: 1, modifies: 1, reason: ""},
		{name: "log-group patterns narrow the template", endpoint: &fakeEndpoint{service: logs, policy: narrower},
			configure: func(c *config.Config) { c.LogGroupPatterns = []string{"/aws/lambda/*"} },
			verdict:   remediate.NonCompliant, action: remediate.Rewritten, reason: "log-group:/aws/lambda/*", describes: 1, modifies: 1},
		{name: "a call to skip makes no AWS call", endpoint: &fakeEndpoint{service: logs, policy: fullAccess},
			call: func(c cloudtrail.Call) cloudtrail.Call {
				c.EndpointIDs, c.ErrorCode, c.SkipReason = nil, "Client.UnauthorizedOperation", `the call failed with "Client.UnauthorizedOperation"`
				return c
			},
			verdict: remediate.Skipped, action: remediate.None, reason: "the call failed"},
		{name: "an event from another region makes no AWS call", endpoint: &fakeEndpoint{service: logs, policy: fullAccess},
			call:    func(c cloudtrail.Call) cloudtrail.Call { c.Region = "us-east-1"; return c },
			verdict: remediate.Skipped, action: remediate.None, reason: "the event is from us-east-1 and this function guards eu-west-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ec2 := fakeec2.New()
			if tt.endpoint != nil {
				ec2 = fakeec2.New(tt.endpoint.build(endpointID))
			}
			cfg := defaults(t)
			if tt.configure != nil {
				tt.configure(&cfg)
			}
			call := modifyCall(endpointID)
			if tt.call != nil {
				call = tt.call(call)
			}
			outcomes, err := handle(remediate.New(ec2, region, cfg), context.Background(), call)
			if err != nil {
				t.Fatalf("HandleCall: %v", err)
			}
			if len(outcomes) != 1 {
				t.Fatalf("got %d outcomes, want 1: %+v", len(outcomes), outcomes)
			}
			o := outcomes[0]
			if o.Verdict != tt.verdict || o.Action != tt.action {
				t.Errorf("got %s/%s, want %s/%s; reasons %q", o.Verdict, o.Action, tt.verdict, tt.action, o.Reasons)
			}
			if tt.reason != "" && (len(o.Reasons) == 0 || !strings.Contains(o.Reasons[0], tt.reason)) {
				t.Errorf("reasons %q, want the first to contain %q", o.Reasons, tt.reason)
			}
			if tt.verdict == remediate.Compliant && len(o.Reasons) != 0 {
				t.Errorf("a compliant outcome has reasons %q", o.Reasons)
			}
			if got := ec2.DescribeCalls(); got != tt.describes {
				t.Errorf("%d DescribeVpcEndpoints calls, want %d", got, tt.describes)
			}
			if got := ec2.ModifyCalls(); got != tt.modifies {
				t.Errorf("%d ModifyVpcEndpoint calls, want %d", got, tt.modifies)
			}
			if o.EventID != call.EventID || o.EventName != call.EventName || o.Caller != call.Caller.ARN {
				t.Errorf("labels %q %q %q, want the call's", o.EventID, o.EventName, o.Caller)
			}
			if tt.action == remediate.Rewritten {
				if o.PolicyAfter == o.PolicyBefore || o.PolicyAfterText != ec2.Policy(endpointID) {
					t.Errorf("policyAfter %s (text %q) does not describe the written policy %q", o.PolicyAfter, o.PolicyAfterText, ec2.Policy(endpointID))
				}
				// Whatever was written must pass the same check: nothing flaps.
				again, err := handle(remediate.New(ec2, region, cfg), context.Background(), call)
				if err != nil || again[0].Verdict != remediate.Compliant {
					t.Errorf("after the rewrite: %+v, %v; want compliant", again, err)
				}
			}
		})
	}
}

type fakeEndpoint struct {
	service, policy, state string
	tags                   []string
}

func (e fakeEndpoint) build(id string) types.VpcEndpoint {
	ep := fakeec2.Endpoint(id, e.service, account, e.policy, e.tags...)
	if e.state != "" {
		ep.State = types.State(e.state)
	}
	return ep
}

// The loop that matters: vpce-guard rewrites an endpoint, CloudTrail logs its
// own ModifyVpcEndpoint, and that event must end as compliant after exactly one
// Describe and no write.
func TestOwnModifyEventEndsCompliant(t *testing.T) {
	t.Parallel()
	ec2 := fakeec2.New(fakeec2.Endpoint(endpointID, logs, account, fullAccess))
	cfg := defaults(t)
	cfg.SelfRoleARN = selfRole
	r := remediate.New(ec2, region, cfg)
	ctx := context.Background()

	create, err := cloudtrail.Decode([]byte(`{"eventVersion":"1.08","eventID":"create-1","eventName":"CreateVpcEndpoint",
		"eventSource":"ec2.amazonaws.com","awsRegion":"eu-west-1","recipientAccountId":"111122223333",
		"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice"},
		"responseElements":{"CreateVpcEndpointResponse":{"vpcEndpoint":{"vpcEndpointId":"` + endpointID + `"}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	first, err := handle(r, ctx, create[0])
	if err != nil || first[0].Action != remediate.Rewritten || first[0].OwnCall {
		t.Fatalf("the create event: %+v, %v; want rewritten, not our own call", first, err)
	}

	own, err := cloudtrail.Decode([]byte(`{"eventID":"modify-1","eventName":"ModifyVpcEndpoint",
		"eventSource":"ec2.amazonaws.com","awsRegion":"eu-west-1","recipientAccountId":"111122223333",
		"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/VpceGuardFunctionRole/vpce-guard",
			"sessionContext":{"sessionIssuer":{"type":"Role","arn":"` + selfRole + `"}}},
		"requestParameters":{"ModifyVpcEndpointRequest":{"VpcEndpointId":"` + endpointID + `","PolicyDocument":"{}"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	describes, modifies := ec2.DescribeCalls(), ec2.ModifyCalls()
	second, err := handle(r, ctx, own[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(second) != 1 || second[0].Verdict != remediate.Compliant || second[0].Action != remediate.None || !second[0].OwnCall {
		t.Errorf("our own modify event: %+v; want compliant, no action, labelled as our own call", second)
	}
	if got := ec2.DescribeCalls() - describes; got != 1 {
		t.Errorf("%d Describe calls for our own event, want exactly 1", got)
	}
	if got := ec2.ModifyCalls() - modifies; got != 0 {
		t.Errorf("%d Modify calls for our own event, want none", got)
	}
}

func TestUnauthorizedOperationNamesThePermission(t *testing.T) {
	t.Parallel()
	ec2 := fakeec2.New(fakeec2.Endpoint(endpointID, logs, account, fullAccess))
	ec2.FailModify(endpointID, fakeec2.APIError("UnauthorizedOperation", "You are not authorized to perform this operation."))
	outcomes, err := handle(remediate.New(ec2, region, defaults(t)), context.Background(), modifyCall(endpointID))
	if !errors.Is(err, remediate.ErrMissingPermission) {
		t.Fatalf("error %v, want ErrMissingPermission", err)
	}
	want := "modify vpc endpoint " + endpointID + ": missing permission ec2:ModifyVpcEndpoint"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q, want it to contain %q", err, want)
	}
	o := outcomes[0]
	if o.Verdict != remediate.NonCompliant || o.Action != remediate.None || !strings.Contains(o.Error, want) {
		t.Errorf("outcome %+v; want noncompliant, no action, error naming the permission", o)
	}
	if o.PolicyAfter != o.PolicyBefore {
		t.Errorf("policyAfter %s, want the unchanged %s", o.PolicyAfter, o.PolicyBefore)
	}
}

// An error that outlives the SDK's retries on one endpoint fails the call, but
// only after the other endpoints were handled.
func TestPersistentErrorStillHandlesTheOthers(t *testing.T) {
	t.Parallel()
	ids := []string{"vpce-00000001", "vpce-00000002", "vpce-00000003"}
	ec2 := fakeec2.New(
		fakeec2.Endpoint(ids[0], logs, account, fullAccess),
		fakeec2.Endpoint(ids[1], logs, account, fullAccess),
		fakeec2.Endpoint(ids[2], logs, account, fullAccess))
	ec2.FailDescribe(ids[1], fakeec2.APIError("RequestLimitExceeded", "Request limit exceeded."))
	outcomes, err := handle(remediate.New(ec2, region, defaults(t)), context.Background(), modifyCall(ids...))
	if err == nil || !strings.Contains(err.Error(), "describe vpc endpoint "+ids[1]+": api error RequestLimitExceeded") {
		t.Fatalf("error %v, want the failing endpoint's", err)
	}
	if len(outcomes) != 3 {
		t.Fatalf("%d outcomes, want 3", len(outcomes))
	}
	for i, o := range outcomes {
		failed := i == 1
		if (o.Error != "") != failed || (o.Action == remediate.Rewritten) == failed {
			t.Errorf("outcome %d: %+v", i, o)
		}
	}
	if ec2.Modifies(ids[0]) != 1 || ec2.Modifies(ids[2]) != 1 || ec2.Modifies(ids[1]) != 0 {
		t.Error("the endpoints around the failing one were not rewritten once each")
	}
}

// An event's endpoints are handled until the cutoff: the one being written
// then is not written, the ones after it are not checked, and the error says
// why, so that Lambda retries the event.
func TestEventStopsAtTheCutoff(t *testing.T) {
	t.Parallel()
	ids := []string{"vpce-00000001", "vpce-00000002", "vpce-00000003"}
	ec2 := fakeec2.New(
		fakeec2.Endpoint(ids[0], logs, account, fullAccess),
		fakeec2.Endpoint(ids[1], logs, account, fullAccess),
		fakeec2.Endpoint(ids[2], logs, account, fullAccess))
	clock := fakeclock.New()
	ec2.BeforeCall(func(action, _ string) {
		if action == "DescribeVpcEndpoints" {
			clock.Advance(5 * time.Second) // the second Describe answers past the cutoff
		}
	})
	run := remediate.Run{Clock: clock, Cutoff: clock.Now().Add(8 * time.Second)}

	outcomes, res, err := handleRun(remediate.New(ec2, region, defaults(t)), context.Background(), modifyCall(ids...), run)
	if !errors.Is(err, remediate.ErrDeadlineNear) || !res.Stopped {
		t.Fatalf("error %v, result %+v; want ErrDeadlineNear and stopped", err, res)
	}
	want := []struct {
		action remediate.Action
		error  string
	}{
		{remediate.Rewritten, ""},
		{remediate.None, "not rewritten: the invocation's deadline was near"},
		{remediate.None, "not checked: the invocation's deadline was near"},
	}
	if len(outcomes) != len(want) {
		t.Fatalf("%d outcomes, want %d", len(outcomes), len(want))
	}
	for i, o := range outcomes {
		if o.EndpointID != ids[i] || o.Action != want[i].action || o.Error != want[i].error {
			t.Errorf("outcome %d: %s %s error %q, want %s %s error %q", i+1, o.EndpointID, o.Action, o.Error, ids[i], want[i].action, want[i].error)
		}
	}
	if ec2.Describes(ids[2]) != 0 || ec2.ModifyCalls() != 1 {
		t.Errorf("%d Describe of the third endpoint and %d writes, want 0 and 1", ec2.Describes(ids[2]), ec2.ModifyCalls())
	}
}

func TestPolicyHashesIgnoreFormatting(t *testing.T) {
	t.Parallel()
	compact := `{"Statement":[{"Effect":"Allow","Principal":"*","Action":["logs:PutLogEvents","logs:CreateLogStream"],"Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:app:*"}]}`
	spaced := "{\n  \"Statement\": {\"Resource\": [\"arn:aws:logs:eu-west-1:111122223333:log-group:app:*\"],\n \"Action\": [\"LOGS:CreateLogStream\", \"logs:PutLogEvents\"], \"Principal\": \"*\", \"Effect\": \"Allow\"}\n}"
	ec2 := fakeec2.New(
		fakeec2.Endpoint("vpce-00000001", logs, account, compact),
		fakeec2.Endpoint("vpce-00000002", logs, account, spaced))
	outcomes, err := handle(remediate.New(ec2, region, defaults(t)), context.Background(), modifyCall("vpce-00000001", "vpce-00000002"))
	if err != nil {
		t.Fatal(err)
	}
	a, b := outcomes[0], outcomes[1]
	if !strings.HasPrefix(a.PolicyBefore, "sha256:") || len(a.PolicyBefore) != len("sha256:")+64 {
		t.Errorf("policyBefore %q is not sha256:HEX", a.PolicyBefore)
	}
	if a.PolicyBefore != b.PolicyBefore {
		t.Errorf("the same policy hashes to %s and %s", a.PolicyBefore, b.PolicyBefore)
	}
}

func TestOutcomeJSONFields(t *testing.T) {
	t.Parallel()
	ec2 := fakeec2.New(fakeec2.Endpoint(endpointID, logs, account, fullAccess))
	ec2.FailModify(endpointID, errors.New("boom"))
	outcomes, _ := handle(remediate.New(ec2, region, defaults(t)), context.Background(), modifyCall(endpointID))
	data, err := json.Marshal(outcomes[0])
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(data, &fields); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	// A failed write still says what it would have written, and why.
	want := []string{"account", "action", "caller", "endpointId", "error", "eventId", "eventName", "policyAfter", "policyBefore",
		"proof", "reasons", "region", "rewrite", "serviceName", "verdict", "widens", "witnesses"}
	if !slices.Equal(keys, want) {
		t.Errorf("JSON fields %q, want %q", keys, want)
	}
	// A compliant outcome says reasons: [], never null.
	compliant := remediate.Outcome{Reasons: []string{}}
	if data, _ := json.Marshal(compliant); !strings.Contains(string(data), `"reasons":[]`) {
		t.Errorf("%s: want reasons as an empty list", data)
	}
}
