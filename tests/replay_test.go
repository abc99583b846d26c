package tests

import (
	"cmp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/lambda/policy"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
	"github.com/vpce-guard/vpce-guard/policytemplates"
	"github.com/vpce-guard/vpce-guard/tests/emulator"
)

// A replay scenario: a recorded call executed again against moto, its event
// (rewritten to carry moto's IDs) sent to the function under the Runtime
// Interface Emulator, then the endpoint's policy in moto and the outcomes
// checked.
type replayScenario struct {
	name    string // also the golden file, testdata/golden/NAME.json
	fixture string // testdata/events/FIXTURE
	// settings are the function's vpce-guard variables besides SELF_ROLE_ARN.
	settings map[string]string
	// existing, for a ModifyVpcEndpoint, is the policy of the Logs endpoint
	// the recorded call modifies: "template" or "" for AWS's default.
	existing string
	// existingTags are that endpoint's tags.
	existingTags map[string]string
	// deleteFirst deletes the endpoint after the replayed call, before the
	// event arrives.
	deleteFirst bool
	// unknownEndpoint sends the event as recorded without replaying the call:
	// its endpoint does not exist in moto, as one deleted long ago.
	unknownEndpoint bool

	verdict remediate.Verdict
	action  remediate.Action
	// rewritten: the policy is the template afterwards; otherwise it is what
	// the replayed call left.
	rewritten bool
	// narrowed: the policy afterwards is the narrow rewrite of what the
	// replayed call left: not the template, within it, and within the old.
	narrowed bool
}

var replayScenarios = []replayScenario{
	{name: "create-open-logs", fixture: "04-create-logs-no-policy.json",
		verdict: remediate.NonCompliant, action: remediate.Rewritten, rewritten: true},
	{name: "create-strict-logs", fixture: "01-create-logs-strict-policy.json",
		verdict: remediate.Compliant, action: remediate.None},
	{name: "modify-widens-logs", fixture: "modify-logs-widened.json", existing: "template",
		verdict: remediate.NonCompliant, action: remediate.Rewritten, rewritten: true},
	// The template was written before, and the owner, Terraform by its tag,
	// widened the policy again.
	{name: "modify-widens-logs-again", fixture: "modify-logs-widened.json", existing: "template",
		existingTags: map[string]string{config.RewrittenTagKey: "2026-11-30T08:00:00Z", "ManagedBy": "terraform"},
		verdict:      remediate.NonCompliant, action: remediate.Rewritten, rewritten: true},
	// The owner had narrowed the template and widened it elsewhere: the narrow
	// rewrite cuts what escapes and keeps the rest narrowed.
	{name: "modify-widens-logs-narrow", fixture: "modify-logs-app-groups-widened.json", existing: "template",
		settings: map[string]string{config.EnvRewrite: config.RewriteNarrow},
		verdict:  remediate.NonCompliant, action: remediate.Rewritten, narrowed: true},
	// Widened without narrowing anything: the narrow rewrite is the template.
	{name: "modify-widens-logs-narrow-is-template", fixture: "modify-logs-widened.json", existing: "template",
		settings: map[string]string{config.EnvRewrite: config.RewriteNarrow},
		verdict:  remediate.NonCompliant, action: remediate.Rewritten, rewritten: true},
	{name: "modify-by-vpce-guard", fixture: "modify-logs-by-vpce-guard.json",
		verdict: remediate.Compliant, action: remediate.None},
	{name: "dry-run", fixture: "04-create-logs-no-policy.json", settings: map[string]string{"DRY_RUN": "true"},
		verdict: remediate.NonCompliant, action: remediate.WouldRewrite},
	{name: "exempt-tag", fixture: "04-create-logs-no-policy-exempt.json",
		verdict: remediate.Exempt, action: remediate.None},
	{name: "create-s3-not-guarded", fixture: "01-create-s3-open-policy.json",
		verdict: remediate.Skipped, action: remediate.None},
	{name: "deleted-before-event", fixture: "04-create-logs-no-policy.json", deleteFirst: true,
		verdict: remediate.Skipped, action: remediate.None},
	{name: "gone-before-event", fixture: "04-create-logs-no-policy.json", unknownEndpoint: true,
		verdict: remediate.NotFound, action: remediate.None},
}

func TestReplay(t *testing.T) {
	t.Parallel()
	moto := emulator.SharedMoto(t)
	bootstrap := emulator.BuildBootstrap(t)
	for _, sc := range replayScenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			sc.run(t, moto, bootstrap)
		})
	}
}

