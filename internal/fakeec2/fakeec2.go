// Package fakeec2 is an in-memory stand-in for the EC2 calls vpce-guard
// makes, DescribeVpcEndpoints, ModifyVpcEndpoint and CreateTags, for fast tests. It counts
// the calls, can fail them on demand and records how many writes overlapped.
// It is not an emulator: it knows only what vpce-guard's tests need.
package fakeec2

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpce-guard/vpce-guard/lambda/remediate"
)

// DefaultPolicy is the policy EC2 gives an endpoint created without one, and
// puts back on ResetPolicy.
const DefaultPolicy = `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`

// EC2 holds endpoints by ID. It is safe for concurrent use.
type EC2 struct {
	mu          sync.Mutex
	endpoints   map[string]types.VpcEndpoint
	describeErr map[string]error
	modifyErr   map[string]error
	tagErr      error
	overlap     chan struct{} // closed once enough writes are in flight at once
	overlapN    int
	beforeCall  func(action, id string)

	describeCalls int
	describes     map[string]int // by endpoint ID, for calls that name IDs
	listedNames   [][]string     // the service-name filter of each listing
	modifies      map[string]int
	tagCalls      []*ec2.CreateTagsInput
	inFlight      int
	maxInFlight   int
}

// New returns a fake holding the endpoints.
func New(endpoints ...types.VpcEndpoint) *EC2 {
	f := &EC2{
		endpoints:   map[string]types.VpcEndpoint{},
		describeErr: map[string]error{},
		modifyErr:   map[string]error{},
		describes:   map[string]int{},
		modifies:    map[string]int{},
	}
	for _, e := range endpoints {
		f.endpoints[aws.ToString(e.VpcEndpointId)] = e
	}
	return f
}

// Endpoint builds an available interface endpoint; an empty policy leaves
// PolicyDocument unset. tags are key, value pairs.
func Endpoint(id, serviceName, owner, policy string, tags ...string) types.VpcEndpoint {
	e := types.VpcEndpoint{
		VpcEndpointId:   aws.String(id),
		ServiceName:     aws.String(serviceName),
		OwnerId:         aws.String(owner),
		State:           "available", // EC2 answers in lower case, whatever its enum says
		VpcEndpointType: types.VpcEndpointTypeInterface,
	}
	if policy != "" {
		e.PolicyDocument = aws.String(policy)
	}
	for i := 0; i+1 < len(tags); i += 2 {
		e.Tags = append(e.Tags, types.Tag{Key: aws.String(tags[i]), Value: aws.String(tags[i+1])})
	}
	return e
}

// APIError is an error with an EC2 error code, read the way the SDK's
// smithy.APIError is, through its ErrorCode method.
func APIError(code, message string) error {
	return &apiError{code: code, message: message}
}

type apiError struct{ code, message string }

func (e *apiError) Error() string {
	return fmt.Sprintf("api error %s: %s", e.code, e.message)
}
func (e *apiError) ErrorCode() string    { return e.code }
func (e *apiError) ErrorMessage() string { return e.message }

// FailDescribe makes every DescribeVpcEndpoints that names id fail with err.
func (f *EC2) FailDescribe(id string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.describeErr[id] = err
}

// FailModify makes every ModifyVpcEndpoint of id fail with err.
func (f *EC2) FailModify(id string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.modifyErr[id] = err
}

// OverlapModifies holds each ModifyVpcEndpoint back until n are in flight at
// once, and none after that, so that a test sees whether writes can overlap
// without racing a timer. Fewer than n writes in all wait until their
// context ends.
func (f *EC2) OverlapModifies(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.overlap, f.overlapN = make(chan struct{}), n
}

