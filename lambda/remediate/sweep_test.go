package remediate_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpce-guard/vpce-guard/internal/fakeec2"
	"github.com/vpce-guard/vpce-guard/lambda/cloudtrail"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
	"github.com/vpce-guard/vpce-guard/policytemplates"
)

// mixedEndpoints returns n endpoints in five kinds, and the IDs of the
// non-compliant ones, which a sweep must rewrite and nothing else.
func mixedEndpoints(t testing.TB, n int) ([]types.VpcEndpoint, map[string]bool) {
	template := render(t, policytemplates.Logs, region)
	var endpoints []types.VpcEndpoint
	broader := map[string]bool{}
	for i := range n {
		id := fmt.Sprintf("vpce-%08x", i)
		var e types.VpcEndpoint
		switch i % 5 {
		case 0:
			e = fakeec2.Endpoint(id, logs, account, template)
		case 1:
			e = fakeec2.Endpoint(id, logs, account, narrower)
		case 2:
			e = fakeec2.Endpoint(id, logs, account, fullAccess)
			broader[id] = true
		case 3:
			e = fakeec2.Endpoint(id, logs, account, foreignGroups, "vpce-guard:exempt", "true")
		case 4:
			e = fakeec2.Endpoint(id, "com.amazonaws.eu-west-1.s3", account, fullAccess)
		}
		endpoints = append(endpoints, e)
	}
	return endpoints, broader
}

func TestSweepRewritesExactlyTheNonCompliant(t *testing.T) {
	t.Parallel()
	endpoints, broader := mixedEndpoints(t, 200)
	ec2 := fakeec2.New(endpoints...)
	ec2.SlowModify(2 * time.Millisecond) // so that writes overlap, if anything lets them
	cfg := defaults(t)
	cfg.SweepConcurrency = 4

	outcomes, err := remediate.New(ec2, region, cfg).HandleCall(context.Background(), cloudtrail.Call{EventID: "sched-1", Sweep: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(outcomes) != len(endpoints) {
		t.Fatalf("%d outcomes, want %d", len(outcomes), len(endpoints))
	}
	for _, o := range outcomes {
		wantModifies := 0
		if broader[o.EndpointID] {
			wantModifies = 1
			if o.Action != remediate.Rewritten {
				t.Errorf("%s: %s/%s, want rewritten", o.EndpointID, o.Verdict, o.Action)
			}
		}
		if got := ec2.Modifies(o.EndpointID); got != wantModifies {
			t.Errorf("%s (%s): %d writes, want %d", o.EndpointID, o.Verdict, got, wantModifies)
		}
		if o.EventID != "sched-1" || o.EventName != remediate.SweepEventName {
			t.Errorf("%s: labelled %q %q", o.EndpointID, o.EventID, o.EventName)
		}
	}
	if got := ec2.DescribeCalls(); got != 1 {
		t.Errorf("%d Describe calls for 200 endpoints, want one page and no Describe per endpoint", got)
	}
	if got := ec2.MaxConcurrentModifies(); got > cfg.SweepConcurrency || got < 2 {
		t.Errorf("%d writes in flight at most, want between 2 and %d", got, cfg.SweepConcurrency)
	}
}

func TestSweepPagesThroughEveryEndpoint(t *testing.T) {
	t.Parallel()
	endpoints, broader := mixedEndpoints(t, 2345)
	ec2 := fakeec2.New(endpoints...)
	cfg := defaults(t)
	cfg.DryRun = true
	outcomes, err := remediate.New(ec2, region, cfg).Sweep(context.Background(), remediate.Origin{EventName: "audit"})
	if err != nil {
		t.Fatal(err)
	}
	if len(outcomes) != len(endpoints) {
		t.Fatalf("%d outcomes, want %d", len(outcomes), len(endpoints))
	}
	would := 0
	for i, o := range outcomes {
		if o.EndpointID != *endpoints[i].VpcEndpointId {
			t.Fatalf("outcome %d is %s, want the listing's order", i, o.EndpointID)
		}
		if o.Action == remediate.WouldRewrite {
			would++
		}
	}
	if would != len(broader) || ec2.ModifyCalls() != 0 {
		t.Errorf("%d would be rewritten and %d were written, want %d and 0", would, ec2.ModifyCalls(), len(broader))
	}
	if got := ec2.DescribeCalls(); got != 3 {
		t.Errorf("%d Describe calls, want 3 pages of at most 1000", got)
	}
}

func TestSweepReportsAListingError(t *testing.T) {
	t.Parallel()
	ec2 := fakeec2.New(fakeec2.Endpoint(endpointID, logs, account, fullAccess))
	// The fake refuses filters; a listing error is all this needs.
	failing := listFailure{ec2}
	outcomes, err := remediate.New(failing, region, defaults(t)).Sweep(context.Background(), remediate.Origin{})
	if err == nil || !strings.Contains(err.Error(), "list vpc endpoints: missing permission ec2:DescribeVpcEndpoints") {
		t.Errorf("error %v, want the listing's, naming the permission", err)
	}
	if len(outcomes) != 0 {
		t.Errorf("outcomes %+v, want none", outcomes)
	}
}