func (sc replayScenario) run(t *testing.T, moto *emulator.Moto, bootstrap string) {
	ctx := t.Context()
	client := emulator.EC2Client(t, moto.URL, replayRegion)
	f := loadFixture(t, sc.fixture, replayRegion)
	template := renderFor(t, policytemplates.Logs, replayRegion)
	names := newNormalizer()
	names.policy(template, "logs template")
	names.policy(awsDefaultPolicy, "AWS default")

	// The recorded call, executed again.
	var r replayed
	n := newNetwork(t, ctx, client, replayRegion)
	switch name := str(f.record["eventName"]); {
	case sc.unknownEndpoint:
		r.recordedID = str(lookup(f.record, "responseElements", "CreateVpcEndpointResponse", "vpcEndpoint", "vpcEndpointId"))
		r.endpointID = r.recordedID
	case name == "CreateVpcEndpoint":
		r = replayCreate(t, ctx, client, n, f)
	case name == "ModifyVpcEndpoint":
		existing := ""
		if sc.existing == "template" {
			existing = template
		}
		names.policy(cmp.Or(existing, awsDefaultPolicy), "before the call")
		id := createEndpoint(t, ctx, client, n, "com.amazonaws."+replayRegion+".logs", existing, sc.existingTags)
		r = replayModify(t, ctx, client, id, f)
	default:
		t.Fatalf("%s: cannot replay %s", f.name, name)
	}
	names.id(r.endpointID, r.recordedID)
	names.policy(r.policy, "recorded")

	var before string
	if !sc.unknownEndpoint {
		before = endpointPolicy(t, ctx, client, r.endpointID)
		if r.policy != "" && !samePolicy(before, r.policy) {
			t.Fatalf("after the replayed call moto has %s, not the recorded policy %s", before, r.policy)
		}
		if r.policy == "" && !samePolicy(before, awsDefaultPolicy) {
			t.Fatalf("an endpoint created without a policy has %s in moto, not AWS's default", before)
		}
	}
	if sc.deleteFirst {
		if _, err := client.DeleteVpcEndpoints(ctx, &ec2.DeleteVpcEndpointsInput{VpcEndpointIds: []string{r.endpointID}}); err != nil {
			t.Fatal(err)
		}
	}

	// The event, as EventBridge would deliver it, to the function. The proxy
	// only counts the function's EC2 calls.
	proxy := emulator.StartFaultProxy(t, moto.URL)
	fn := emulator.StartLambda(t, bootstrap, functionEnv(proxy.URL, replayRegion, sc.settings))
	outcomes := invoke(t, ctx, fn, f.withIDs(r.ids))

	if len(outcomes) != 1 {
		t.Fatalf("%d outcomes, want 1: %+v", len(outcomes), outcomes)
	}
	o := outcomes[0]
	if o.EndpointID != r.endpointID || o.Verdict != sc.verdict || o.Action != sc.action || o.Error != "" {
		t.Errorf("outcome %s %s/%s (error %q), want %s %s/%s; reasons %q",
			o.EndpointID, o.Verdict, o.Action, o.Error, r.endpointID, sc.verdict, sc.action, o.Reasons)
	}
	writes, _ := proxy.Count("ModifyVpcEndpoint")
	if want := map[bool]int{true: 1, false: 0}[sc.rewritten || sc.narrowed]; writes != want {
		t.Errorf("the function wrote the policy %d times, want %d", writes, want)
	}
	if !sc.unknownEndpoint {
		after := endpointPolicy(t, ctx, client, r.endpointID)
		switch {
		case sc.rewritten && after != template:
			t.Errorf("policy after the event:\n%s\nwant the template:\n%s", after, template)
		case sc.narrowed:
			checkNarrowed(t, after, template, before, o)
		case !sc.rewritten && after != before:
			t.Errorf("policy after the event:\n%s\nwant it untouched:\n%s", after, before)
		}
		// A rewrite is recorded on the endpoint, for the next one to notice.
		recorded := ""
		for _, tag := range describeEndpoint(t, ctx, client, r.endpointID).Tags {
			if aws.ToString(tag.Key) == config.RewrittenTagKey {
				recorded = aws.ToString(tag.Value)
			}
		}
		if _, err := time.Parse(time.RFC3339, recorded); (sc.rewritten || sc.narrowed) && (err != nil || recorded == sc.existingTags[config.RewrittenTagKey]) {
			t.Errorf("after the rewrite the endpoint's tag %s is %q, want the time of this rewrite", config.RewrittenTagKey, recorded)
		}
		if !sc.rewritten && !sc.narrowed && recorded != "" {
			t.Errorf("the endpoint was tagged %s=%s without a rewrite", config.RewrittenTagKey, recorded)
		}
		if o.RecordError != "" {
			t.Errorf("the rewrite was not recorded: %s", o.RecordError)
		}
	}
	checkGolden(t, "replay-"+sc.name, names.golden(t, outcomes))
}

// checkNarrowed holds a narrow rewrite, as moto stored it, to its promise:
// compliant with the template (so its own Modify event writes nothing), no
// broader than the policy it replaced, and said so in the outcome.
func checkNarrowed(t *testing.T, after, template, before string, o remediate.Outcome) {
	t.Helper()
	if samePolicy(after, template) {
		t.Errorf("a narrow rewrite wrote the template: %s", o.RewriteFallback)
	}
	written, old, tmpl := parsePolicy(t, after), parsePolicy(t, before), parsePolicy(t, template)
	if v := policy.Check(written, tmpl, policy.Subset, "logs"); !v.Compliant {
		t.Errorf("the narrow rewrite is not within the template: %q", v.Reasons)
	}
	if v := policy.Check(written, old, policy.Subset, "logs"); !v.Compliant {
		t.Errorf("the narrow rewrite is broader than the old policy: %q", v.Reasons)
	}
	if o.Rewrite != config.RewriteNarrow || o.Widens == nil || len(*o.Widens) != 0 {
		t.Errorf("outcome rewrite %q, widens %v; want narrow, nothing", o.Rewrite, o.Widens)
	}
}
