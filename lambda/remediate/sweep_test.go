package remediate_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpce-guard/vpce-guard/internal/fakeclock"
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

// guarded counts the endpoints a sweep lists: those of guarded services.
func guarded(endpoints []types.VpcEndpoint) int {
	n := 0
	for _, e := range endpoints {
		if _, _, ok := policytemplates.TemplateFor(*e.ServiceName, policytemplates.Options{}); ok {
			n++
		}
	}
	return n
}

func TestSweepRewritesExactlyTheNonCompliant(t *testing.T) {
	t.Parallel()
	endpoints, broader := mixedEndpoints(t, 200)
	ec2 := fakeec2.New(endpoints...)
	ec2.OverlapModifies(2) // the first write waits for a second one: it comes if anything lets writes overlap
	cfg := defaults(t)
	cfg.SweepConcurrency = 4

	outcomes, err := handle(remediate.New(ec2, region, cfg), context.Background(), cloudtrail.Call{EventID: "sched-1", Sweep: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := guarded(endpoints); len(outcomes) != want {
		t.Fatalf("%d outcomes, want one per endpoint of a guarded service, %d", len(outcomes), want)
	}
	seen := map[string]bool{}
	for _, o := range outcomes {
		if seen[o.EndpointID] {
			t.Errorf("%s: two outcomes", o.EndpointID)
		}
		seen[o.EndpointID] = true
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

// The listing asks EC2 for the guarded services' endpoints only, in every
// form of their names.
func TestSweepListsOnlyTheGuardedServices(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		region   string
		services []string
		want     []string
	}{
		{"eu-west-1", nil, []string{
			"com.amazonaws.eu-west-1.events", "com.amazonaws.eu-west-1.events-fips",
			"com.amazonaws.eu-west-1.eventsv2", "com.amazonaws.eu-west-1.eventsv2-fips",
			"com.amazonaws.eu-west-1.logs", "com.amazonaws.eu-west-1.logs-fips",
			"com.amazonaws.eu-west-1.stream-logs", "com.amazonaws.eu-west-1.stream-logs-fips",
			"com.amazonaws.eu-west-1.syslog-logs"}},
		{"eu-west-1", []string{policytemplates.ServiceEvents}, []string{
			"com.amazonaws.eu-west-1.events", "com.amazonaws.eu-west-1.events-fips",
			"com.amazonaws.eu-west-1.eventsv2", "com.amazonaws.eu-west-1.eventsv2-fips"}},
		{"cn-north-1", []string{policytemplates.ServiceEvents}, []string{
			"cn.com.amazonaws.cn-north-1.events", "cn.com.amazonaws.cn-north-1.events-fips",
			"cn.com.amazonaws.cn-north-1.eventsv2", "cn.com.amazonaws.cn-north-1.eventsv2-fips",
			"com.amazonaws.cn-north-1.events", "com.amazonaws.cn-north-1.events-fips",
			"com.amazonaws.cn-north-1.eventsv2", "com.amazonaws.cn-north-1.eventsv2-fips"}},
	} {
		ec2 := fakeec2.New()
		cfg := defaults(t)
		cfg.Templates.Services = tc.services
		if _, err := sweep(remediate.New(ec2, tc.region, cfg), context.Background(), remediate.Origin{}); err != nil {
			t.Fatal(err)
		}
		if got := ec2.ListedServiceNames(); len(got) != 1 || !slices.Equal(got[0], tc.want) {
			t.Errorf("%s %v: listed with service names %q, want %q", tc.region, tc.services, got, tc.want)
		}
	}
}

func TestSweepPagesThroughEveryEndpoint(t *testing.T) {
	t.Parallel()
	endpoints, broader := mixedEndpoints(t, 2345)
	ec2 := fakeec2.New(endpoints...)
	cfg := defaults(t)
	cfg.DryRun = true
	outcomes, err := sweep(remediate.New(ec2, region, cfg), context.Background(), remediate.Origin{EventName: "audit"})
	if err != nil {
		t.Fatal(err)
	}
	want := guarded(endpoints)
	if len(outcomes) != want {
		t.Fatalf("%d outcomes, want %d", len(outcomes), want)
	}
	would := 0
	seen := map[string]bool{}
	for _, o := range outcomes {
		seen[o.EndpointID] = true
		if o.Action == remediate.WouldRewrite {
			would++
		}
	}
	if len(seen) != want {
		t.Errorf("%d endpoints have an outcome, want %d", len(seen), want)
	}
	if would != len(broader) || ec2.ModifyCalls() != 0 {
		t.Errorf("%d would be rewritten and %d were written, want %d and 0", would, ec2.ModifyCalls(), len(broader))
	}
	if pages := (want + 999) / 1000; ec2.DescribeCalls() != pages {
		t.Errorf("%d Describe calls, want %d pages of at most 1000", ec2.DescribeCalls(), pages)
	}
}

// An endpoint whose write always fails (a service control policy refusing
// it, say) is reported in its outcome; the sweep goes on and succeeds, so
// that it does not fail every day for one endpoint.
func TestSweepFailsPerEndpoint(t *testing.T) {
	t.Parallel()
	endpoints, broader := mixedEndpoints(t, 50)
	ec2 := fakeec2.New(endpoints...)
	var refused string
	for id := range broader {
		refused = id
		break
	}
	ec2.FailModify(refused, fakeec2.APIError("UnauthorizedOperation", "explicit deny in a service control policy"))
	ec2.FailDescribe(refused, fakeec2.APIError("InternalError", "a sweep must not describe endpoints one by one"))

	outcomes, res, err := handleRun(remediate.New(ec2, region, defaults(t)), context.Background(), cloudtrail.Call{Sweep: true}, remediate.Run{})
	if err != nil || res.Stopped {
		t.Fatalf("sweep: %v, %+v; want success", err, res)
	}
	failed := 0
	for _, o := range outcomes {
		switch {
		case o.EndpointID == refused:
			failed++
			if o.Verdict != remediate.NonCompliant || o.Action != remediate.None ||
				!strings.Contains(o.Error, "missing permission ec2:ModifyVpcEndpoint") {
				t.Errorf("refused endpoint: %+v, want noncompliant/none naming the permission", o)
			}
		case o.Error != "":
			t.Errorf("%s failed too: %s", o.EndpointID, o.Error)
		case broader[o.EndpointID] && o.Action != remediate.Rewritten:
			t.Errorf("%s: %s/%s, want rewritten", o.EndpointID, o.Verdict, o.Action)
		}
	}
	if failed != 1 || len(outcomes) != guarded(endpoints) {
		t.Errorf("%d outcomes, %d failed; want %d and 1", len(outcomes), failed, guarded(endpoints))
	}
}

// A sweep that reaches its cutoff stops there: what was checked before has
// its outcome, the rest of the page gets "not checked", and later pages are
// left to the next sweep.
func TestSweepStopsAtTheCutoff(t *testing.T) {
	t.Parallel()
	endpoints, _ := mixedEndpoints(t, 3750) // 3,000 of guarded services: three pages
	ec2 := fakeec2.New(endpoints...)
	clock := fakeclock.New()
	// Each page takes six seconds to list; the run may start work for ten.
	ec2.BeforeCall(func(action, _ string) {
		if action == "DescribeVpcEndpoints" {
			clock.Advance(6 * time.Second)
		}
	})
	cfg := defaults(t)
	cfg.DryRun = true
	run := remediate.Run{Clock: clock, Cutoff: clock.Now().Add(10 * time.Second)}

	outcomes, res, err := handleRun(remediate.New(ec2, region, cfg), context.Background(), cloudtrail.Call{Sweep: true}, run)
	if err != nil {
		t.Fatalf("a stopped sweep ends successfully; got %v", err)
	}
	if !res.Stopped || !res.Unlisted || ec2.DescribeCalls() != 2 {
		t.Errorf("result %+v after %d pages, want stopped with the third page unlisted", res, ec2.DescribeCalls())
	}
	counts := map[string]int{}
	for i, o := range outcomes {
		switch {
		case o.Error == "" && i < 1000:
			counts["checked"]++
		case o.Error == "not checked: the invocation's deadline was near" && i >= 1000:
			counts["not checked"]++
			if !strings.HasPrefix(o.ServiceName, "com.amazonaws.") || o.Verdict != remediate.Skipped {
				t.Errorf("not checked: %+v, want its service named and no verdict", o)
			}
		default:
			t.Errorf("outcome %d: %s error %q", i+1, o.EndpointID, o.Error)
		}
	}
	if counts["checked"] != 1000 || counts["not checked"] != 1000 {
		t.Errorf("%v, want the first page checked and the second not", counts)
	}
}

// Writes are paced by MaxWritesPerSecond, and the checks do not wait for
// them; the writes whose turn would come after the cutoff are not started.
func TestWritesArePaced(t *testing.T) {
	t.Parallel()
	endpoints, broader := mixedEndpoints(t, 100)
	ec2 := fakeec2.New(endpoints...)
	clock := fakeclock.New()
	var mu sync.Mutex
	var writes []time.Time
	ec2.BeforeCall(func(action, _ string) {
		if action == "ModifyVpcEndpoint" {
			mu.Lock()
			defer mu.Unlock()
			writes = append(writes, clock.Now())
		}
	})
	cfg := defaults(t)
	cfg.MaxWritesPerSecond = 4
	start := clock.Now()
	run := remediate.Run{Clock: clock, Cutoff: start.Add(2 * time.Second)}

	outcomes, res, err := handleRun(remediate.New(ec2, region, cfg), context.Background(), cloudtrail.Call{Sweep: true}, run)
	if err != nil || !res.Stopped || res.Unlisted {
		t.Fatalf("sweep: %v, %+v; want it stopped in its only page", err, res)
	}
	// Turns at 0, 0.25 ... 1.75 s: eight, each write no sooner than its turn.
	slices.SortFunc(writes, time.Time.Compare)
	if len(writes) != 8 {
		t.Fatalf("%d writes in 2 s at 4 a second, want 8", len(writes))
	}
	for i, w := range writes {
		if turn := start.Add(time.Duration(i) * 250 * time.Millisecond); w.Before(turn) {
			t.Errorf("write %d at %v, before its turn at %v", i+1, w.Sub(start), turn.Sub(start))
		}
	}
	notRewritten := 0
	for _, o := range outcomes {
		switch {
		case o.Error == "not rewritten: the invocation's deadline was near":
			notRewritten++
			if !broader[o.EndpointID] || o.Verdict != remediate.NonCompliant || o.Action != remediate.None {
				t.Errorf("not rewritten: %+v", o)
			}
		case o.Error != "":
			t.Errorf("%s: %s", o.EndpointID, o.Error)
		}
	}
	if want := len(broader) - len(writes); notRewritten != want || len(outcomes) != guarded(endpoints) {
		t.Errorf("%d outcomes, %d not rewritten; want every endpoint checked (%d) and %d not rewritten",
			len(outcomes), notRewritten, guarded(endpoints), want)
	}
}

// A sweep converges: each sweep writes what fits before its cutoff, the next
// finds those compliant and goes on; each broader endpoint is written once.
func TestSweepsConverge(t *testing.T) {
	t.Parallel()
	endpoints, broader := mixedEndpoints(t, 500)
	ec2 := fakeec2.New(endpoints...)
	clock := fakeclock.New()
	cfg := defaults(t)
	cfg.MaxWritesPerSecond = 2
	r := remediate.New(ec2, region, cfg)
	sweeps := 0
	for ec2.ModifyCalls() < len(broader) && sweeps < len(broader) {
		sweeps++
		run := remediate.Run{Clock: clock, Cutoff: clock.Now().Add(10 * time.Second)}
		if _, _, err := handleRun(r, context.Background(), cloudtrail.Call{Sweep: true}, run); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Hour) // the next sweep's schedule
	}
	for id := range broader {
		if ec2.Modifies(id) != 1 {
			t.Errorf("%s written %d times, want once", id, ec2.Modifies(id))
		}
	}
	// Twenty writes a sweep (10 s at 2 a second) for a hundred broader endpoints.
	if want := (len(broader) + 19) / 20; sweeps != want {
		t.Errorf("%d sweeps to converge, want %d", sweeps, want)
	}
}

func TestSweepReportsAListingError(t *testing.T) {
	t.Parallel()
	ec2 := fakeec2.New(fakeec2.Endpoint(endpointID, logs, account, fullAccess))
	failing := listFailure{ec2}
	outcomes, err := sweep(remediate.New(failing, region, defaults(t)), context.Background(), remediate.Origin{})
	if err == nil || !strings.Contains(err.Error(), "list vpc endpoints: missing permission ec2:DescribeVpcEndpoints") {
		t.Errorf("error %v, want the listing's, naming the permission", err)
	}
	if len(outcomes) != 0 {
		t.Errorf("outcomes %+v, want none", outcomes)
	}
}
