package stack_test

import (
	"debug/elf"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/vpce-guard/vpce-guard/infra/stack"
	"github.com/vpce-guard/vpce-guard/lambda/config"
)

var update = flag.Bool("update", false, "rewrite testdata/pattern.json")

// check runs an assertion of the assertions module, which reports a
// mismatch by panicking through jsii, as a test error.
func check(t *testing.T, what string, assert func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	assert()
}

func obj(v map[string]any) *map[string]any { return &v }

// every is the context of the stack with every option.
var every = map[string]any{
	stack.KeyRegions:          []any{"eu-west-1", "us-gov-west-1"},
	stack.KeyDryRun:           true,
	stack.KeyServices:         "logs",
	stack.KeyLogsTemplate:     "logs-strict",
	stack.KeyLogGroupPatterns: []any{"/aws/lambda/*", "app-*"},
	stack.KeyCheckMode:        "subset", // written out; exact does not go with a narrow rewrite
	stack.KeyRewrite:          "narrow",
	stack.KeyExemptTag:        "team=platform",
	stack.KeySweepConcurrency: 8.0,
	stack.KeyMaxWritesPerSec:  0.5,
	stack.KeyAccounts:         "444455556666,777788889999",
	stack.KeyReservedConc:     "20",
	stack.KeySweepSchedule:    "cron(0 3 * * ? *)",
	stack.KeyLogLevel:         "debug",
	stack.KeyLogRetentionDays: "365",
	stack.KeyCreateTrail:      "true",
	stack.KeyAlarmEmail:       "ops@example.com",
	stack.KeyFindings:         "securityhub",
}

func TestDefaultStackResources(t *testing.T) {
	st, tpl := synth(t, nil).only(t)
	if got := *st.StackName(); got != stack.StackName {
		t.Errorf("stack name %q, want %q", got, stack.StackName)
	}
	counts := map[string]float64{
		"AWS::Lambda::Function":          1,
		"AWS::Lambda::EventInvokeConfig": 1,
		"AWS::Lambda::Permission":        2, // one per rule
		"AWS::IAM::Role":                 1,
		"AWS::IAM::Policy":               1,
		"AWS::Logs::LogGroup":            1,
		"AWS::SQS::Queue":                1,
		"AWS::SQS::QueuePolicy":          1,
		"AWS::Events::Rule":              2,
		"AWS::CloudWatch::Alarm":         11,
		"AWS::SNS::Topic":                0,
		"AWS::KMS::Key":                  0,
		"AWS::CloudTrail::Trail":         0,
		"AWS::S3::Bucket":                0,
	}
	for typ, n := range counts {
		check(t, typ, func() { tpl.ResourceCountIs(jsii.String(typ), jsii.Number(n)) })
	}
	// Nothing else: a new resource type needs a test.
	resources := templateJSON(t, tpl)["Resources"].(map[string]any)
	for id, r := range resources {
		typ := r.(map[string]any)["Type"].(string)
		if _, known := counts[typ]; !known && typ != "AWS::CDK::Metadata" {
			t.Errorf("untested resource %s of type %s", id, typ)
		}
	}
}

func TestFunction(t *testing.T) {
	_, tpl := synth(t, nil).only(t)
	role := onlyID(t, tpl, "AWS::IAM::Role")
	logs := onlyID(t, tpl, "AWS::Logs::LogGroup")
	check(t, "function", func() {
		tpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), obj(map[string]any{
			"Runtime":       "provided.al2023",
			"Architectures": []any{"arm64"},
			"Handler":       "bootstrap",
			"FunctionName":  stack.FunctionName,
			"MemorySize":    512,
			"Timeout":       900,
			"Role":          getAtt(role, "Arn"),
			"LoggingConfig": assertions.Match_ObjectEquals(obj(map[string]any{
				"LogFormat":           "JSON",
				"ApplicationLogLevel": "INFO",
				"SystemLogLevel":      "INFO",
				"LogGroup":            ref(logs),
			})),
			"Environment": assertions.Match_ObjectEquals(obj(map[string]any{
				"Variables": assertions.Match_ObjectEquals(obj(map[string]any{
					"DRY_RUN":               "false",
					"LOGS_TEMPLATE":         "logs",
					"CHECK_MODE":            "subset",
					"REWRITE":               "template",
					"EXEMPT_TAG":            "vpce-guard:exempt=true",
					"SWEEP_CONCURRENCY":     "4",
					"MAX_WRITES_PER_SECOND": "2",
					"FINDINGS":              "none",
					"SELF_ROLE_ARN":         getAtt(role, "Arn"),
				})),
			})),
			// Not in a VPC, no reserved concurrency: nothing to size per account.
			"VpcConfig":                    assertions.Match_Absent(),
			"ReservedConcurrentExecutions": assertions.Match_Absent(),
		}))
	})
	check(t, "log group", func() {
		tpl.HasResource(jsii.String("AWS::Logs::LogGroup"), obj(map[string]any{
			"Properties":     assertions.Match_ObjectEquals(obj(map[string]any{"RetentionInDays": 365})),
			"DeletionPolicy": "Retain",
		}))
	})
}

