package stack_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/vpce-guard/vpce-guard/infra/stack"
	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/policytemplates"
	"github.com/vpce-guard/vpce-guard/tests/emulator"
)

// selfRoleARN is the function's role in the fixtures of testdata/events.
const selfRoleARN = "arn:aws:iam::111122223333:role/VpceGuard-FunctionRole111A5701-EXAMPLE12345"

// fixture is one EventBridge event to send.
type fixture struct {
	name  string
	event map[string]any
}

// patternCases are the contexts the event pattern is tested in, each with the
// fixtures its rule must match; every other fixture must not match.
func patternCases() []patternCase {
	// Any caller but vpce-guard's own role, for a guarded service.
	matchAll := []string{
		"events/create-logs.json", "events/create-logs-fips-by-role.json", "events/create-stream-logs.json",
		"events/create-events-china.json", "events/create-events-fips.json", "events/create-eventsv2.json",
		"events/create-syslog-logs.json",
		"events/create-logs-by-root.json", "events/create-logs-by-aws-service.json",
		"events/create-logs-by-cloudformation.json", "events/create-logs-by-identity-center.json",
		"events/create-logs-from-console.json",
		"events/modify.json", "events/modify-reset-by-role.json", "events/modify-from-console.json",
	}
	matchLogsOnly := slices.DeleteFunc(slices.Clone(matchAll), func(name string) bool { return strings.Contains(name, "-events") })
	return []patternCase{
		{"every service", nil, matchAll},
		{"logs only", map[string]any{stack.KeyServices: "logs"}, matchLogsOnly},
	}
}

type patternCase struct {
	name    string
	context map[string]any
	want    []string // fixture names
}

// pattern is the case's pattern as synthesized, with the role's ARN in it.
func (c patternCase) pattern(t *testing.T) string {
	t.Helper()
	_, tpl := synth(t, c.context).only(t)
	return concretePattern(t, eventPattern(t, tpl))
}

// checkMatched compares the fixtures a matcher matched with the case's.
func (c patternCase) checkMatched(t *testing.T, got []string) {
	t.Helper()
	got = slices.Sorted(slices.Values(got))
	want := slices.Sorted(slices.Values(c.want))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the rule matched\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// The synthesized pattern, on a rule of moto's EventBridge (the real
// implementation of EventBridge's matching that the replay tests use), with
// an SQS queue as target: every fixture is sent with PutEvents, and the queue
// says which ones the rule matched.
func TestEventPatternOnEventBridge(t *testing.T) {
	fixtures := loadFixtures(t)
	moto := emulator.StartMoto(t)
	for _, tt := range patternCases() {
		t.Run(tt.name, func(t *testing.T) {
			tt.checkMatched(t, matched(t, moto.URL, strings.ReplaceAll(tt.name, " ", "-"), tt.pattern(t), fixtures))
		})
	}
}

// The same pattern and fixtures on event-ruler, AWS's open-source Java
// library for EventBridge-style patterns, whose matcher is closer to
// EventBridge's than moto's is: each case's pattern is a rule of one machine,
// and every fixture, envelope and all, is matched against it.
func TestEventPatternOnEventRuler(t *testing.T) {
	fixtures := loadFixtures(t)
	ruler := emulator.StartEventRuler(t)
	for _, tt := range patternCases() {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			rule := strings.ReplaceAll(tt.name, " ", "-")
			if err := ruler.AddRule(ctx, rule, []byte(tt.pattern(t))); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range fixtures {
				event, err := json.Marshal(f.event)
				if err != nil {
					t.Fatal(err)
				}
				rules, err := ruler.Match(ctx, event)
				if err != nil {
					t.Fatalf("%s: %v", f.name, err)
				}
				// The machine also holds the other cases' rules.
				if slices.Contains(rules, rule) {
					got = append(got, f.name)
				}
			}
			tt.checkMatched(t, got)
		})
	}
}