// BeforeCall makes every call run hook first, outside the fake's lock, with
// the action's name and the endpoint ID it names ("" for a listing): a test
// can move a fake clock on there.
func (f *EC2) BeforeCall(hook func(action, id string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.beforeCall = hook
}

func (f *EC2) runHook(action, id string) {
	f.mu.Lock()
	hook := f.beforeCall
	f.mu.Unlock()
	if hook != nil {
		hook(action, id)
	}
}

// DescribeVpcEndpoints returns the endpoints named in VpcEndpointIds, failing
// with InvalidVpcEndpointId.NotFound if one is unknown as EC2 does, or else a
// page of every endpoint in ID order. The one filter supported is
// service-name, as EC2 reads it: the endpoints of any of the names given.
func (f *EC2) DescribeVpcEndpoints(ctx context.Context, in *ec2.DescribeVpcEndpointsInput, _ ...func(*ec2.Options)) (*ec2.DescribeVpcEndpointsOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.runHook("DescribeVpcEndpoints", strings.Join(in.VpcEndpointIds, ","))
	f.mu.Lock()
	defer f.mu.Unlock()
	f.describeCalls++
	var serviceNames []string
	for _, filter := range in.Filters {
		if aws.ToString(filter.Name) != "service-name" {
			return nil, APIError("InvalidParameterValue", "fakeec2: only the service-name filter is supported")
		}
		serviceNames = append(serviceNames, filter.Values...)
	}
	out := &ec2.DescribeVpcEndpointsOutput{}
	if len(in.VpcEndpointIds) > 0 {
		for _, id := range in.VpcEndpointIds {
			f.describes[id]++
			if err := f.describeErr[id]; err != nil {
				return nil, err
			}
			e, ok := f.endpoints[id]
			if !ok {
				return nil, APIError("InvalidVpcEndpointId.NotFound", fmt.Sprintf("The Vpc Endpoint Id '%s' does not exist", id))
			}
			out.VpcEndpoints = append(out.VpcEndpoints, copyEndpoint(e))
		}
		return out, nil
	}
	f.listedNames = append(f.listedNames, serviceNames)
	ids := slices.Sorted(maps.Keys(f.endpoints))
	if len(in.Filters) > 0 {
		ids = slices.DeleteFunc(ids, func(id string) bool {
			return !slices.Contains(serviceNames, aws.ToString(f.endpoints[id].ServiceName))
		})
	}
	start := 0
	if token := aws.ToString(in.NextToken); token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 || n > len(ids) {
			return nil, APIError("InvalidNextToken", "fakeec2: bad token")
		}
		start = n
	}
	limit := int(cmp.Or(aws.ToInt32(in.MaxResults), 1000))
	end := min(start+limit, len(ids))
	for _, id := range ids[start:end] {
		out.VpcEndpoints = append(out.VpcEndpoints, copyEndpoint(f.endpoints[id]))
	}
	if end < len(ids) {
		out.NextToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}

// ModifyVpcEndpoint sets or resets the policy of an endpoint.
func (f *EC2) ModifyVpcEndpoint(ctx context.Context, in *ec2.ModifyVpcEndpointInput, _ ...func(*ec2.Options)) (*ec2.ModifyVpcEndpointOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	id := aws.ToString(in.VpcEndpointId)
	f.runHook("ModifyVpcEndpoint", id)
	f.mu.Lock()
	f.modifies[id]++
	f.inFlight++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	overlap := f.overlap
	if overlap != nil && f.inFlight >= f.overlapN {
		close(overlap)
		f.overlap = nil
	}
	f.mu.Unlock()

	if overlap != nil {
		select {
		case <-overlap:
		case <-ctx.Done():
			f.mu.Lock()
			f.inFlight--
			f.mu.Unlock()
			return nil, ctx.Err()
		}
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	f.inFlight--
	if err := f.modifyErr[id]; err != nil {
		return nil, err
	}
	e, ok := f.endpoints[id]
	if !ok {
		return nil, APIError("InvalidVpcEndpointId.NotFound", fmt.Sprintf("The Vpc Endpoint Id '%s' does not exist", id))
	}
	switch {
	case aws.ToBool(in.ResetPolicy):
		e.PolicyDocument = aws.String(DefaultPolicy)
	case in.PolicyDocument != nil:
		e.PolicyDocument = aws.String(*in.PolicyDocument)
	}
	f.endpoints[id] = e
	return &ec2.ModifyVpcEndpointOutput{Return: aws.Bool(true)}, nil
}

// CreateTags sets tags on endpoints, replacing the value of a key they
// already have, as EC2 does.
func (f *EC2) CreateTags(ctx context.Context, in *ec2.CreateTagsInput, _ ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.runHook("CreateTags", strings.Join(in.Resources, ","))
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tagCalls = append(f.tagCalls, in)
	if f.tagErr != nil {
		return nil, f.tagErr
	}
	for _, id := range in.Resources {
		if _, ok := f.endpoints[id]; !ok {
			return nil, APIError("InvalidVpcEndpointId.NotFound", fmt.Sprintf("The Vpc Endpoint Id '%s' does not exist", id))
		}
	}
	for _, id := range in.Resources {
		e := f.endpoints[id]
		for _, t := range in.Tags {
			e.Tags = slices.DeleteFunc(slices.Clone(e.Tags), func(old types.Tag) bool { return aws.ToString(old.Key) == aws.ToString(t.Key) })
			e.Tags = append(e.Tags, t)
		}
		f.endpoints[id] = e
	}
	return &ec2.CreateTagsOutput{}, nil
}

// FailCreateTags makes every CreateTags fail with err.
func (f *EC2) FailCreateTags(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tagErr = err
}

// TagCalls are the CreateTags calls made, in order.
func (f *EC2) TagCalls() []*ec2.CreateTagsInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.tagCalls)
}

// DescribeCalls counts every DescribeVpcEndpoints call, pages included.
func (f *EC2) DescribeCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.describeCalls
}

// ListedServiceNames is the service-name filter of each DescribeVpcEndpoints
// call that named no endpoint ID, in order (nil for a call without filter).
func (f *EC2) ListedServiceNames() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.listedNames)
}

// Describes counts the DescribeVpcEndpoints calls that named id.
func (f *EC2) Describes(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.describes[id]
}

// ModifyCalls counts every ModifyVpcEndpoint call.
func (f *EC2) ModifyCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.modifies {
		n += c
	}
	return n
}

// Modifies counts the ModifyVpcEndpoint calls for id.
func (f *EC2) Modifies(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.modifies[id]
}

// MaxConcurrentModifies is the most ModifyVpcEndpoint calls seen in flight at once.
func (f *EC2) MaxConcurrentModifies() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maxInFlight
}

// Policy returns the endpoint's policy document, "" when it has none.
func (f *EC2) Policy(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return aws.ToString(f.endpoints[id].PolicyDocument)
}

// copyEndpoint keeps callers from changing the stored endpoint through shared slices.
func copyEndpoint(e types.VpcEndpoint) types.VpcEndpoint {
	e.Tags = slices.Clone(e.Tags)
	return e
}

// Members is a hub's view of an organization's member accounts: a fake EC2
// per "ACCOUNT/REGION"; an account without one has no member role. It
// implements remediate.Clients.
type Members map[string]*EC2

// MemberRoleName is the role Members says is missing.
const MemberRoleName = "VpceGuardMember"

// EC2 is the fake of account in region, or the error of an AssumeRole the
// account refuses.
func (m Members) EC2(_ context.Context, account, region string) (remediate.EC2, error) {
	if c, ok := m[account+"/"+region]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("assume the member role arn:aws:iam::%s:role/%s of account %s: api error AccessDenied", account, MemberRoleName, account)
}