// The function's code is the Go binary built locally for arm64, not by Docker.
func TestFunctionBundle(t *testing.T) {
	s := synth(t, nil)
	_, tpl := s.only(t)
	_, functions := resourcesOfType(t, tpl, "AWS::Lambda::Function")
	var assetPath string
	for _, fn := range functions {
		code := fn["Properties"].(map[string]any)["Code"].(map[string]any)
		key, _ := code["S3Key"].(string)
		assetPath = "asset." + strings.TrimSuffix(key, ".zip")
	}
	dir := *s.app.Synth(nil).Directory()
	bootstrap := filepath.Join(dir, assetPath, "bootstrap")
	f, err := elf.Open(bootstrap)
	if err != nil {
		t.Fatalf("the bundle's bootstrap: %v", err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 || f.Class != elf.ELFCLASS64 {
		t.Errorf("bootstrap is %v %v, want a 64-bit arm64 binary", f.Class, f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("bootstrap is dynamically linked; CGO_ENABLED=0 should make it static")
		}
	}
	if f.Section(".symtab") != nil {
		t.Error("bootstrap has a symbol table; -ldflags=-s should strip it")
	}
	entries, err := os.ReadDir(filepath.Join(dir, assetPath))
	if err != nil || len(entries) != 1 {
		t.Errorf("the bundle holds %v (%v), want bootstrap alone", entries, err)
	}
}

// The role's permissions, exactly: nothing more may slip in unnoticed.
func TestFunctionPermissions(t *testing.T) {
	for _, tt := range []struct {
		name     string
		context  map[string]any
		modify   bool
		readOrg  bool
		findings bool
	}{
		{"rewrites", nil, true, false, false},
		{"dry run", map[string]any{stack.KeyDryRun: "true"}, false, false, false},
		{"organization read at start", map[string]any{stack.KeyTemplateOrganizationID: "auto"}, true, true, false},
		{"findings", map[string]any{stack.KeyFindings: "securityhub"}, true, false, true},
		{"findings in a dry run", map[string]any{stack.KeyFindings: "SecurityHub", stack.KeyDryRun: true}, false, false, true},
		{"no findings", map[string]any{stack.KeyFindings: "none"}, true, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, tpl := synth(t, tt.context).only(t)
			role := onlyID(t, tpl, "AWS::IAM::Role")
			logs := onlyID(t, tpl, "AWS::Logs::LogGroup")
			queue := onlyID(t, tpl, "AWS::SQS::Queue")
			statements := []any{
				map[string]any{"Sid": "DescribeEndpoints", "Effect": "Allow", "Action": "ec2:DescribeVpcEndpoints", "Resource": "*"},
			}
			if tt.modify {
				statements = append(statements, map[string]any{"Sid": "RewriteEndpointPolicies", "Effect": "Allow", "Action": "ec2:ModifyVpcEndpoint",
					"Resource": map[string]any{"Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc-endpoint/*"},
					// Only the function's own credentials: the role cannot be borrowed.
					"Condition": map[string]any{"ArnLike": ownFunction}},
					// The record of a rewrite, and no other tag: never the exemption tag.
					map[string]any{"Sid": "RecordRewrites", "Effect": "Allow", "Action": "ec2:CreateTags",
						"Resource": map[string]any{"Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc-endpoint/*"},
						"Condition": map[string]any{
							"ArnLike":                   ownFunction,
							"ForAllValues:StringEquals": map[string]any{"aws:TagKeys": []any{config.RewrittenTagKey}},
							"Null":                      map[string]any{"aws:TagKeys": "false"},
						}},
					map[string]any{"Sid": "DenyEndpointNetworkChanges", "Effect": "Deny", "Action": "ec2:ModifyVpcEndpoint", "Resource": []any{
						map[string]any{"Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:route-table/*"},
						map[string]any{"Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:security-group/*"},
						map[string]any{"Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:subnet/*"},
					}})
			}
			if tt.readOrg {
				statements = append(statements, map[string]any{"Sid": "ReadOrganizationID", "Effect": "Allow", "Action": "organizations:DescribeOrganization", "Resource": "*"})
			}
			if tt.findings {
				statements = append(statements, findingsStatements(tt.modify, "${AWS::Region}", ownFunction)...)
			}
			statements = append(statements,
				map[string]any{"Sid": "WriteOwnLogs", "Effect": "Allow", "Action": []any{"logs:CreateLogStream", "logs:PutLogEvents"}, "Resource": getAtt(logs, "Arn")},
				map[string]any{"Sid": "SendFailedEvents", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": getAtt(queue, "Arn")},
			)
			_, policies := resourcesOfType(t, tpl, "AWS::IAM::Policy")
			for id, p := range policies {
				props := p["Properties"].(map[string]any)
				want := map[string]any{"Version": "2012-10-17", "Statement": statements}
				if got := props["PolicyDocument"]; !reflect.DeepEqual(got, want) {
					t.Errorf("policy %s:\n got %s\nwant %s", id, jsonString(got), jsonString(want))
				}
				if got, want := props["Roles"], []any{ref(role)}; !reflect.DeepEqual(got, want) {
					t.Errorf("policy %s is attached to %v, want the function's role alone", id, got)
				}
			}
			check(t, "role", func() {
				tpl.HasResourceProperties(jsii.String("AWS::IAM::Role"), assertions.Match_ObjectEquals(obj(map[string]any{
					"AssumeRolePolicyDocument": map[string]any{
						"Version": "2012-10-17",
						"Statement": []any{map[string]any{
							"Effect": "Allow", "Action": "sts:AssumeRole",
							"Principal": map[string]any{"Service": "lambda.amazonaws.com"},
						}},
					},
					"Description": assertions.Match_AnyValue(),
					// No ManagedPolicyArns, no inline Policies.
				})))
			})
		})
	}
}

// ownFunction is the condition that keeps a statement to the function's own
// credentials: the role cannot be borrowed.
var ownFunction = map[string]any{"lambda:SourceFunctionArn": map[string]any{
	"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:" + stack.FunctionName}}

// findingsStatements are the Security Hub statements, exactly: importing
// the account's own findings under its default product ARN in region, and
// unless in a dry run resolving them, the Workflow.Status alone; with
// arnLike (the function's own credentials) when not nil.
func findingsStatements(rewrites bool, region string, arnLike map[string]any) []any {
	with := func(c map[string]any) map[string]any {
		if arnLike != nil {
			c["ArnLike"] = arnLike
		}
		return c
	}
	statements := []any{map[string]any{"Sid": "ImportOwnFindings", "Effect": "Allow", "Action": "securityhub:BatchImportFindings",
		"Resource":  map[string]any{"Fn::Sub": "arn:${AWS::Partition}:securityhub:" + region + ":${AWS::AccountId}:product/${AWS::AccountId}/default"},
		"Condition": with(map[string]any{"StringEquals": map[string]any{"securityhub:TargetAccount": map[string]any{"Ref": "AWS::AccountId"}}}),
	}}
	if !rewrites {
		return statements
	}
	untouched := map[string]any{}
	for _, field := range []string{"Confidence", "Criticality", "RelatedFindings.Id", "RelatedFindings.ProductArn",
		"Severity.Label", "Severity.Normalized", "Severity.Product", "Types", "UserDefinedFields", "VerificationState"} {
		untouched["securityhub:ASFFSyntaxPath/"+field] = "true"
	}
	return append(statements, map[string]any{"Sid": "ResolveRewrittenFindings", "Effect": "Allow", "Action": "securityhub:BatchUpdateFindings",
		"Resource": map[string]any{"Fn::Sub": "arn:${AWS::Partition}:securityhub:" + region + ":${AWS::AccountId}:hub/default"},
		"Condition": with(map[string]any{
			"StringEquals": map[string]any{"securityhub:ASFFSyntaxPath/Workflow.Status": "RESOLVED"},
			"Null":         untouched,
		}),
	})
}

// No Allow in any IAM policy, role or resource policy of any stack variant
// names a wildcard action.
func TestNoWildcardActions(t *testing.T) {
	for _, context := range []map[string]any{nil, every, org} {
		for name, tpl := range synth(t, context).templates {
			walkStatements(templateJSON(t, tpl)["Resources"], func(where string, statement map[string]any) {
				if statement["Effect"] != "Allow" {
					return
				}
				for _, action := range stringList(statement["Action"]) {
					if strings.Contains(action, "*") && !allowedWildcard(where, action) {
						t.Errorf("%s: %s allows %q", name, where, action)
					}
				}
				if statement["NotAction"] != nil {
					t.Errorf("%s: %s uses NotAction", name, where)
				}
			})
		}
	}
}

// allowedWildcard is the one wildcard action the stacks have: the KMS key's
// default policy, which gives the account (its IAM policies) control over the
// key, as every KMS key needs lest it become unmanageable.
func allowedWildcard(where, action string) bool {
	return strings.HasPrefix(where, "AlarmTopicKey") && action == "kms:*"
}

func walkStatements(v any, visit func(where string, statement map[string]any)) {
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if _, ok := v["Effect"]; ok {
				visit(path, v)
				return
			}
			for k, child := range v {
				walk(path+"/"+k, child)
			}
		case []any:
			for _, child := range v {
				walk(path, child)
			}
		}
	}
	if m, ok := v.(map[string]any); ok {
		for id, r := range m {
			walk(id, r)
		}
	}
}