// concretePattern puts selfRoleARN in the place of the role's Fn::GetAtt, the
// only intrinsic function in the pattern, as CloudFormation would.
func concretePattern(t *testing.T, pattern map[string]any) string {
	t.Helper()
	replaced := 0
	var resolve func(v any) any
	resolve = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			if att, ok := v["Fn::GetAtt"].([]any); ok && len(v) == 1 {
				if len(att) != 2 || att[1] != "Arn" || !strings.HasPrefix(att[0].(string), "FunctionRole") {
					t.Fatalf("unexpected Fn::GetAtt %v in the pattern", att)
				}
				replaced++
				return selfRoleARN
			}
			out := map[string]any{}
			for k, child := range v {
				if strings.HasPrefix(k, "Fn::") || k == "Ref" {
					t.Fatalf("unexpected intrinsic %s in the pattern", k)
				}
				out[k] = resolve(child)
			}
			return out
		case []any:
			out := make([]any, len(v))
			for i, child := range v {
				out[i] = resolve(child)
			}
			return out
		}
		return v
	}
	data, err := json.Marshal(resolve(pattern))
	if err != nil {
		t.Fatal(err)
	}
	if replaced != 2 {
		t.Fatalf("the role ARN is in the pattern %d times, want 2 (anything-but in both calls' branches)", replaced)
	}
	return string(data)
}

// matched puts pattern on a rule named name with a queue as target, sends
// each fixture and returns the names of those that reached the queue.
func matched(t *testing.T, url, name, pattern string, fixtures []fixture) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := aws.Config{
		Region: "eu-west-1",
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing", Source: "emulator"}, nil
		}),
		BaseEndpoint: aws.String(url),
	}
	events := eventbridge.NewFromConfig(cfg)
	queues := sqs.NewFromConfig(cfg)

	queue, err := queues.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("matched-" + name)})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := queues.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: queue.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	rule := "vpce-guard-" + name
	if _, err := events.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(rule), EventPattern: aws.String(pattern)}); err != nil {
		t.Fatalf("PutRule: %v", err)
	}
	t.Cleanup(func() {
		// Other rules must not see this test's events.
		events.RemoveTargets(context.Background(), &eventbridge.RemoveTargetsInput{Rule: aws.String(rule), Ids: []string{"queue"}})
		events.DeleteRule(context.Background(), &eventbridge.DeleteRuleInput{Name: aws.String(rule)})
	})
	if _, err := events.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(rule), Targets: []ebtypes.Target{
		{Id: aws.String("queue"), Arn: aws.String(attrs.Attributes["QueueArn"])},
	}}); err != nil {
		t.Fatalf("PutTargets: %v", err)
	}

	var got []string
	for _, f := range fixtures {
		detail, err := json.Marshal(f.event["detail"])
		if err != nil {
			t.Fatal(err)
		}
		out, err := events.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
			Source:     aws.String(f.event["source"].(string)),
			DetailType: aws.String(f.event["detail-type"].(string)),
			Detail:     aws.String(string(detail)),
			Resources:  []string{},
		}}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents %s: %v %+v", f.name, err, out)
		}
		// moto delivers to the targets within PutEvents.
		msgs, err := queues.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: queue.QueueUrl, MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		switch len(msgs.Messages) {
		case 0:
			continue
		case 1:
			got = append(got, f.name)
		default:
			t.Errorf("%s arrived %d times", f.name, len(msgs.Messages))
		}
		for _, m := range msgs.Messages {
			var delivered struct {
				Detail json.RawMessage `json:"detail"`
			}
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &delivered); err != nil || !sameJSON(delivered.Detail, detail) {
				t.Errorf("%s: the queue got %s, not the event sent", f.name, aws.ToString(m.Body))
			}
			if _, err := queues.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: queue.QueueUrl, ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return got
}

