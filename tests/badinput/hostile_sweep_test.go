package badinput_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpce-guard/vpce-guard/internal/fakeec2"
	"github.com/vpce-guard/vpce-guard/internal/hostile"
	"github.com/vpce-guard/vpce-guard/lambda/cloudtrail"
	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
)

// Limits a sweep of hostile policies must stay within: the heap in use (the
// function has 512 MB, and a sweep meets thousands of endpoints), an outcome
// (a log line that stays readable), and all of them (a sweep's log).
const (
	hostileEndpoints = 100
	maxHeapGrowth    = 64 << 20
	maxOutcomeJSON   = 16 << 10
	maxSweepResult   = 6 << 20
)

// heapAtModify samples the heap in use each time the sweep writes a policy,
// which it does for every hostile endpoint right after checking it: the
// moment its parsed policy and verdict are alive, with three others at work.
type heapAtModify struct {
	*fakeec2.EC2
	mu   sync.Mutex
	peak uint64
}

func (h *heapAtModify) ModifyVpcEndpoint(ctx context.Context, in *ec2.ModifyVpcEndpointInput, opts ...func(*ec2.Options)) (*ec2.ModifyVpcEndpointOutput, error) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h.mu.Lock()
	h.peak = max(h.peak, ms.HeapInuse)
	h.mu.Unlock()
	return h.EC2.ModifyVpcEndpoint(ctx, in, opts...)
}

// TestHostileSweep sweeps 100 endpoints that each carry one of the hostile
// policies (internal/hostile) and holds the sweep to the limits above.
func TestHostileSweep(t *testing.T) {
	shapes := hostile.Policies()
	var endpoints []types.VpcEndpoint
	for i := range hostileEndpoints {
		shape := shapes[hostile.Names[i%len(hostile.Names)]]
		endpoints = append(endpoints, fakeec2.Endpoint(fmt.Sprintf("vpce-%017x", i), "com.amazonaws."+testRegion+".logs", ownAccount, shape))
	}
	fake := &heapAtModify{EC2: fakeec2.New(endpoints...)}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	// The strict template has Denies, which make every shape broader than it.
	cfg, err := config.FromEnv(func(name string) string { return map[string]string{"LOGS_TEMPLATE": "logs-strict"}[name] })
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxWritesPerSecond = 0 // unpaced: the pace has tests of its own
	var outcomes []remediate.Outcome
	run := remediate.Run{Record: func(o remediate.Outcome) { outcomes = append(outcomes, o) }}
	if _, err := remediate.New(fake, testRegion, cfg).HandleCall(context.Background(), cloudtrail.Call{EventID: "hostile", Sweep: true}, run); err != nil {
		t.Fatal(err)
	}
	if len(outcomes) != hostileEndpoints {
		t.Fatalf("%d outcomes, want %d", len(outcomes), hostileEndpoints)
	}
	largest := 0
	for _, o := range outcomes {
		if o.Verdict != remediate.NonCompliant || o.Action != remediate.Rewritten {
			t.Errorf("%s: %s/%s, want noncompliant/rewritten", o.EndpointID, o.Verdict, o.Action)
		}
		out, _ := json.Marshal(o)
		largest = max(largest, len(out))
	}
	all, _ := json.Marshal(outcomes)
	growth := int64(fake.peak) - int64(before.HeapInuse)
	t.Logf("%d hostile endpoints: heap in use %.1f MB before, peak %.1f MB at the writes (growth %.1f MB); largest outcome %d bytes, all outcomes %d bytes",
		len(outcomes), float64(before.HeapInuse)/(1<<20), float64(fake.peak)/(1<<20), float64(growth)/(1<<20), largest, len(all))
	if growth > maxHeapGrowth {
		t.Errorf("the heap in use grew by %.1f MB, want at most %d MB", float64(growth)/(1<<20), maxHeapGrowth>>20)
	}
	if largest > maxOutcomeJSON {
		t.Errorf("an outcome is %d bytes as JSON, want at most %d", largest, maxOutcomeJSON)
	}
	if len(all) > maxSweepResult {
		t.Errorf("the sweep's outcomes are %d bytes as JSON, want at most %d", len(all), maxSweepResult)
	}
}