func stringList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, item := range v {
			if s, ok := item.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func TestFailureHandling(t *testing.T) {
	_, tpl := synth(t, nil).only(t)
	queue := onlyID(t, tpl, "AWS::SQS::Queue")
	fn := onlyID(t, tpl, "AWS::Lambda::Function")
	check(t, "invoke config", func() {
		tpl.HasResourceProperties(jsii.String("AWS::Lambda::EventInvokeConfig"), assertions.Match_ObjectEquals(obj(map[string]any{
			"FunctionName":             ref(fn),
			"Qualifier":                "$LATEST",
			"MaximumRetryAttempts":     2,
			"MaximumEventAgeInSeconds": 6 * 3600,
			"DestinationConfig": map[string]any{
				"OnFailure": map[string]any{"Destination": getAtt(queue, "Arn")},
			},
		})))
	})
	check(t, "queue", func() {
		tpl.HasResourceProperties(jsii.String("AWS::SQS::Queue"), assertions.Match_ObjectEquals(obj(map[string]any{
			"SqsManagedSseEnabled":   true,
			"MessageRetentionPeriod": 14 * 24 * 3600,
		})))
	})
	check(t, "queue policy", func() {
		tpl.HasResourceProperties(jsii.String("AWS::SQS::QueuePolicy"), obj(map[string]any{
			"PolicyDocument": map[string]any{
				"Statement": assertions.Match_ArrayWith(&[]any{map[string]any{
					"Effect":    "Deny",
					"Action":    "sqs:*",
					"Principal": map[string]any{"AWS": "*"},
					"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
					"Resource":  getAtt(queue, "Arn"),
				}}),
			},
		}))
	})
	// Both rules send what they cannot deliver to the same queue, and only
	// they may: the queue policy names each rule.
	rules, byID := resourcesOfType(t, tpl, "AWS::Events::Rule")
	for _, id := range rules {
		targets := byID[id]["Properties"].(map[string]any)["Targets"].([]any)
		want := []any{map[string]any{
			"Id":               "Target0",
			"Arn":              getAtt(fn, "Arn"),
			"DeadLetterConfig": map[string]any{"Arn": getAtt(queue, "Arn")},
		}}
		if !reflect.DeepEqual(targets, want) {
			t.Errorf("rule %s targets %s, want %s", id, jsonString(targets), jsonString(want))
		}
		check(t, "queue policy for "+id, func() {
			tpl.HasResourceProperties(jsii.String("AWS::SQS::QueuePolicy"), obj(map[string]any{
				"PolicyDocument": map[string]any{
					"Statement": assertions.Match_ArrayWith(&[]any{map[string]any{
						"Effect":    "Allow",
						"Action":    "sqs:SendMessage",
						"Principal": map[string]any{"Service": "events.amazonaws.com"},
						"Condition": map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": getAtt(id, "Arn")}},
						"Resource":  getAtt(queue, "Arn"),
						"Sid":       assertions.Match_AnyValue(),
					}}),
				},
			}))
		})
		check(t, "permission for "+id, func() {
			tpl.HasResourceProperties(jsii.String("AWS::Lambda::Permission"), assertions.Match_ObjectEquals(obj(map[string]any{
				"Action":       "lambda:InvokeFunction",
				"FunctionName": getAtt(fn, "Arn"),
				"Principal":    "events.amazonaws.com",
				"SourceArn":    getAtt(id, "Arn"),
			})))
		})
	}
}

func TestRules(t *testing.T) {
	_, tpl := synth(t, nil).only(t)
	check(t, "sweep", func() {
		tpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), obj(map[string]any{
			"ScheduleExpression": "rate(1 day)",
			"State":              "ENABLED",
			"EventPattern":       assertions.Match_Absent(),
		}))
	})
	check(t, "endpoint changes", func() {
		tpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), obj(map[string]any{
			"EventPattern": obj(map[string]any{
				"source":      []any{"aws.ec2"},
				"detail-type": []any{"AWS API Call via CloudTrail"},
				"detail":      assertions.Match_AnyValue(),
			}),
			"State":              "ENABLED",
			"ScheduleExpression": assertions.Match_Absent(),
		}))
	})
}

