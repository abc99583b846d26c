package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/vpce-guard/vpce-guard/lambda/handler"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
	"github.com/vpce-guard/vpce-guard/policytemplates"
	"github.com/vpce-guard/vpce-guard/tests/emulator"
)

// sweepRegion is the region swept. The sweep lists every endpoint of its
// region, and moto keeps deleted endpoints listed for good, so the sweep has
// a moto of its own: no other test, and no earlier run under -count, may
// have endpoints there.
const sweepRegion = "ap-southeast-2"

// sweepEndpoints is how many endpoints the sweep finds.
const sweepEndpoints = 200

// A kind of endpoint in the swept region, and what the sweep must do to it.
type sweepKind struct {
	name      string
	service   string // the last part of the service name
	policy    string // "" for none (AWS's default)
	tags      map[string]string
	deleted   bool
	unlisted  bool // not a guarded service: the sweep does not even list it
	verdict   remediate.Verdict
	action    remediate.Action
	rewritten string // the template the policy must be afterwards; "" for untouched
}

func sweepKinds(region string) []sweepKind {
	strict := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*",`+
		`"Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":"arn:aws:logs:%s:%s:log-group:app-*:*"}]}`, region, motoAccount)
	widened := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"arn:aws:logs:*:*:log-group:*"}]}`
	exempt := map[string]string{"vpce-guard:exempt": "true", "team": "data"}
	return []sweepKind{
		{name: "logs-default", service: "logs", verdict: remediate.NonCompliant, action: remediate.Rewritten, rewritten: policytemplates.Logs},
		{name: "logs-template", service: "logs", policy: "template", verdict: remediate.Compliant, action: remediate.None},
		{name: "logs-strict", service: "logs", policy: strict, verdict: remediate.Compliant, action: remediate.None},
		{name: "logs-widened", service: "logs", policy: widened, verdict: remediate.NonCompliant, action: remediate.Rewritten, rewritten: policytemplates.Logs},
		{name: "logs-default-exempt", service: "logs", tags: exempt, verdict: remediate.Exempt, action: remediate.None},
		{name: "events-default", service: "events", verdict: remediate.NonCompliant, action: remediate.Rewritten, rewritten: policytemplates.Events},
		{name: "eventsv2-default", service: "eventsv2", verdict: remediate.NonCompliant, action: remediate.Rewritten, rewritten: policytemplates.Events},
		{name: "syslog-default", service: "syslog-logs", verdict: remediate.NonCompliant, action: remediate.Rewritten, rewritten: policytemplates.Syslog},
		{name: "s3-default", service: "s3", unlisted: true},
		{name: "logs-default-deleted", service: "logs", deleted: true, verdict: remediate.Skipped, action: remediate.None},
	}
}

// A scheduled sweep over 200 endpoints of mixed kinds rewrites exactly the
// non-compliant ones, and leaves every other policy as it was.
func TestReplaySweep(t *testing.T) {
	t.Parallel()
	moto := emulator.StartMoto(t)
	bootstrap := emulator.BuildBootstrap(t)
	ctx := t.Context()
	client := emulator.EC2Client(t, moto.URL, sweepRegion)
	n := newNetwork(t, ctx, client, sweepRegion)
	kinds := sweepKinds(sweepRegion)
	logsTemplate := renderFor(t, policytemplates.Logs, sweepRegion)
	templates := map[string]string{
		policytemplates.Logs:   logsTemplate,
		policytemplates.Events: renderFor(t, policytemplates.Events, sweepRegion),
		policytemplates.Syslog: renderFor(t, policytemplates.Syslog, sweepRegion),
	}

	start := time.Now()
	kindOf, before := createSweepEndpoints(t, ctx, client, n, kinds, logsTemplate, sweepEndpoints)
	t.Logf("created %d endpoints in %v", len(kindOf), time.Since(start).Round(time.Millisecond))

	proxy := emulator.StartFaultProxy(t, moto.URL)
	fn := emulator.StartLambda(t, bootstrap, functionEnv(proxy.URL, sweepRegion, nil))
	f := loadFixture(t, "scheduled-sweep.json", sweepRegion)
	start = time.Now()
	outcomes := invoke(t, ctx, fn, []byte(f.text))
	t.Logf("swept in %v", time.Since(start).Round(time.Millisecond))

	listed, wantWrites := 0, 0
	for _, k := range kindOf {
		if !k.unlisted {
			listed++
		}
		if k.rewritten != "" {
			wantWrites++
		}
	}
	if len(outcomes) != listed {
		t.Fatalf("%d outcomes, want one per endpoint of a guarded service, %d", len(outcomes), listed)
	}
	seen := map[string]bool{}
	for _, o := range outcomes {
		k, ok := kindOf[o.EndpointID]
		if !ok || seen[o.EndpointID] || k.unlisted {
			t.Errorf("outcome for %s: unknown, repeated or unlisted endpoint", o.EndpointID)
			continue
		}
		seen[o.EndpointID] = true
		if o.Verdict != k.verdict || o.Action != k.action || o.Error != "" {
			t.Errorf("%s (%s): %s/%s (error %q), want %s/%s; reasons %q", o.EndpointID, k.name, o.Verdict, o.Action, o.Error, k.verdict, k.action, o.Reasons)
		}
	}
	if writes, _ := proxy.Count("ModifyVpcEndpoint"); writes != wantWrites {
		t.Errorf("%d writes, want exactly one per non-compliant endpoint: %d", writes, wantWrites)
	}
	// A write sets the policy and nothing else: no ResetPolicy, DNS,
	// subnets, security groups or route tables, which the role is denied.
	for _, r := range proxy.Requests() {
		if r.Action != "ModifyVpcEndpoint" {
			continue
		}
		for key := range r.Form {
			if key != "Action" && key != "Version" && key != "VpcEndpointId" && key != "PolicyDocument" {
				t.Errorf("a write sent %s=%q", key, r.Form.Get(key))
			}
		}
	}

	// Every policy, as moto has it now.
	out, err := client.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range out.VpcEndpoints {
		id, now := aws.ToString(e.VpcEndpointId), aws.ToString(e.PolicyDocument)
		k, ok := kindOf[id]
		if !ok {
			t.Errorf("an endpoint nobody created in the sweep's region: %s", id)
			continue
		}
		switch {
		case k.rewritten != "" && now != templates[k.rewritten]:
			t.Errorf("%s (%s) has %s, want the %s template", id, k.name, now, k.rewritten)
		case k.rewritten == "" && now != before[id]:
			t.Errorf("%s (%s) was changed to %s; want it untouched", id, k.name, now)
		}
	}

	checkGolden(t, "sweep", sweepGolden(t, outcomes, kindOf, kinds, templates))
}

// createSweepEndpoints creates count endpoints, the kinds in turn, a few at
// a time. It returns each endpoint's kind and policy.
func createSweepEndpoints(t *testing.T, ctx context.Context, client *ec2.Client, n network, kinds []sweepKind, logsTemplate string, count int) (map[string]sweepKind, map[string]string) {
	t.Helper()
	kindOf := make(map[string]sweepKind, count)
	before := make(map[string]string, count)
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				k := kinds[i%len(kinds)]
				doc := k.policy
				if doc == "template" {
					doc = logsTemplate
				}
				service := "com.amazonaws." + sweepRegion + "." + k.service
				in := &ec2.CreateVpcEndpointInput{VpcId: aws.String(n.vpc), ServiceName: aws.String(service), VpcEndpointType: "Interface"}
				if doc != "" {
					in.PolicyDocument = aws.String(doc)
				}
				in.TagSpecifications = tagSpecs(k.tags)
				created, err := client.CreateVpcEndpoint(ctx, in)
				if err != nil {
					t.Error(err)
					continue
				}
				id := aws.ToString(created.VpcEndpoint.VpcEndpointId)
				if k.deleted {
					if _, err := client.DeleteVpcEndpoints(ctx, &ec2.DeleteVpcEndpointsInput{VpcEndpointIds: []string{id}}); err != nil {
						t.Error(err)
					}
				}
				mu.Lock()
				kindOf[id], before[id] = k, aws.ToString(created.VpcEndpoint.PolicyDocument)
				mu.Unlock()
			}
		})
	}
	for i := range count {
		next <- i
	}
	close(next)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return kindOf, before
}

// sweepGolden is the sweep's outcomes, one per kind of endpoint with how many
// endpoints had it: the endpoint ID becomes the kind's name.
func sweepGolden(t *testing.T, outcomes []remediate.Outcome, kindOf map[string]sweepKind, kinds []sweepKind, templates map[string]string) []byte {
	t.Helper()
	names := newNormalizer()
	for name, text := range templates {
		names.policy(text, name+" template")
	}
	names.policy(awsDefaultPolicy, "AWS default")
	for _, k := range kinds {
		if strings.HasPrefix(k.policy, "{") {
			names.policy(k.policy, k.name)
		}
	}
	for id, k := range kindOf {
		names.id(id, "vpce-<"+k.name+">")
	}
	type group struct {
		Count   int             `json:"count"`
		Outcome json.RawMessage `json:"outcome"`
	}
	kinds = slices.DeleteFunc(slices.Clone(kinds), func(k sweepKind) bool { return k.unlisted })
	groups := make([]group, len(kinds))
	index := map[string]int{}
	for i, k := range kinds {
		index[k.name] = i
	}
	for _, o := range outcomes {
		i := index[kindOf[o.EndpointID].name]
		var one []json.RawMessage
		if err := json.Unmarshal(names.golden(t, []remediate.Outcome{o}), &one); err != nil {
			t.Fatal(err)
		}
		switch {
		case groups[i].Count == 0:
			groups[i].Outcome = one[0]
		case string(groups[i].Outcome) != string(one[0]):
			t.Errorf("endpoints of kind %s have different outcomes:\n%s\n%s", kinds[i].name, groups[i].Outcome, one[0])
		}
		groups[i].Count++
	}
	return goldenJSON(t, groups)
}

// A sweep longer than its invocation stops before the deadline and ends
// successfully: every endpoint listed has its outcome line (rewritten, or not
// rewritten for the deadline), every endpoint it reports rewritten holds the
// template and every other its old policy, and the next sweep finishes the
// rest. Each write takes half a second, one at a time, in a 20 s invocation
// whose margin is 2 s: about 36 writes fit, 60 are needed.
func TestReplaySweepStopsBeforeTheDeadline(t *testing.T) {
	t.Parallel()
	const endpoints = 60
	moto := emulator.StartMoto(t)
	bootstrap := emulator.BuildBootstrap(t)
	ctx := t.Context()
	client := emulator.EC2Client(t, moto.URL, sweepRegion)
	n := newNetwork(t, ctx, client, sweepRegion)
	logsTemplate := renderFor(t, policytemplates.Logs, sweepRegion)
	createSweepEndpoints(t, ctx, client, n, []sweepKind{{name: "logs-default", service: "logs"}}, logsTemplate, endpoints)

	proxy := emulator.StartFaultProxy(t, moto.URL)
	proxy.Inject("ModifyVpcEndpoint", emulator.Slow(500*time.Millisecond), -1)
	fn := emulator.StartLambda(t, bootstrap, functionEnv(proxy.URL, sweepRegion, map[string]string{
		"AWS_LAMBDA_FUNCTION_TIMEOUT": "20", "SWEEP_CONCURRENCY": "1"}))
	sweep := []byte(loadFixture(t, "scheduled-sweep.json", sweepRegion).text)
	status, body, log, err := fn.InvokeLogged(ctx, sweep)
	if err != nil {
		t.Fatal(err)
	}
	var summary handler.Summary
	if err := json.Unmarshal(body, &summary); status != http.StatusOK || err != nil || !summary.Stopped || summary.Unlisted {
		t.Fatalf("the sweep answered HTTP %d %s (%v); want success, stopped before the deadline with nothing unlisted", status, body, err)
	}
	outcomes := emulator.LoggedOutcomes(t, log)
	rewritten := map[string]bool{}
	seen := map[string]bool{}
	for _, o := range outcomes {
		seen[o.EndpointID] = true
		switch {
		case o.Action == remediate.Rewritten && o.Error == "":
			rewritten[o.EndpointID] = true
		case o.Error == "not rewritten: the invocation's deadline was near" && o.Verdict == remediate.NonCompliant:
		default:
			t.Errorf("%s: %s/%s error %q, want rewritten or not rewritten for the deadline", o.EndpointID, o.Verdict, o.Action, o.Error)
		}
	}
	if len(outcomes) != endpoints || len(seen) != endpoints || len(rewritten) == 0 || len(rewritten) == endpoints {
		t.Fatalf("%d outcome lines for %d endpoints, %d rewritten; want one line each, some rewritten and some not", len(outcomes), len(seen), len(rewritten))
	}
	if writes, _ := proxy.Count("ModifyVpcEndpoint"); writes != len(rewritten) {
		t.Errorf("%d writes sent, %d reported: every write must have its outcome", writes, len(rewritten))
	}
	t.Logf("the first sweep rewrote %d of %d endpoints and stopped", len(rewritten), endpoints)
	assertPolicies(t, ctx, client, func(id string) bool { return rewritten[id] }, logsTemplate)

	// The next sweep, with EC2 answering at once, finishes the rest.
	next := emulator.StartLambda(t, bootstrap, functionEnv(moto.URL, sweepRegion, nil))
	counts := map[remediate.Action]int{}
	for _, o := range invoke(t, ctx, next, sweep) {
		counts[o.Action]++
		if o.Action == remediate.Rewritten == rewritten[o.EndpointID] {
			t.Errorf("%s: %s by the next sweep; rewritten by the first: %v", o.EndpointID, o.Action, rewritten[o.EndpointID])
		}
	}
	if counts[remediate.Rewritten] != endpoints-len(rewritten) || counts[remediate.None] != len(rewritten) {
		t.Errorf("the next sweep: %v; want %d rewritten and %d left alone", counts, endpoints-len(rewritten), len(rewritten))
	}
	assertPolicies(t, ctx, client, func(string) bool { return true }, logsTemplate)
}

// assertPolicies checks every endpoint of the sweep's region: those for which
// templated says so hold the template, the others AWS's default.
func assertPolicies(t *testing.T, ctx context.Context, client *ec2.Client, templated func(id string) bool, template string) {
	t.Helper()
	out, err := client.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range out.VpcEndpoints {
		id, now := aws.ToString(e.VpcEndpointId), aws.ToString(e.PolicyDocument)
		want := awsDefaultPolicy
		if templated(id) {
			want = template
		}
		if !samePolicy(now, want) {
			t.Errorf("%s holds\n%s\nwant\n%s", id, now, want)
		}
	}
}
