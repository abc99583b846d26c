package tests

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/vpce-guard/vpce-guard/infra/stack"
	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/lambda/handler"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
	"github.com/vpce-guard/vpce-guard/policytemplates"
	"github.com/vpce-guard/vpce-guard/tests/emulator"
	"github.com/vpce-guard/vpce-guard/tests/orgsim"
)

// The organization's regions: the first is the primary hub's.
var orgRegions = []string{"eu-west-1", "us-east-1"}

// jsiiMu keeps the tests from using jsii at once: its runtime cannot load
// the CDK's libraries in two goroutines together.
var jsiiMu sync.Mutex

// memberTemplates are the member stacks as the app synthesizes them for an
// organization org.
func memberTemplates(t *testing.T, org *orgsim.Org) stack.Member {
	t.Helper()
	jsiiMu.Lock()
	defer jsiiMu.Unlock()
	member, err := org.MemberTemplates(orgRegions)
	if err != nil {
		t.Fatal(err)
	}
	return member
}

// hubPattern is the hub bus rule's pattern, as the hub stack writes it.
func hubPattern(t *testing.T) string {
	t.Helper()
	pattern, err := json.Marshal(map[string]any{
		"source": []string{config.EventSource}, "detail-type": []string{config.EventDetailType},
		"detail": stack.EventDetail([]string{policytemplates.ServiceEvents, policytemplates.ServiceLogs}, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(pattern)
}

// hubEnv is the hub function's environment: every AWS call through proxy.
func hubEnv(proxyURL, region string, extra map[string]string) map[string]string {
	env := map[string]string{
		"AWS_REGION":            region,
		"AWS_ENDPOINT_URL":      proxyURL,
		"MEMBER_ROLE_NAME":      stack.MemberRoleName,
		"SELF_ROLE_ARN":         "arn:aws:iam::" + orgsim.HubAccount + ":role/" + stack.HubFunctionRoleName,
		"MAX_WRITES_PER_SECOND": "100",
	}
	maps.Copy(env, extra)
	return env
}

// modifyEvent is a CloudTrail ModifyVpcEndpoint record, as a member's default
// bus gets it, by caller (a session issuer role ARN; "" for an IAM user).
func modifyEvent(account, region, endpoint, issuer string) ebtypes.PutEventsRequestEntry {
	identity := map[string]any{"type": "IAMUser", "arn": "arn:aws:iam::" + account + ":user/alice", "accountId": account}
	if issuer != "" {
		identity = map[string]any{"type": "AssumedRole", "arn": "arn:aws:sts::" + account + ":assumed-role/x/y", "accountId": account,
			"sessionContext": map[string]any{"sessionIssuer": map[string]any{"type": "Role", "arn": issuer}}}
	}
	detail, _ := json.Marshal(map[string]any{
		"eventVersion": "1.09", "eventID": "ct-" + account + "-" + region + "-" + endpoint, "eventName": "ModifyVpcEndpoint",
		"eventSource": "ec2.amazonaws.com", "awsRegion": region, "recipientAccountId": account, "userIdentity": identity,
		"requestParameters": map[string]any{"ModifyVpcEndpointRequest": map[string]any{"VpcEndpointId": endpoint, "PolicyDocument": "{}"}},
		"responseElements":  map[string]any{"ModifyVpcEndpointResponse": map[string]any{"return": true}},
	})
	return ebtypes.PutEventsRequestEntry{Source: aws.String(config.EventSource), DetailType: aws.String(config.EventDetailType), Detail: aws.String(string(detail))}
}

// Endpoints in three member accounts and two regions are widened; the events
// go member rule -> hub bus -> hub function, which rewrites each endpoint in
// its own account and touches nothing else. The member role's own write is
// left out by the member rule. An account of the organization without the
// member stacks gets an error outcome for its endpoints, and only it.
func TestOrganizationEvents(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	moto := emulator.StartMoto(t)
	bootstrap := emulator.BuildBootstrap(t)
	org, outsiders, err := orgsim.Create(ctx, moto.URL, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	outsider := outsiders[0]
	if err := org.DeployMembers(ctx, memberTemplates(t, org), orgRegions); err != nil {
		t.Fatal(err)
	}
	proxy := emulator.StartFaultProxy(t, moto.URL)
	org.StrictSTS(proxy)

	// Two open endpoints per member account and region: the first is named
	// by an event, the second by none.
	type place struct{ account, region string }
	endpoints := map[place][]string{}
	for _, account := range append(slices.Clone(org.Members), outsider) {
		for _, region := range orgRegions {
			ids, err := org.Endpoints(ctx, account, region, 2, 2, "")
			if err != nil {
				t.Fatal(err)
			}
			endpoints[place{account, region}] = ids
		}
	}
	hubQueues := map[string]string{}
	for _, region := range orgRegions {
		if hubQueues[region], err = org.HubBus(ctx, region, hubPattern(t)); err != nil {
			t.Fatal(err)
		}
	}

	for p, ids := range endpoints {
		events := eventbridge.NewFromConfig(orgsim.Config(moto.URL, p.account, p.region))
		memberRole := "arn:aws:iam::" + p.account + ":role/" + stack.MemberRoleName
		entries := []ebtypes.PutEventsRequestEntry{
			modifyEvent(p.account, p.region, ids[0], ""),
			modifyEvent(p.account, p.region, ids[1], memberRole), // vpce-guard's own write: never forwarded
		}
		if p.account == outsider {
			// No member rule there: the account sends to the hub bus itself,
			// as the bus policy lets any account of the organization. moto
			// reads a bus ARN in the caller's own account, so the event is
			// put on the hub bus from the hub's side.
			events = eventbridge.NewFromConfig(orgsim.Config(moto.URL, orgsim.HubAccount, p.region))
			entries = entries[:1]
			entries[0].EventBusName = aws.String(stack.HubBusName)
		}
		if out, err := events.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries}); err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents in %v: %v, %+v", p, err, out)
		}
	}

	// The hub's function in each region gets what its bus delivered.
	outcomes := map[string]remediate.Outcome{}
	var failures []string
	for _, region := range orgRegions {
		fn := emulator.StartLambda(t, bootstrap, hubEnv(proxy.URL, region, nil))
		delivered, err := org.Receive(ctx, orgsim.HubAccount, region, hubQueues[region], 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(delivered) != len(org.Members)+1 {
			t.Errorf("%s: the hub bus delivered %d events, want one per member account and the outsider's: %d", region, len(delivered), len(org.Members)+1)
		}
		for _, event := range delivered {
			status, body, log, err := fn.InvokeLogged(ctx, []byte(event))
			if err != nil || status != http.StatusOK {
				t.Fatalf("invoke: %d %s %v", status, body, err)
			}
			if fe, failed := emulator.ParseFunctionError(body); failed {
				failures = append(failures, fe.ErrorType+": "+fe.ErrorMessage)
			}
			for _, o := range emulator.LoggedOutcomes(t, log) {
				outcomes[o.Account+"/"+o.Region+"/"+o.EndpointID] = o
			}
		}
	}

	for p, ids := range endpoints {
		policies, err := org.Policies(ctx, p.account, p.region)
		if err != nil {
			t.Fatal(err)
		}
		named := outcomes[p.account+"/"+p.region+"/"+ids[0]]
		template := renderForAccount(t, p.region, p.account)
		switch {
		case p.account == outsider:
			if named.Error == "" || !strings.Contains(named.Error, "role/"+stack.MemberRoleName+" of account "+outsider) || policies[ids[0]] == template {
				t.Errorf("the outsider's endpoint: %+v; want an error naming its account and role, and no change", named)
			}
		case named.Action != remediate.Rewritten || policies[ids[0]] != template:
			t.Errorf("%v: %s/%s (%s); want rewritten to its own account's template", p, named.Verdict, named.Action, named.Error)
		}
		if _, ok := outcomes[p.account+"/"+p.region+"/"+ids[1]]; ok || policies[ids[1]] == template {
			t.Errorf("%v: the endpoint no event named was touched", p)
		}
	}
	if len(failures) != len(orgRegions) || !strings.Contains(failures[0], outsider) {
		t.Errorf("failed invocations %q; want the outsider's only, once per region", failures)
	}
	// Each hub function assumed each member role once.
	assumed := map[string]int{}
	for _, r := range proxy.Requests() {
		if r.Action == "AssumeRole" && r.Status == http.StatusOK {
			assumed[r.Form.Get("RoleArn")]++
		}
	}
	for _, account := range org.Members {
		if n := assumed["arn:aws:iam::"+account+":role/"+stack.MemberRoleName]; n != len(orgRegions) {
			t.Errorf("member %s's role assumed %d times, want once per hub function: %d", account, n, len(orgRegions))
		}
	}
}

// The organization's sweep over 20 accounts x 2 regions x 25 endpoints: one
// unit per account and region on SQS, each run by the function as Lambda's
// event source mapping would; exactly the open endpoints rewritten, with one
// AssumeRole per account, one Describe page per account and region, one
// Modify per open endpoint. An account without the member role has its units
// fail, retried, and end in the failure queue, alone.
func TestOrganizationSweep(t *testing.T) {
	t.Parallel()
	const accounts, perRegion, open = 20, 25, 10
	ctx := t.Context()
	moto := emulator.StartMoto(t)
	bootstrap := emulator.BuildBootstrap(t)
	org, _, err := orgsim.Create(ctx, moto.URL, accounts, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := org.DeployMembers(ctx, memberTemplates(t, org), orgRegions); err != nil {
		t.Fatal(err)
	}
	// An account that joins the OU after the rollout, without its stacks
	// (moto does not deploy automatically, as StackSets would).
	late, err := org.Join(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, account := range org.Members {
		for _, region := range orgRegions {
			if _, err := org.Endpoints(ctx, account, region, perRegion, open, renderForAccount(t, region, account)); err != nil {
				t.Fatal(err)
			}
		}
	}
	queues := sqs.NewFromConfig(orgsim.Config(moto.URL, orgsim.HubAccount, orgRegions[0]))
	failedQueue, err := queues.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("failed-events")})
	if err != nil {
		t.Fatal(err)
	}
	failedAttrs, err := queues.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: failedQueue.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	// As the hub stack has it: a unit SQS gave out UnitMaxReceives times goes
	// to the failure queue.
	units, err := queues.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("sweep-units"), Attributes: map[string]string{
		"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":%d}`, failedAttrs.Attributes["QueueArn"], stack.UnitMaxReceives)}})
	if err != nil {
		t.Fatal(err)
	}

	proxy := emulator.StartFaultProxy(t, moto.URL)
	org.StrictSTS(proxy)
	fn := emulator.StartLambda(t, bootstrap, hubEnv(proxy.URL, orgRegions[0], map[string]string{
		"SWEEP_QUEUE_URL": aws.ToString(units.QueueUrl), "MEMBER_OUS": org.OU, "MEMBER_REGIONS": strings.Join(orgRegions, ","),
	}))
	status, body, _, err := fn.InvokeLogged(ctx, []byte(loadFixture(t, "scheduled-sweep.json", orgRegions[0]).text))
	var summary handler.Summary
	if err != nil || status != http.StatusOK || json.Unmarshal(body, &summary) != nil || summary.Units != (accounts+1)*len(orgRegions) {
		t.Fatalf("the scheduled sweep: %d %s %v; want %d units queued", status, body, err, (accounts+1)*len(orgRegions))
	}

	rewritten := 0
	ran, failed, err := orgsim.Drain(ctx, queues, aws.ToString(units.QueueUrl), func(event []byte) error {
		status, body, log, err := fn.InvokeLogged(ctx, event)
		if err != nil {
			return err
		}
		for _, o := range emulator.LoggedOutcomes(t, log) {
			if o.Action == remediate.Rewritten {
				rewritten++
			}
			if o.Error != "" {
				t.Errorf("%s/%s %s: %s", o.Account, o.Region, o.EndpointID, o.Error)
			}
		}
		if fe, failed := emulator.ParseFunctionError(body); failed || status != http.StatusOK {
			if !strings.Contains(fe.ErrorMessage, late) {
				t.Errorf("a unit failed: %d %s", status, body)
			}
			return fmt.Errorf("%s", fe.ErrorMessage)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	lateUnits := len(orgRegions) * stack.UnitMaxReceives
	if ran != accounts*len(orgRegions)+lateUnits || failed != lateUnits {
		t.Errorf("%d invocations, %d failed; want %d, of which the late account's %d", ran, failed, accounts*len(orgRegions)+lateUnits, lateUnits)
	}
	if rewritten != accounts*len(orgRegions)*open {
		t.Errorf("%d endpoints rewritten, want the %d open ones", rewritten, accounts*len(orgRegions)*open)
	}
	dead, err := org.Receive(ctx, orgsim.HubAccount, orgRegions[0], aws.ToString(failedQueue.QueueUrl), 10)
	if err != nil || len(dead) != len(orgRegions) || !strings.Contains(dead[0], late) {
		t.Errorf("the failure queue holds %q (%v); want the late account's %d units", dead, err, len(orgRegions))
	}

	counts := map[string]int{}
	assumed := map[string]int{}
	for _, r := range proxy.Requests() {
		if r.Status != http.StatusOK {
			continue
		}
		counts[r.Action]++
		if r.Action == "AssumeRole" {
			assumed[r.Form.Get("RoleArn")]++
		}
	}
	for _, account := range org.Members {
		if n := assumed["arn:aws:iam::"+account+":role/"+stack.MemberRoleName]; n != 1 {
			t.Errorf("member %s's role assumed %d times, want once", account, n)
		}
	}
	if counts["DescribeVpcEndpoints"] != accounts*len(orgRegions) || counts["ModifyVpcEndpoint"] != accounts*len(orgRegions)*open {
		t.Errorf("%d Describe and %d Modify calls; want one page per account and region (%d) and one write per open endpoint (%d)",
			counts["DescribeVpcEndpoints"], counts["ModifyVpcEndpoint"], accounts*len(orgRegions), accounts*len(orgRegions)*open)
	}
	t.Logf("calls: %v", counts)
	for _, account := range org.Members {
		for _, region := range orgRegions {
			template := renderForAccount(t, region, account)
			policies, err := org.Policies(ctx, account, region)
			if err != nil {
				t.Fatal(err)
			}
			for id, p := range policies {
				if p != template {
					t.Errorf("%s/%s %s holds %s, want its template", account, region, id, p)
				}
			}
		}
	}
}

// renderForAccount is the logs template of account in region.
func renderForAccount(t *testing.T, region, account string) string {
	t.Helper()
	text, err := policytemplates.Render(policytemplates.Logs, policytemplates.Params{Region: region, AccountID: account})
	if err != nil {
		t.Fatal(err)
	}
	return string(text)
}
