package tests

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpce-guard/vpce-guard/lambda/handler"
	"github.com/vpce-guard/vpce-guard/lambda/policy"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
	"github.com/vpce-guard/vpce-guard/policytemplates"
	"github.com/vpce-guard/vpce-guard/tests/emulator"
)

const (
	// motoAccount is the account moto puts every resource in by default; the
	// fixtures' recorded accounts are rewritten to it.
	motoAccount = "123456789012"
	// replayRegion is where the replayed calls are made again; the fixtures'
	// recorded regions are rewritten to it.
	replayRegion = "eu-west-1"
	// selfRoleARN is vpce-guard's role as the function is told (SELF_ROLE_ARN)
	// and as the fixture of its own call names it, once rewritten.
	selfRoleARN = "arn:aws:iam::" + motoAccount + ":role/vpce-guard/VpceGuardFunctionRole"
)

// awsDefaultPolicy is the policy AWS, and moto, give an endpoint created
// without one.
const awsDefaultPolicy = `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`

// fixture is a recorded event from testdata/events, with its account and
// region already rewritten to moto's account and the test's region.
type fixture struct {
	name   string
	text   string
	record map[string]any // the CloudTrail record (the envelope's detail)
}

func loadFixture(t testing.TB, name, region string) *fixture {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	var envelope struct {
		Account string `json:"account"`
		Region  string `json:"region"`
	}
	if err := json.Unmarshal(data, &envelope); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	// Plain text replacement reaches every copy: the envelope, the record's
	// identity, ownerId (a JSON number), service names, ARNs inside policies.
	text := string(data)
	if envelope.Account != "" {
		text = strings.ReplaceAll(text, envelope.Account, motoAccount)
	}
	if envelope.Region != "" {
		text = strings.ReplaceAll(text, envelope.Region, region)
	}
	var event map[string]any
	if err := json.Unmarshal([]byte(text), &event); err != nil {
		t.Fatalf("%s after rewriting: %v", name, err)
	}
	record, _ := event["detail"].(map[string]any)
	return &fixture{name: name, text: text, record: record}
}

// withIDs is the event with the recorded resource IDs replaced by moto's.
func (f *fixture) withIDs(ids map[string]string) []byte {
	text := f.text
	// Longer IDs first, so that no ID is replaced inside a longer one.
	recorded := slices.SortedFunc(maps.Keys(ids), func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	for _, from := range recorded {
		text = strings.ReplaceAll(text, from, ids[from])
	}
	return []byte(text)
}

// lookup walks a decoded JSON object.
func lookup(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// texts reads a CloudTrail list of strings in any of its forms: a string, a
// {"tag", "content"} object, an array of those, or "" for none.
func texts(v any) []string {
	switch v := v.(type) {
	case string:
		if v == "" {
			return nil
		}
		return []string{v}
	case map[string]any:
		return texts(v["content"])
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, texts(e)...)
		}
		return out
	}
	return nil
}