// The event pattern as synthesized, against testdata/pattern.json; what it
// matches is TestEventPatternOnEventBridge's business.
func TestEventPatternGolden(t *testing.T) {
	_, tpl := synth(t, nil).only(t)
	got, err := json.MarshalIndent(eventPattern(t, tpl), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("..", "testdata", "pattern.json")
	want, err := os.ReadFile(golden)
	if *update && string(got) != string(want) {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote %s", golden)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("event pattern differs from %s (go test -run TestEventPatternGolden -update rewrites it):\n%s", golden, got)
	}
}

// eventPattern is the one EventPattern of a template.
func eventPattern(t *testing.T, tpl assertions.Template) map[string]any {
	t.Helper()
	_, rules := resourcesOfType(t, tpl, "AWS::Events::Rule")
	var patterns []map[string]any
	for _, r := range rules {
		if p, ok := r["Properties"].(map[string]any)["EventPattern"].(map[string]any); ok {
			patterns = append(patterns, p)
		}
	}
	if len(patterns) != 1 {
		t.Fatalf("%d rules with an event pattern, want 1", len(patterns))
	}
	return patterns[0]
}

func TestAlarms(t *testing.T) {
	_, tpl := synth(t, nil).only(t)
	fn := onlyID(t, tpl, "AWS::Lambda::Function")
	queue := onlyID(t, tpl, "AWS::SQS::Queue")
	common := map[string]any{
		"ComparisonOperator": "GreaterThanOrEqualToThreshold",
		"Threshold":          1,
		"EvaluationPeriods":  1,
		"TreatMissingData":   "notBreaching",
		"AlarmDescription":   assertions.Match_AnyValue(),
	}
	alarm := func(fields map[string]any) *map[string]any {
		props := map[string]any{}
		for k, v := range common {
			props[k] = v
		}
		for k, v := range fields {
			props[k] = v
		}
		return obj(props)
	}
	for name, props := range map[string]*map[string]any{
		"function errors": alarm(map[string]any{"Namespace": "AWS/Lambda", "MetricName": "Errors", "Statistic": "Sum", "Period": 300,
			"Dimensions": []any{map[string]any{"Name": "FunctionName", "Value": ref(fn)}}}),
		"function throttles": alarm(map[string]any{"Namespace": "AWS/Lambda", "MetricName": "Throttles", "Statistic": "Sum", "Period": 300,
			"Dimensions": []any{map[string]any{"Name": "FunctionName", "Value": ref(fn)}}}),
		"failed events": alarm(map[string]any{"Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible", "Statistic": "Maximum", "Period": 300,
			"Dimensions": []any{map[string]any{"Name": "QueueName", "Value": getAtt(queue, "QueueName")}}}),
		"rewritten again": alarm(map[string]any{"Metrics": []any{map[string]any{
			"Id": "expr_1", "Expression": `SELECT SUM(RewrittenAgain) FROM SCHEMA("vpce-guard", Service)`,
			"Label": assertions.Match_AnyValue(), "Period": 300, "ReturnData": true}}}),
		"endpoint errors": alarm(map[string]any{"Metrics": []any{map[string]any{
			"Id": "expr_1", "Expression": `SELECT SUM(Errors) FROM SCHEMA("vpce-guard", Service)`,
			"Label": assertions.Match_AnyValue(), "Period": 300, "ReturnData": true}}}),
		"rewritten": alarm(map[string]any{"Metrics": []any{map[string]any{
			"Id": "expr_1", "Expression": `SELECT SUM(Rewritten) FROM SCHEMA("vpce-guard", Service)`,
			"Label": assertions.Match_AnyValue(), "Period": 300, "ReturnData": true}}}),
		"async events dropped": alarm(map[string]any{"Namespace": "AWS/Lambda", "MetricName": "AsyncEventsDropped", "Statistic": "Sum", "Period": 300,
			"Dimensions": []any{map[string]any{"Name": "FunctionName", "Value": ref(fn)}}}),
		"destination delivery failures": alarm(map[string]any{"Namespace": "AWS/Lambda", "MetricName": "DestinationDeliveryFailures", "Statistic": "Sum", "Period": 300,
			"Dimensions": []any{map[string]any{"Name": "FunctionName", "Value": ref(fn)}}}),
		"rules' failed invocations":   alarm(map[string]any{"Metrics": rulesMetrics(t, tpl, "FailedInvocations")}),
		"rules' dead-letter failures": alarm(map[string]any{"Metrics": rulesMetrics(t, tpl, "InvocationsFailedToBeSentToDlq")}),
		// Not once in 25 hours, missing data counting as none: a disabled
		// schedule or function is caught though it sends no data at all.
		"heartbeat": obj(map[string]any{
			"Namespace": "AWS/Lambda", "MetricName": "Invocations", "Statistic": "Sum", "Period": 3600,
			"Dimensions":         []any{map[string]any{"Name": "FunctionName", "Value": ref(fn)}},
			"ComparisonOperator": "LessThanThreshold", "Threshold": 1,
			"EvaluationPeriods": 25, "DatapointsToAlarm": 25, "TreatMissingData": "breaching",
			"AlarmDescription": assertions.Match_AnyValue(),
		}),
	} {
		check(t, name, func() {
			tpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), assertions.Match_ObjectEquals(props))
		})
	}
}

