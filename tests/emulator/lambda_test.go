package emulator_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpce-guard/vpce-guard/tests/emulator"
)

// The function starts under the RIE, answers a scheduled sweep over an empty
// region, and reports an AWS failure as a function error.
func TestLambdaUnderRIE(t *testing.T) {
	t.Parallel()
	moto := emulator.SharedMoto(t)
	bootstrap := emulator.BuildBootstrap(t)
	const region = "sa-east-1"
	sweep := []byte(`{"version":"0","id":"s-1","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012",` +
		`"time":"2026-01-02T03:04:05Z","region":"sa-east-1","resources":["arn:aws:events:sa-east-1:123456789012:rule/x"],"detail":{}}`)

	fn := emulator.StartLambda(t, bootstrap, map[string]string{"AWS_REGION": region, "AWS_ENDPOINT_URL_EC2": moto.URL})
	status, body, err := fn.Invoke(context.Background(), sweep)
	if err != nil || status != http.StatusOK {
		t.Fatalf("Invoke = %d, %s, %v", status, body, err)
	}
	var summary map[string]any
	if err := json.Unmarshal(body, &summary); err != nil || summary["outcomes"] != 0.0 {
		t.Fatalf("answer %s (%v), want a summary of no outcome", body, err)
	}
	if !strings.Contains(fn.Log(), `"message":"started"`) {
		t.Errorf("no started line in the function's log:\n%s", fn.Log())
	}

	proxy := emulator.StartFaultProxy(t, moto.URL)
	proxy.Inject("DescribeVpcEndpoints", emulator.ServerError(), -1)
	failing := emulator.StartLambda(t, bootstrap, map[string]string{"AWS_REGION": region, "AWS_ENDPOINT_URL_EC2": proxy.URL})
	status, body, err = failing.Invoke(context.Background(), sweep)
	if err != nil {
		t.Fatal(err)
	}
	fe, ok := emulator.ParseFunctionError(body)
	if !ok || fe.ErrorType != "RemediationError" {
		t.Errorf("Invoke with EC2 failing = %d %s; want a RemediationError", status, body)
	}
	if seen, _ := proxy.Count("DescribeVpcEndpoints"); seen != 5 {
		t.Errorf("DescribeVpcEndpoints tried %d times, want 5 (the retry budget)", seen)
	}
}

// Concurrent invocations of one Lambda are run one after the other: the RIE
// itself would crash on them.
func TestLambdaSerializesInvocations(t *testing.T) {
	t.Parallel()
	moto := emulator.SharedMoto(t)
	proxy := emulator.StartFaultProxy(t, moto.URL)
	proxy.Inject("DescribeVpcEndpoints", emulator.Slow(300*time.Millisecond), -1)
	fn := emulator.StartLambda(t, emulator.BuildBootstrap(t), map[string]string{"AWS_REGION": "sa-east-1", "AWS_ENDPOINT_URL_EC2": proxy.URL})
	sweep := []byte(`{"version":"0","id":"s-2","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012",` +
		`"time":"2026-01-02T03:04:05Z","region":"sa-east-1","resources":[],"detail":{}}`)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if status, body, err := fn.Invoke(context.Background(), sweep); err != nil || status != http.StatusOK {
				t.Errorf("concurrent Invoke = %d, %s, %v", status, body, err)
			}
		})
	}
	wg.Wait()
}