// objects reads a CloudTrail list of objects: one object or an array.
func objects(v any) []map[string]any {
	switch v := v.(type) {
	case map[string]any:
		return []map[string]any{v}
	case []any:
		var out []map[string]any
		for _, e := range v {
			if m, ok := e.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

// network is a VPC with two subnets and a security group, made for one test.
type network struct {
	vpc           string
	subnets       []string
	securityGroup string
}

func newNetwork(t testing.TB, ctx context.Context, client *ec2.Client, region string) network {
	t.Helper()
	vpc, err := client.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	n := network{vpc: aws.ToString(vpc.Vpc.VpcId)}
	for i, zone := range []string{"a", "b"} {
		s, err := client.CreateSubnet(ctx, &ec2.CreateSubnetInput{
			VpcId:            vpc.Vpc.VpcId,
			CidrBlock:        aws.String(fmt.Sprintf("10.0.%d.0/24", i+1)),
			AvailabilityZone: aws.String(region + zone),
		})
		if err != nil {
			t.Fatal(err)
		}
		n.subnets = append(n.subnets, aws.ToString(s.Subnet.SubnetId))
	}
	sg, err := client.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		VpcId:       vpc.Vpc.VpcId,
		GroupName:   aws.String("endpoints-" + n.vpc),
		Description: aws.String("interface endpoints"),
	})
	if err != nil {
		t.Fatal(err)
	}
	n.securityGroup = aws.ToString(sg.GroupId)
	return n
}

// replayed is what executing a recorded call again produced.
type replayed struct {
	endpointID string            // moto's endpoint
	recordedID string            // the endpoint ID in the record
	policy     string            // the policy document the call set; "" for none
	ids        map[string]string // recorded ID -> moto's, to rewrite the event
}

// replayCreate executes a recorded CreateVpcEndpoint again, in n: the same
// service name, type, policy and tags; the record's VPC, subnets and
// security groups become n's.
func replayCreate(t testing.TB, ctx context.Context, client *ec2.Client, n network, f *fixture) replayed {
	t.Helper()
	req := lookup(f.record, "requestParameters", "CreateVpcEndpointRequest")
	if req == nil {
		t.Fatalf("%s: no requestParameters.CreateVpcEndpointRequest", f.name)
	}
	r := replayed{
		recordedID: str(lookup(f.record, "responseElements", "CreateVpcEndpointResponse", "vpcEndpoint", "vpcEndpointId")),
		policy:     str(lookup(req, "PolicyDocument")),
		ids:        map[string]string{},
	}
	in := &ec2.CreateVpcEndpointInput{
		VpcId:           aws.String(n.vpc),
		ServiceName:     aws.String(str(lookup(req, "ServiceName"))),
		VpcEndpointType: ec2types.VpcEndpointType(cmp.Or(str(lookup(req, "VpcEndpointType")), "Interface")),
	}
	if r.policy != "" {
		in.PolicyDocument = aws.String(r.policy)
	}
	if vpc := str(lookup(req, "VpcId")); vpc != "" {
		r.ids[vpc] = n.vpc
	}
	for i, s := range texts(lookup(req, "SubnetId")) {
		if i < len(n.subnets) {
			r.ids[s] = n.subnets[i]
			in.SubnetIds = append(in.SubnetIds, n.subnets[i])
		}
	}
	for _, g := range texts(lookup(req, "SecurityGroupId")) {
		r.ids[g] = n.securityGroup
		in.SecurityGroupIds = []string{n.securityGroup}
	}
	for _, spec := range objects(lookup(req, "TagSpecification")) {
		ts := ec2types.TagSpecification{ResourceType: ec2types.ResourceType(str(spec["ResourceType"]))}
		for _, tag := range objects(spec["Tag"]) {
			ts.Tags = append(ts.Tags, ec2types.Tag{Key: aws.String(str(tag["Key"])), Value: aws.String(str(tag["Value"]))})
		}
		in.TagSpecifications = append(in.TagSpecifications, ts)
	}
	out, err := client.CreateVpcEndpoint(ctx, in)
	if err != nil {
		t.Fatalf("%s: CreateVpcEndpoint again: %v", f.name, err)
	}
	r.endpointID = aws.ToString(out.VpcEndpoint.VpcEndpointId)
	r.ids[r.recordedID] = r.endpointID
	return r
}

// replayModify executes a recorded ModifyVpcEndpoint again, on endpointID.
func replayModify(t testing.TB, ctx context.Context, client *ec2.Client, endpointID string, f *fixture) replayed {
	t.Helper()
	req := lookup(f.record, "requestParameters", "ModifyVpcEndpointRequest")
	if req == nil {
		t.Fatalf("%s: no requestParameters.ModifyVpcEndpointRequest", f.name)
	}
	recorded := texts(lookup(req, "VpcEndpointId"))
	if len(recorded) != 1 {
		t.Fatalf("%s: VpcEndpointId %v, want one", f.name, recorded)
	}
	r := replayed{
		endpointID: endpointID,
		recordedID: recorded[0],
		policy:     str(lookup(req, "PolicyDocument")),
		ids:        map[string]string{recorded[0]: endpointID},
	}
	in := &ec2.ModifyVpcEndpointInput{VpcEndpointId: aws.String(endpointID)}
	if r.policy != "" {
		in.PolicyDocument = aws.String(r.policy)
	}
	if reset := lookup(req, "ResetPolicy"); reset == true || reset == "true" {
		// moto ignores ResetPolicy; writing the default policy is what AWS does.
		in.PolicyDocument = aws.String(awsDefaultPolicy)
		r.policy = awsDefaultPolicy
	}
	if _, err := client.ModifyVpcEndpoint(ctx, in); err != nil {
		t.Fatalf("%s: ModifyVpcEndpoint again: %v", f.name, err)
	}
	return r
}

// createEndpoint creates an interface endpoint for service in n with
// policyDoc ("" for none) and tags, for a test's starting state.
func createEndpoint(t testing.TB, ctx context.Context, client *ec2.Client, n network, service, policyDoc string, tags map[string]string) string {
	t.Helper()
	in := &ec2.CreateVpcEndpointInput{
		VpcId:           aws.String(n.vpc),
		ServiceName:     aws.String(service),
		VpcEndpointType: ec2types.VpcEndpointTypeInterface,
		SubnetIds:       n.subnets[:1],
	}
	if policyDoc != "" {
		in.PolicyDocument = aws.String(policyDoc)
	}
	in.TagSpecifications = tagSpecs(tags)
	out, err := client.CreateVpcEndpoint(ctx, in)
	if err != nil {
		t.Fatalf("CreateVpcEndpoint %s: %v", service, err)
	}
	return aws.ToString(out.VpcEndpoint.VpcEndpointId)
}

// tagSpecs tags a new endpoint; none for no tags.
func tagSpecs(tags map[string]string) []ec2types.TagSpecification {
	if len(tags) == 0 {
		return nil
	}
	spec := ec2types.TagSpecification{ResourceType: ec2types.ResourceTypeVpcEndpoint}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		spec.Tags = append(spec.Tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return []ec2types.TagSpecification{spec}
}

// describeEndpoint is the endpoint as moto has it now.
func describeEndpoint(t testing.TB, ctx context.Context, client *ec2.Client, id string) ec2types.VpcEndpoint {
	t.Helper()
	out, err := client.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{id}})
	if err != nil {
		t.Fatalf("DescribeVpcEndpoints %s: %v", id, err)
	}
	if len(out.VpcEndpoints) != 1 {
		t.Fatalf("DescribeVpcEndpoints %s: %d endpoints", id, len(out.VpcEndpoints))
	}
	return out.VpcEndpoints[0]
}