// rulesMetrics is the metric math of an alarm on the sum of one EventBridge
// metric over the stack's two rules.
func rulesMetrics(t *testing.T, tpl assertions.Template, metric string) []any {
	t.Helper()
	ids, _ := resourcesOfType(t, tpl, "AWS::Events::Rule")
	var metrics []any
	for i, id := range ids {
		metrics = append(metrics, map[string]any{
			"Id": fmt.Sprintf("r%d", i), "ReturnData": false,
			"MetricStat": map[string]any{"Metric": map[string]any{
				"Namespace": "AWS/Events", "MetricName": metric,
				"Dimensions": []any{map[string]any{"Name": "RuleName", "Value": ref(id)}},
			}, "Period": 300, "Stat": "Sum"},
		})
	}
	return append([]any{map[string]any{"Id": "expr_1", "Expression": "SUM([FILL(r0, 0), FILL(r1, 0)])",
		"Label": assertions.Match_AnyValue(), "ReturnData": true}}, metrics...)
}

func TestOutputs(t *testing.T) {
	_, tpl := synth(t, nil).only(t)
	outputs, _ := templateJSON(t, tpl)["Outputs"].(map[string]any)
	for _, name := range []string{"FunctionName", "FunctionRoleArn", "FailedEventsQueueUrl"} {
		if _, ok := outputs[name]; !ok {
			t.Errorf("no output %s in %v", name, outputs)
		}
	}
	if _, ok := outputs["AlarmTopicArn"]; ok {
		t.Error("an alarm topic output without an alarm topic")
	}
}