func sameJSON(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// loadFixtures reads testdata/events as they are and the public CloudTrail
// samples of testdata/cloudtrail wrapped in EventBridge envelopes.
func loadFixtures(t *testing.T) []fixture {
	t.Helper()
	var fixtures []fixture
	dir := filepath.Join("..", "testdata")
	for _, sub := range []string{"events", "cloudtrail"} {
		files, err := filepath.Glob(filepath.Join(dir, sub, "*.json"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no fixtures in %s: %v", sub, err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var records []map[string]any
			if err := json.Unmarshal(data, &records); err != nil {
				var one map[string]any
				if err := json.Unmarshal(data, &one); err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				records = []map[string]any{one}
			}
			name := sub + "/" + filepath.Base(file)
			for i, r := range records {
				if len(records) > 1 {
					name = sub + "/" + filepath.Base(file) + "#" + string(rune('1'+i))
				}
				if _, isEnvelope := r["detail"]; !isEnvelope {
					r = envelope(r)
				}
				fixtures = append(fixtures, fixture{name: name, event: r})
			}
		}
	}
	return fixtures
}

// envelope wraps a CloudTrail record the way EventBridge delivers it.
func envelope(record map[string]any) map[string]any {
	source, _ := record["eventSource"].(string)
	return map[string]any{
		"version":     "0",
		"detail-type": config.EventDetailType,
		"source":      "aws." + strings.TrimSuffix(source, ".amazonaws.com"),
		"account":     record["recipientAccountId"],
		"time":        record["eventTime"],
		"region":      record["awsRegion"],
		"resources":   []any{},
		"detail":      record,
	}
}

// The rule's service names and the function's templates agree: each suffix
// the rule lets through is guarded by the function, and the endpoint names the
// function guards (probed from the known AWS naming) reach it through the rule.
func TestEndpointNamesMatchTemplates(t *testing.T) {
	t.Parallel()
	guarded := func(serviceName string, services []string) bool {
		_, _, ok := policytemplates.TemplateFor(serviceName, policytemplates.Options{Services: services})
		return ok
	}
	candidates := []string{
		"logs", "logs-fips", "stream-logs", "stream-logs-fips", "syslog-logs", "events", "events-fips", "eventsv2", "eventsv2-fips",
		"syslog-logs-fips", "eventsv2-bus", "s3", "ec2", "sts", "kms", "monitoring", "logs-insights", "eventbridge", "events-bus", "schemas", "pipes",
	}
	for _, services := range [][]string{{"logs"}, {"events"}, {"events", "logs"}} {
		suffixes := stack.ServiceNameSuffixes(services)
		for _, prefix := range []string{"com.amazonaws.eu-west-1.", "com.amazonaws.us-gov-west-1.", "cn.com.amazonaws.cn-north-1."} {
			for _, name := range candidates {
				serviceName := prefix + name
				passes := slices.ContainsFunc(suffixes, func(s string) bool { return strings.HasSuffix(serviceName, s) })
				if want := guarded(serviceName, services); passes != want {
					t.Errorf("services %v: %s passes the rule: %v, guarded by the function: %v", services, serviceName, passes, want)
				}
			}
		}
	}
}

// EventBridge limits a pattern to 2,048 characters unless the quota is
// raised; the longest role ARN a stack can have still fits.
func TestEventPatternSize(t *testing.T) {
	t.Parallel()
	longest := "arn:aws-us-gov:iam::123456789012:role/" + strings.Repeat("r", 64)
	pattern := map[string]any{
		"source":      []any{config.EventSource},
		"detail-type": []any{config.EventDetailType},
		"detail":      stack.EventDetail([]string{"events", "logs"}, longest),
	}
	data, err := json.Marshal(pattern)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 2048 {
		t.Errorf("the pattern has %d characters, over EventBridge's default limit of 2,048", len(data))
	}
	t.Logf("pattern size with the longest role ARN: %d characters", len(data))
}
