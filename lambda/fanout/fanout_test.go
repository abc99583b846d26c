package fanout_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/vpce-guard/vpce-guard/internal/fakeorg"
	"github.com/vpce-guard/vpce-guard/lambda/fanout"
)

// An organization: the root holds the management account and OU A; A holds
// two accounts and OU B (nested), B holds three, one of them suspended; C,
// beside A, is not swept.
func organization() *fakeorg.Org {
	return &fakeorg.Org{
		Management: "100000000000",
		OUs: map[string][]string{
			"r-root":           {"ou-root-aaaaaaaa", "ou-root-cccccccc"},
			"ou-root-aaaaaaaa": {"ou-root-bbbbbbbb"},
		},
		Accounts: map[string][]string{
			"r-root":           {"100000000000"},
			"ou-root-aaaaaaaa": {"200000000002", "200000000001"},
			"ou-root-bbbbbbbb": {"300000000001", "300000000002", "300000000003"},
			"ou-root-cccccccc": {"400000000001"},
		},
		Suspended: map[string]bool{"300000000003": true},
	}
}

func TestAccountsOfNestedOUs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		targets fanout.Targets
		want    []string
	}{
		{"an OU and the OUs in it", fanout.Targets{OUs: []string{"ou-root-aaaaaaaa"}},
			[]string{"200000000001", "200000000002", "300000000001", "300000000002"}},
		{"the root, less the management account", fanout.Targets{OUs: []string{"r-root"}},
			[]string{"200000000001", "200000000002", "300000000001", "300000000002", "400000000001"}},
		{"an OU named twice, and one inside it", fanout.Targets{OUs: []string{"ou-root-bbbbbbbb", "ou-root-aaaaaaaa", "ou-root-bbbbbbbb"}},
			[]string{"200000000001", "200000000002", "300000000001", "300000000002"}},
		{"a list of accounts", fanout.Targets{Accounts: []string{"9", "8", "9"}}, []string{"8", "9"}},
	} {
		got, err := fanout.Accounts(context.Background(), organization(), tc.targets)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}

func TestSendQueuesEveryUnitOnce(t *testing.T) {
	t.Parallel()
	accounts := []string{"111111111111", "222222222222", "333333333333", "444444444444", "555555555555", "666666666666"}
	units := fanout.Plan(accounts, []string{"eu-west-1", "us-east-1"})
	queue := &fakeorg.Queue{}
	queue.Refuse(3) // SQS's own failures: sent once more
	sent, err := fanout.Send(context.Background(), queue, "https://sqs.eu-west-1.amazonaws.com/1/q", units)
	if err != nil || sent != len(units) {
		t.Fatalf("sent %d of %d: %v", sent, len(units), err)
	}
	var got []fanout.Unit
	for _, b := range queue.Bodies() {
		var u fanout.Unit
		if err := json.Unmarshal([]byte(b), &u); err != nil {
			t.Fatal(err)
		}
		got = append(got, u)
	}
	key := func(u fanout.Unit) string { return u.Account + "/" + u.Region }
	var keys []string
	for _, u := range got {
		keys = append(keys, key(u))
	}
	slices.Sort(keys)
	if len(slices.Compact(keys)) != len(units) {
		t.Errorf("%d distinct units queued, want %d: %v", len(slices.Compact(keys)), len(units), keys)
	}
	// Twelve units: two batches, and one more for the three refused.
	if queue.Calls() != 3 {
		t.Errorf("%d SendMessageBatch calls, want 3", queue.Calls())
	}

	queue = &fakeorg.Queue{}
	queue.Refuse(20) // refused again: reported, not retried for ever
	if sent, err := fanout.Send(context.Background(), queue, "q", units[:2]); err == nil || sent != 0 || !strings.Contains(err.Error(), "111111111111/eu-west-1") {
		t.Errorf("refused twice: sent %d, %v; want an error naming the units", sent, err)
	}
}

func TestParseSQSEvent(t *testing.T) {
	t.Parallel()
	messages, err := fanout.ParseSQSEvent([]byte(`{"Records":[
		{"eventSource":"aws:sqs","messageId":"m1","body":"{\"account\":\"111122223333\",\"region\":\"eu-west-1\",\"nextToken\":\"t\",\"part\":2}"},
		{"eventSource":"aws:sqs","messageId":"m2","body":"{\"account\":\"1111\",\"region\":\"eu-west-1\"}"},
		{"eventSource":"aws:sqs","messageId":"m3","body":"not json"}]}`))
	if err != nil || len(messages) != 3 {
		t.Fatalf("%+v, %v", messages, err)
	}
	if m := messages[0]; m.Err != nil || m.Unit != (fanout.Unit{Account: "111122223333", Region: "eu-west-1", NextToken: "t", Part: 2}) {
		t.Errorf("message 1: %+v", m)
	}
	if messages[1].Err == nil || messages[2].Err == nil {
		t.Errorf("bad bodies accepted: %+v", messages[1:])
	}
	for _, other := range []string{
		`{"Records":[{"eventSource":"ec2.amazonaws.com","eventName":"CreateVpcEndpoint"}]}`, // a CloudTrail log file
		`{"detail-type":"Scheduled Event"}`, `[]`, `{"Records":[]}`,
	} {
		if _, err := fanout.ParseSQSEvent([]byte(other)); !errors.Is(err, fanout.ErrNotSQS) {
			t.Errorf("%s: %v, want ErrNotSQS", other, err)
		}
	}
}

func TestContinuationsAreBounded(t *testing.T) {
	t.Parallel()
	u := fanout.Unit{Account: "111122223333", Region: "eu-west-1"}
	for range fanout.MaxParts {
		next, err := u.Continuation("token")
		if err != nil {
			t.Fatalf("part %d: %v", u.Part+1, err)
		}
		u = next
	}
	if _, err := u.Continuation("token"); err == nil {
		t.Errorf("part %d accepted, want at most %d continuations", u.Part+1, fanout.MaxParts)
	}
}