// cdk-nag's AwsSolutions pack finds nothing, and every suppression gives its reason.
func TestNag(t *testing.T) {
	for _, context := range []map[string]any{nil, every, org} {
		s := synth(t, context)
		for _, st := range s.stacks {
			annotations := assertions.Annotations_FromStack(st)
			nag := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
			check(t, *st.StackName()+": cdk-nag errors", func() { annotations.HasNoError(jsii.String("*"), nag) })
			check(t, *st.StackName()+": cdk-nag warnings", func() { annotations.HasNoWarning(jsii.String("*"), nag) })
			walkSuppressions(templateJSON(t, s.templates[*st.StackName()])["Resources"], func(id string, rule map[string]any) {
				reason, _ := rule["reason"].(string)
				if len(reason) < 40 {
					t.Errorf("%s: %s suppresses %v with too short a reason: %q", *st.StackName(), id, rule["id"], reason)
				}
			})
		}
	}
}

func walkSuppressions(resources any, visit func(id string, rule map[string]any)) {
	m, _ := resources.(map[string]any)
	for id, r := range m {
		meta, _ := r.(map[string]any)["Metadata"].(map[string]any)
		nag, _ := meta["cdk_nag"].(map[string]any)
		rules, _ := nag["rules_to_suppress"].([]any)
		for _, rule := range rules {
			visit(id, rule.(map[string]any))
		}
	}
}

func TestEveryOption(t *testing.T) {
	s := synth(t, every)
	if len(s.stacks) != 2 {
		t.Fatalf("%d stacks, want one per region", len(s.stacks))
	}
	for _, region := range []string{"eu-west-1", "us-gov-west-1"} {
		t.Run(region, func(t *testing.T) {
			st := s.stacks[0]
			if region == "us-gov-west-1" {
				st = s.stacks[1]
			}
			if got, want := *st.StackName(), stack.StackName+"-"+region; got != want {
				t.Errorf("stack name %q, want %q", got, want)
			}
			if got := *st.Region(); got != region {
				t.Errorf("stack region %q, want %q", got, region)
			}
			tpl := s.template(t, *st.StackName())
			role := onlyID(t, tpl, "AWS::IAM::Role")
			check(t, "environment", func() {
				tpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), obj(map[string]any{
					"Environment": map[string]any{"Variables": assertions.Match_ObjectEquals(obj(map[string]any{
						"DRY_RUN":               "true",
						"SERVICES":              "logs",
						"LOGS_TEMPLATE":         "logs-strict",
						"LOG_GROUP_PATTERNS":    "/aws/lambda/*,app-*",
						"CHECK_MODE":            "subset",
						"REWRITE":               "narrow",
						"EXEMPT_TAG":            "team=platform",
						"SWEEP_CONCURRENCY":     "8",
						"MAX_WRITES_PER_SECOND": "0.5",
						"ACCOUNTS":              "444455556666,777788889999",
						"FINDINGS":              "securityhub",
						"SELF_ROLE_ARN":         getAtt(role, "Arn"),
					}))},
					"LoggingConfig": map[string]any{"ApplicationLogLevel": "DEBUG", "LogFormat": "JSON"},
				}))
			})
			check(t, "reserved concurrency", func() {
				tpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), obj(map[string]any{"ReservedConcurrentExecutions": 20}))
			})
			check(t, "retention", func() {
				tpl.HasResourceProperties(jsii.String("AWS::Logs::LogGroup"), obj(map[string]any{"RetentionInDays": 365}))
			})
			check(t, "sweep", func() {
				tpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), obj(map[string]any{"ScheduleExpression": "cron(0 3 * * ? *)"}))
			})
			detail := eventPattern(t, tpl)["detail"].(map[string]any)
			create := detail["$or"].([]any)[0].(map[string]any)
			names := create["requestParameters"].(map[string]any)["CreateVpcEndpointRequest"].(map[string]any)["ServiceName"]
			if want := []any{
				map[string]any{"suffix": ".logs"}, map[string]any{"suffix": ".logs-fips"},
				map[string]any{"suffix": ".stream-logs"}, map[string]any{"suffix": ".stream-logs-fips"},
				map[string]any{"suffix": ".syslog-logs"},
			}; !reflect.DeepEqual(names, want) {
				t.Errorf("service names %s, want the logs endpoints' alone", jsonString(names))
			}
			testTopic(t, tpl)
			testTrail(t, tpl)
		})
	}
}