func endpointPolicy(t testing.TB, ctx context.Context, client *ec2.Client, id string) string {
	t.Helper()
	return aws.ToString(describeEndpoint(t, ctx, client, id).PolicyDocument)
}

// renderFor is the template name rendered for moto's account in region.
func renderFor(t testing.TB, name, region string) string {
	t.Helper()
	data, err := policytemplates.Render(name, policytemplates.Params{Region: region, AccountID: motoAccount})
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// policyHash is the hash vpce-guard reports for a policy: of the normalized
// document, of the raw text when it does not parse.
func policyHash(text string) string {
	data := []byte(text)
	if doc, err := policy.Parse(data); err == nil {
		data = doc.Normalize().JSON()
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// samePolicy reports whether two policies are the same document.
func samePolicy(a, b string) bool { return policyHash(a) == policyHash(b) }

// invoke sends event to fn and returns the outcomes it logged; the function
// must succeed, and its response must count them.
func invoke(t testing.TB, ctx context.Context, fn *emulator.Lambda, event []byte) []remediate.Outcome {
	t.Helper()
	status, body, log, err := fn.InvokeLogged(ctx, event)
	if err != nil {
		t.Fatal(err)
	}
	if fe, ok := emulator.ParseFunctionError(body); ok || status != http.StatusOK {
		t.Fatalf("invocation failed: HTTP %d, %s: %s\n%s", status, fe.ErrorType, fe.ErrorMessage, body)
	}
	var summary handler.Summary
	if err := json.Unmarshal(body, &summary); err != nil {
		t.Fatalf("the function's answer %s: %v", body, err)
	}
	outcomes := emulator.LoggedOutcomes(t, log)
	if summary.Outcomes != len(outcomes) {
		t.Fatalf("the response counts %d outcomes, the log has %d:\n%s", summary.Outcomes, len(outcomes), body)
	}
	return outcomes
}

// normalizer makes outcomes comparable across runs: moto's random endpoint
// IDs become the recorded ones, and known policy hashes get names.
type normalizer struct {
	ids    map[string]string // moto's ID -> stable name
	hashes map[string]string // hash -> "sha256:<name>"
}

func newNormalizer() *normalizer {
	return &normalizer{ids: map[string]string{}, hashes: map[string]string{}}
}

func (n *normalizer) id(moto, name string) { n.ids[moto] = name }

// policy names a policy's hash. The first name given to a hash stays: the
// template and AWS's default are named first, so a recorded policy that is
// one of them reads as such.
func (n *normalizer) policy(text, name string) {
	if h := policyHash(text); text != "" && n.hashes[h] == "" {
		n.hashes[h] = "sha256:<" + name + ">"
	}
}

// golden is the outcomes as a golden file holds them: indented JSON, one
// outcome after the other.
func (n *normalizer) golden(t testing.TB, outcomes []remediate.Outcome) []byte {
	t.Helper()
	out := make([]remediate.Outcome, len(outcomes))
	for i, o := range outcomes {
		o.EndpointID = cmp.Or(n.ids[o.EndpointID], o.EndpointID)
		o.PolicyBefore = cmp.Or(n.hashes[o.PolicyBefore], o.PolicyBefore)
		o.PolicyAfter = cmp.Or(n.hashes[o.PolicyAfter], o.PolicyAfter)
		for from, to := range n.ids {
			o.Error = strings.ReplaceAll(o.Error, from, to)
			for j, r := range o.Reasons {
				o.Reasons[j] = strings.ReplaceAll(r, from, to)
			}
		}
		out[i] = o
	}
	return goldenJSON(t, out)
}

// goldenJSON is indented JSON that keeps <, > and & as they are.
func goldenJSON(t testing.TB, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// functionEnv is the function's configuration for the emulator tests: moto
// (or a proxy in front of it) as EC2, the region, and vpce-guard's settings.
func functionEnv(ec2URL, region string, settings map[string]string) map[string]string {
	env := map[string]string{
		"AWS_REGION":           region,
		"AWS_ENDPOINT_URL_EC2": ec2URL,
		"SELF_ROLE_ARN":        selfRoleARN,
		// moto has no token bucket to spare; the pace is tested on a fake clock.
		"MAX_WRITES_PER_SECOND": "100",
	}
	maps.Copy(env, settings)
	return env
}

// parsePolicy parses a policy the test holds, failing the test if it cannot.
func parsePolicy(t testing.TB, text string) *policy.Document {
	t.Helper()
	doc, err := policy.Parse([]byte(text))
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	return doc
}