// fromOwnAlarms is the condition that admits CloudWatch for this account's
// alarms only.
var fromOwnAlarms = map[string]any{
	"StringEquals": map[string]any{"aws:SourceAccount": map[string]any{"Ref": "AWS::AccountId"}},
	"ArnLike":      map[string]any{"aws:SourceArn": map[string]any{"Fn::Sub": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"}},
}

func testTopic(t *testing.T, tpl assertions.Template) {
	t.Helper()
	topic := onlyID(t, tpl, "AWS::SNS::Topic")
	key := onlyID(t, tpl, "AWS::KMS::Key")
	check(t, "topic", func() {
		tpl.HasResourceProperties(jsii.String("AWS::SNS::Topic"), obj(map[string]any{"KmsMasterKeyId": getAtt(key, "Arn")}))
	})
	check(t, "topic SSL", func() {
		tpl.HasResourceProperties(jsii.String("AWS::SNS::TopicPolicy"), obj(map[string]any{
			"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{map[string]any{
				"Effect": "Deny", "Action": "sns:Publish", "Principal": "*",
				"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
				"Resource":  ref(topic), "Sid": assertions.Match_AnyValue(),
			}})},
		}))
	})
	// The topic policy replaces the default one, which let the account's
	// alarms publish: without this Allow no alarm would ever notify anyone.
	check(t, "CloudWatch may publish", func() {
		tpl.HasResourceProperties(jsii.String("AWS::SNS::TopicPolicy"), obj(map[string]any{
			"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{map[string]any{
				"Sid": "CloudWatchAlarmsPublish", "Effect": "Allow", "Action": "sns:Publish",
				"Principal": map[string]any{"Service": "cloudwatch.amazonaws.com"},
				"Resource":  ref(topic), "Condition": fromOwnAlarms,
			}})},
		}))
	})
	check(t, "subscription", func() {
		tpl.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), assertions.Match_ObjectEquals(obj(map[string]any{
			"Protocol": "email", "Endpoint": "ops@example.com", "TopicArn": ref(topic),
		})))
	})
	check(t, "key", func() {
		tpl.HasResourceProperties(jsii.String("AWS::KMS::Key"), obj(map[string]any{
			"EnableKeyRotation": true,
			"KeyPolicy": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{map[string]any{
				"Sid": "CloudWatchAlarmsPublish", "Effect": "Allow",
				"Principal": map[string]any{"Service": "cloudwatch.amazonaws.com"},
				"Action":    []any{"kms:Decrypt", "kms:GenerateDataKey"}, "Resource": "*",
				"Condition": fromOwnAlarms,
			}})},
		}))
	})
	_, alarms := resourcesOfType(t, tpl, "AWS::CloudWatch::Alarm")
	var expressions []string
	for id, a := range alarms {
		props := a["Properties"].(map[string]any)
		if got := props["AlarmActions"]; !reflect.DeepEqual(got, []any{ref(topic)}) {
			t.Errorf("alarm %s notifies %v, want the topic", id, got)
		}
		if m, ok := props["Metrics"].([]any); ok {
			expressions = append(expressions, m[0].(map[string]any)["Expression"].(string))
		}
	}
	// Ten in a dry run with a sweep, and one for the findings.
	if len(alarms) != 11 {
		t.Errorf("%d alarms, want 11", len(alarms))
	}
	// In dry-run mode the notice is about what would be rewritten.
	if !strings.Contains(strings.Join(expressions, " "), "SUM(NonCompliant)") {
		t.Errorf("alarm expressions %q, want one on NonCompliant in dry-run mode", expressions)
	}
}

func testTrail(t *testing.T, tpl assertions.Template) {
	t.Helper()
	check(t, "trail", func() {
		tpl.HasResourceProperties(jsii.String("AWS::CloudTrail::Trail"), obj(map[string]any{
			"IsLogging":                  true,
			"IsMultiRegionTrail":         false,
			"IncludeGlobalServiceEvents": false,
			"EnableLogFileValidation":    true,
			"EventSelectors": []any{map[string]any{
				"IncludeManagementEvents": true, "ReadWriteType": "WriteOnly",
			}},
		}))
	})
	check(t, "buckets", func() {
		tpl.AllResourcesProperties(jsii.String("AWS::S3::Bucket"), obj(map[string]any{
			"BucketEncryption": map[string]any{"ServerSideEncryptionConfiguration": []any{map[string]any{
				"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"},
			}}},
			"PublicAccessBlockConfiguration": map[string]any{
				"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true,
			},
		}))
	})
	check(t, "bucket count", func() { tpl.ResourceCountIs(jsii.String("AWS::S3::Bucket"), jsii.Number(2)) })
	check(t, "a year of logs", func() {
		tpl.AllResourcesProperties(jsii.String("AWS::S3::Bucket"), obj(map[string]any{
			"LifecycleConfiguration": map[string]any{"Rules": []any{map[string]any{
				"ExpirationInDays": 365, "NoncurrentVersionExpiration": map[string]any{"NoncurrentDays": 30}, "Status": "Enabled",
			}}},
		}))
	})
	// CloudTrail is admitted for this trail only (no confused deputy).
	trailARN := map[string]any{"Fn::Sub": "arn:${AWS::Partition}:cloudtrail:${AWS::Region}:${AWS::AccountId}:trail/" + stack.TrailName}
	check(t, "the bucket admits this trail only", func() {
		tpl.HasResourceProperties(jsii.String("AWS::S3::BucketPolicy"), obj(map[string]any{
			"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(obj(map[string]any{"Sid": "TrailReadsAcl", "Action": "s3:GetBucketAcl",
					"Principal": map[string]any{"Service": "cloudtrail.amazonaws.com"},
					"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceArn": trailARN}}})),
				assertions.Match_ObjectLike(obj(map[string]any{"Sid": "TrailWrites", "Action": "s3:PutObject",
					"Principal": map[string]any{"Service": "cloudtrail.amazonaws.com"},
					"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceArn": trailARN, "s3:x-amz-acl": "bucket-owner-full-control"}}})),
			})},
		}))
	})
	_, policies := resourcesOfType(t, tpl, "AWS::S3::BucketPolicy")
	walkStatements(map[string]any{"policies": policies}, func(where string, st map[string]any) {
		if st["Effect"] == "Allow" && strings.Contains(jsonString(st["Principal"]), "cloudtrail") && !strings.Contains(jsonString(st["Condition"]), "aws:SourceArn") {
			t.Errorf("%s: CloudTrail allowed without aws:SourceArn: %s", where, jsonString(st))
		}
	})
}

func TestSweepOff(t *testing.T) {
	_, tpl := synth(t, map[string]any{stack.KeySweepSchedule: "off"}).only(t)
	check(t, "rules", func() { tpl.ResourceCountIs(jsii.String("AWS::Events::Rule"), jsii.Number(1)) })
	check(t, "no schedule", func() {
		tpl.AllResourcesProperties(jsii.String("AWS::Events::Rule"), obj(map[string]any{"ScheduleExpression": assertions.Match_Absent()}))
	})
}

// A context value the function would refuse stops the app before any stack.
func TestBuildRejectsContext(t *testing.T) {
	requireNode(t)
	_, stacks, err := build(t, map[string]any{stack.KeyCheckMode: "loose", "dryrun": "true"})
	if err == nil {
		t.Fatalf("Build made %d stacks, want an error", len(stacks))
	}
	for _, want := range []string{`context checkMode="loose": want subset or exact`, `context dryrun="true": unknown key, did you mean dryRun?`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func jsonString(v any) string {
	data, _ := json.Marshal(v)
	return string(data)
}

// With findings, their failures are alarmed too; without, there is no such alarm.
func TestFindingsFailedAlarm(t *testing.T) {
	for _, tc := range []struct {
		findings string
		want     float64
	}{{"securityhub", 1}, {"none", 0}} {
		_, tpl := synth(t, map[string]any{stack.KeyFindings: tc.findings}).only(t)
		props := obj(map[string]any{
			"Namespace": "vpce-guard", "MetricName": "FindingsFailed", "Statistic": "Sum", "Period": 300,
			"Dimensions":         []any{map[string]any{"Name": "Target", "Value": "securityhub"}},
			"ComparisonOperator": "GreaterThanOrEqualToThreshold", "Threshold": 1, "EvaluationPeriods": 1,
			"TreatMissingData": "notBreaching", "AlarmDescription": assertions.Match_AnyValue(),
		})
		check(t, tc.findings, func() {
			tpl.ResourcePropertiesCountIs(jsii.String("AWS::CloudWatch::Alarm"), assertions.Match_ObjectEquals(props), jsii.Number(tc.want))
		})
	}
}
