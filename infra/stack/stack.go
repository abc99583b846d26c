package stack

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudtrail"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/lambda/metrics"
)

// Sizing of the function and its failure handling.
const (
	// MemoryMB buys CPU, not memory: Lambda gives a function CPU in
	// proportion to its memory (a vCPU at 1,769 MB). A sweep of 10,000
	// endpoints peaks at 44 MiB, but at 128 MB (7% of a vCPU) checking a page
	// of hostile policies would take most of the 15 minutes; 512 MB is 29%.
	MemoryMB = 512
	// TimeoutMinutes is Lambda's longest, for the sweep: it stops itself a
	// tenth before (lambda/handler's margin), so that at the default pace of
	// two writes a second one sweep rewrites about 1,600 endpoints and the
	// next goes on from there; checking 10,000 takes seconds.
	TimeoutMinutes = 15
	// RetryAttempts is how often Lambda retries a failed asynchronous
	// invocation before it goes to the on-failure queue.
	RetryAttempts = 2
	// MaxEventAgeHours keeps an event waiting through throttling for as long
	// as Lambda allows: the function reads the endpoint's current state, so an
	// old event is still correct, and a dropped one leaves a gap until the sweep.
	MaxEventAgeHours = 6
	// FailedEventsRetentionDays is how long failed events wait for someone
	// to look at them, SQS's maximum.
	FailedEventsRetentionDays = 14
	// AlarmPeriodMinutes is the period of every alarm but the heartbeat.
	AlarmPeriodMinutes = 5
	// HeartbeatHours: an alarm when the function ran not once in this long,
	// a daily sweep and an hour of slack.
	HeartbeatHours = 25
)

// Function names, fixed so that the role's conditions can name the function
// without a reference cycle (lambda:SourceFunctionArn): one per region.
const (
	FunctionName    = "vpce-guard"
	HubFunctionName = "vpce-guard-hub"
)

// Props configure one vpce-guard stack.
type Props struct {
	awscdk.StackProps
	Settings Settings
	// ModuleRoot is the folder of go.mod, where the function is built.
	ModuleRoot string
}

// New adds a vpce-guard stack to scope: the function, its role, log group,
// event and sweep rules, failure queue, alarms, and on request an alarm topic
// and a CloudTrail trail.
func New(scope constructs.Construct, id string, props *Props) awscdk.Stack {
	st := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)
	s := props.Settings

	role := awsiam.NewRole(st, jsii.String("FunctionRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("vpce-guard: reads VPC endpoints and rewrites their policies"),
	})
	g := newGuard(st, props, FunctionName, role, s.Environment(*role.RoleArn()))
	for _, statement := range functionStatements(s, g.logGroup, g.failed) {
		role.AddToPrincipalPolicy(statement)
	}

	g.rule("EndpointChanges", &awsevents.RuleProps{
		Description: jsii.String("vpce-guard: CreateVpcEndpoint for guarded services and ModifyVpcEndpoint, by anyone but vpce-guard"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings(config.EventSource),
			DetailType: jsii.Strings(config.EventDetailType),
			Detail:     ptr(EventDetail(s.GuardedServices(), *role.RoleArn())),
		},
	})
	if s.SweepSchedule != "" {
		g.rule("Sweep", &awsevents.RuleProps{
			Description: jsii.String("vpce-guard: checks every VPC endpoint of the region"),
			Schedule:    awsevents.Schedule_Expression(jsii.String(s.SweepSchedule)),
		})
	}
	if s.CreateTrail {
		trail(st)
	}
	g.finish(s)
	output(st, "FunctionRoleArn", role.RoleArn(), "the function's role, which the event rule leaves out")
	suppress(role, g.failed)
	return st
}

// guard is what every vpce-guard stack has: the function, its log group, its
// failure queue, alarms and, on request, an alarm topic.
type guard struct {
	st       awscdk.Stack
	fn       awslambda.Function
	logGroup awslogs.LogGroup
	failed   awssqs.Queue
	rules    []watchedRule // those that invoke the function, watched by alarms
	swept    bool          // a schedule invokes the function: it runs at least daily
}

// watchedRule is a rule and, for one on a custom bus, the bus's name:
// EventBridge's metrics of such a rule have both as dimensions.
type watchedRule struct {
	rule awsevents.Rule
	bus  string
}

// functionARN is the ARN of the function named name in the stack's region;
// any region's with anyRegion (the hubs share one role).
func functionARN(name string, anyRegion bool) *string {
	region := "${AWS::Region}"
	if anyRegion {
		region = "*"
	}
	return awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:lambda:"+region+":${AWS::AccountId}:function:"+name), nil)
}

// onlyFromFunction is the condition that keeps a statement to the
// credentials of the named function: whoever may pass the role to a function
// of their own still cannot act with it.
func onlyFromFunction(name string, anyRegion bool) *map[string]any {
	return &map[string]any{"ArnLike": map[string]any{"lambda:SourceFunctionArn": *functionARN(name, anyRegion)}}
}

// newGuard adds the function named name, with role and environment env, its
// log group and its failure queue to st.
func newGuard(st awscdk.Stack, props *Props, name string, role awsiam.IRole, environment map[string]string) *guard {
	s := props.Settings
	g := &guard{st: st}
	g.logGroup = awslogs.NewLogGroup(st, jsii.String("FunctionLogs"), &awslogs.LogGroupProps{
		Retention: retentionDays[s.LogRetentionDays],
		// The log group is the record of what vpce-guard changed: it outlives the stack.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	g.failed = awssqs.NewQueue(st, jsii.String("FailedEvents"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(FailedEventsRetentionDays)),
	})
	env := map[string]*string{}
	for k, v := range environment {
		env[k] = jsii.String(v)
	}
	var reserved *float64
	if s.ReservedConcurrency > 0 {
		reserved = jsii.Number(float64(s.ReservedConcurrency))
	}
	g.fn = awslambda.NewFunction(st, jsii.String("Function"), &awslambda.FunctionProps{
		FunctionName:                 jsii.String(name),
		ReservedConcurrentExecutions: reserved,
		Description:                  jsii.String("vpce-guard: keeps VPC endpoint policies no broader than their template"),
		Runtime:                      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:                 awslambda.Architecture_ARM_64(),
		Handler:                      jsii.String("bootstrap"),
		Code: awslambda.Code_FromAsset(jsii.String(props.ModuleRoot), &awss3assets.AssetOptions{
			// The hash of the binary, not of the whole repository.
			AssetHashType: awscdk.AssetHashType_OUTPUT,
			Bundling: &awscdk.BundlingOptions{
				Local: &goBundling{moduleRoot: props.ModuleRoot},
				// Required by the API and never run: goBundling never falls back.
				Image: awscdk.DockerImage_FromRegistry(jsii.String("vpce-guard/go-build-is-local-only")),
			},
		}),
		MemorySize:            jsii.Number(MemoryMB),
		Timeout:               awscdk.Duration_Minutes(jsii.Number(TimeoutMinutes)),
		Role:                  role,
		LogGroup:              g.logGroup,
		LoggingFormat:         awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2: awslambda.ApplicationLogLevel(s.LogLevel),
		SystemLogLevelV2:      awslambda.SystemLogLevel_INFO,
		Environment:           &env,
		RetryAttempts:         jsii.Number(RetryAttempts),
		MaxEventAge:           awscdk.Duration_Hours(jsii.Number(MaxEventAgeHours)),
		OnFailure:             &queueDestination{queue: g.failed},
	})
	return g
}

// rule adds a rule whose target is the function: events EventBridge could
// not deliver to it end up with the ones it failed on.
func (g *guard) rule(id string, props *awsevents.RuleProps) awsevents.Rule {
	props.Targets = &[]awsevents.IRuleTarget{
		awseventstargets.NewLambdaFunction(g.fn, &awseventstargets.LambdaFunctionProps{DeadLetterQueue: g.failed}),
	}
	r := awsevents.NewRule(g.st, jsii.String(id), props)
	w := watchedRule{rule: r}
	if bus, ok := props.EventBus.(awsevents.IEventBus); ok && bus != nil {
		w.bus = *bus.EventBusName()
	}
	g.rules = append(g.rules, w)
	g.swept = g.swept || props.Schedule != nil
	return r
}

// finish adds the alarms, the topic they notify, and the outputs.
func (g *guard) finish(s Settings) {
	var topic awssns.Topic
	if s.AlarmEmail != "" {
		topic = alarmTopic(g.st, s.AlarmEmail)
	}
	for _, alarm := range g.alarms(s) {
		if topic != nil {
			alarm.AddAlarmAction(awscloudwatchactions.NewSnsAction(topic))
		}
	}
	output(g.st, "FunctionName", g.fn.FunctionName(), "the function; its logs and metrics tell what it did")
	output(g.st, "FailedEventsQueueUrl", g.failed.QueueUrl(), "events the function could not handle after its retries")
	if topic != nil {
		output(g.st, "AlarmTopicArn", topic.TopicArn(), "the alarms' SNS topic")
	}
}

// functionStatements are the function role's permissions, all of them:
// reading endpoints, rewriting their policies (unless in dry-run mode),
// reporting to Security Hub (when asked), writing its own logs, and sending
// failed events to its queue.
func functionStatements(s Settings, logGroup awslogs.LogGroup, failed awssqs.Queue) []awsiam.PolicyStatement {
	statements := []awsiam.PolicyStatement{
		// DescribeVpcEndpoints supports no resource-level permissions.
		statement("DescribeEndpoints", []string{"ec2:DescribeVpcEndpoints"}, jsii.String("*")),
	}
	if !s.DryRun {
		rewrite := statement("RewriteEndpointPolicies", []string{"ec2:ModifyVpcEndpoint"},
			awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc-endpoint/*"), nil))
		rewrite.AddConditions(onlyFromFunction(FunctionName, false))
		record := recordRewrites("${AWS::Region}")
		record.AddConditions(onlyFromFunction(FunctionName, false))
		statements = append(statements, rewrite, record, denyNetworkChanges("${AWS::Region}"))
	}
	if s.ReadsOrganization() {
		// DescribeOrganization takes no resource ARN.
		statements = append(statements, statement("ReadOrganizationID", []string{"organizations:DescribeOrganization"}, jsii.String("*")))
	}
	if s.ReportsFindings() {
		statements = append(statements, findingsStatements(s, "${AWS::Region}", onlyFromFunction(FunctionName, false))...)
	}
	return append(statements, ownStatements(logGroup, failed)...)
}

// recordRewrites lets the role write one tag on endpoints, the record of its
// last rewrite (config.RewrittenTagKey), and no other: never the exemption
// tag, which would let it exempt what it guards.
func recordRewrites(region string) awsiam.PolicyStatement {
	st := statement("RecordRewrites", []string{"ec2:CreateTags"},
		awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:ec2:"+region+":${AWS::AccountId}:vpc-endpoint/*"), nil))
	st.AddConditions(&map[string]any{
		"ForAllValues:StringEquals": map[string]any{"aws:TagKeys": []string{config.RewrittenTagKey}},
		// ForAllValues holds for a request with no tag keys at all.
		"Null": map[string]any{"aws:TagKeys": "false"},
	})
	return st
}

// denyNetworkChanges denies the role what ModifyVpcEndpoint can also do and
// vpce-guard never does: its writes carry only PolicyDocument, so they are
// authorized on the endpoint alone, while adding or removing subnets,
// security groups or route tables is authorized on those too (the Service
// Authorization Reference lists them as ModifyVpcEndpoint's optional
// resource types).
func denyNetworkChanges(region string) awsiam.PolicyStatement {
	var resources []*string
	for _, typ := range []string{"route-table", "security-group", "subnet"} {
		resources = append(resources, awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:ec2:"+region+":${AWS::AccountId}:"+typ+"/*"), nil))
	}
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("DenyEndpointNetworkChanges"),
		Effect:    awsiam.Effect_DENY,
		Actions:   jsii.Strings("ec2:ModifyVpcEndpoint"),
		Resources: &resources,
	})
}

// ownStatements let the function write its own logs and send to its failure
// queue.
func ownStatements(logGroup awslogs.LogGroup, failed awssqs.Queue) []awsiam.PolicyStatement {
	return []awsiam.PolicyStatement{
		// The log group's ARN ends in :*, which covers its streams.
		statement("WriteOwnLogs", []string{"logs:CreateLogStream", "logs:PutLogEvents"}, logGroup.LogGroupArn()),
		statement("SendFailedEvents", []string{"sqs:SendMessage"}, failed.QueueArn()),
	}
}

// statement is an Allow of actions on resources.
func statement(sid string, actions []string, resources ...*string) awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String(sid),
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings(actions...),
		Resources: &resources,
	})
}

// queueDestination is the function's on-failure destination. Unlike
// awslambdadestinations.SqsDestination it grants nothing: functionStatements
// already allows sqs:SendMessage, and nothing else is needed.
type queueDestination struct {
	queue awssqs.IQueue
}

var _ awslambda.IDestination = (*queueDestination)(nil)

func (d *queueDestination) Bind(constructs.Construct, awslambda.IFunction, *awslambda.DestinationOptions) *awslambda.DestinationConfig {
	return &awslambda.DestinationConfig{Destination: d.queue.QueueArn()}
}

// alarms watch the function, its rules, its queue of failed events and its
// own metrics. Each one fires on a single data point: for a guard, one
// failure is news; and nothing may fail silently.
func (g *guard) alarms(s Settings) []awscloudwatch.Alarm {
	st, fn := g.st, g.fn
	period := awscdk.Duration_Minutes(jsii.Number(AlarmPeriodMinutes))
	alarm := func(id, description string, metric awscloudwatch.IMetric) awscloudwatch.Alarm {
		return awscloudwatch.NewAlarm(st, jsii.String(id), &awscloudwatch.AlarmProps{
			Metric:             metric,
			AlarmDescription:   jsii.String(description),
			Threshold:          jsii.Number(1),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
	}
	sum := &awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Sum")}
	// Metrics Insights adds up a metric over every value of the Service
	// dimension, which grows with the endpoints the function meets.
	insights := func(metric, label string) awscloudwatch.IMetric {
		return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression: jsii.String(fmt.Sprintf(`SELECT SUM(%s) FROM SCHEMA(%q, %s)`, metric, metrics.Namespace, metrics.DimensionService)),
			Label:      jsii.String(label),
			Period:     period,
		})
	}
	// rulesSum adds up one EventBridge metric of every rule that invokes the
	// function.
	rulesSum := func(metric string) awscloudwatch.IMetric {
		using := map[string]awscloudwatch.IMetric{}
		var terms []string
		for i, r := range g.rules {
			id := fmt.Sprintf("r%d", i)
			dimensions := map[string]*string{"RuleName": r.rule.RuleName()}
			if r.bus != "" {
				dimensions["EventBusName"] = jsii.String(r.bus)
			}
			using[id] = awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
				Namespace: jsii.String("AWS/Events"), MetricName: jsii.String(metric),
				DimensionsMap: &dimensions, Period: period, Statistic: jsii.String("Sum"),
			})
			terms = append(terms, "FILL("+id+", 0)")
		}
		return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression: jsii.String("SUM([" + strings.Join(terms, ", ") + "])"), UsingMetrics: &using,
			Label: jsii.String(metric + " of the rules"), Period: period,
		})
	}
	all := []awscloudwatch.Alarm{
		alarm("FunctionErrorsAlarm", "vpce-guard failed an invocation (an AWS call failed after its retries, or the configuration is invalid): see the function's ERROR log lines.",
			fn.MetricErrors(sum)),
		alarm("FunctionThrottlesAlarm", "vpce-guard was throttled: events wait and are retried for up to 6 hours; check the account's Lambda concurrency.",
			fn.MetricThrottles(sum)),
		alarm("FailedEventsAlarm", "Events that vpce-guard could not handle are waiting in its on-failure queue: read them, fix the cause, replay them with vpce-guard replay or wait for the sweep.",
			g.failed.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Maximum")})),
		alarm("EndpointErrorsAlarm", "vpce-guard could not check or rewrite an endpoint, or dropped a malformed event: see the outcome lines with an error in the function's log.",
			insights(metrics.Errors, "endpoint errors")),
		alarm("RuleFailedInvocationsAlarm", "EventBridge could not invoke vpce-guard for an event (after its retries the event went to the failure queue): check the function's permission and state.",
			rulesSum("FailedInvocations")),
		alarm("RuleDeadLetterFailuresAlarm", "EventBridge could not put an event it failed to deliver into vpce-guard's failure queue: the event is lost; check the queue's policy and encryption.",
			rulesSum("InvocationsFailedToBeSentToDlq")),
		alarm("AsyncEventsDroppedAlarm", "Lambda dropped events for vpce-guard without running it (too old, or retries exhausted with no destination): the sweep will cover those endpoints.",
			fn.Metric(jsii.String("AsyncEventsDropped"), sum)),
		alarm("DestinationDeliveryFailuresAlarm", "Lambda could not put a failed invocation of vpce-guard into its failure queue: the event is lost; check the queue's policy.",
			fn.Metric(jsii.String("DestinationDeliveryFailures"), sum)),
	}
	if g.swept {
		// Missing data breaches: a function that stopped running sends none.
		all = append(all, awscloudwatch.NewAlarm(st, jsii.String("HeartbeatAlarm"), &awscloudwatch.AlarmProps{
			Metric: fn.MetricInvocations(&awscloudwatch.MetricOptions{Period: awscdk.Duration_Hours(jsii.Number(1)), Statistic: jsii.String("Sum")}),
			AlarmDescription: jsii.String(fmt.Sprintf("vpce-guard ran not once in %d hours, though the sweep runs daily: its schedule or the function is disabled, deleted or failing to start; "+
				"events alone do not keep this alarm quiet in an account where no endpoint changes.", HeartbeatHours)),
			Threshold:          jsii.Number(1),
			EvaluationPeriods:  jsii.Number(HeartbeatHours),
			DatapointsToAlarm:  jsii.Number(HeartbeatHours),
			ComparisonOperator: awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_BREACHING,
		}))
	}
	if s.ReportsFindings() {
		all = append(all, alarm("FindingsFailedAlarm", "Security Hub refused or lost findings of vpce-guard (not enabled in the region, a missing permission, throttling): the remediation went on; see the function's log lines findings not imported, findings refused and findings not resolved.",
			awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
				Namespace: jsii.String(metrics.Namespace), MetricName: jsii.String(metrics.FindingsFailed),
				DimensionsMap: &map[string]*string{metrics.DimensionTarget: jsii.String(metrics.TargetSecurityHub)},
				Period:        period, Statistic: jsii.String("Sum"),
			})))
	}
	if s.DryRun {
		all = append(all, alarm("NonCompliantAlarm", "Dry run: vpce-guard found endpoint policies broader than their template (outcome lines with action wouldRewrite in the function's log).",
			insights(metrics.NonCompliant, "non-compliant endpoints")))
	} else {
		all = append(all, alarm("RewrittenAlarm", "vpce-guard rewrote endpoint policies that were broader than their template (outcome lines with action rewritten in the function's log).",
			insights(metrics.Rewritten, "rewritten endpoint policies")),
			alarm("RewrittenAgainAlarm", "vpce-guard rewrote an endpoint policy it had rewritten before: something keeps putting a broad policy back, most often infrastructure as code. "+
				"The outcome line (rewrittenBefore, owner) names the source: fix the policy there, or the two fight for ever.",
				insights(metrics.RewrittenAgain, "endpoint policies rewritten again")))
	}
	return all
}

// alarmTopic is an SNS topic encrypted with a key of its own, the only kind
// CloudWatch can publish to: the AWS managed SNS key does not let it in. Its
// policy must allow CloudWatch in: the TLS-only Deny that EnforceSSL writes
// replaces the topic's default policy, and without an Allow every alarm's
// notification would fail.
func alarmTopic(st awscdk.Stack, email string) awssns.Topic {
	// CloudWatch, for this account's alarms only (no confused deputy).
	fromOwnAlarms := &map[string]any{
		"StringEquals": map[string]any{"aws:SourceAccount": *awscdk.Aws_ACCOUNT_ID()},
		"ArnLike":      map[string]any{"aws:SourceArn": *awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"), nil)},
	}
	cloudwatch := awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)
	key := awskms.NewKey(st, jsii.String("AlarmTopicKey"), &awskms.KeyProps{
		Description:       jsii.String("vpce-guard: encrypts the alarm topic"),
		EnableKeyRotation: jsii.Bool(true),
	})
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublish"),
		Effect:     awsiam.Effect_ALLOW,
		Principals: &[]awsiam.IPrincipal{cloudwatch},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey"),
		Resources:  jsii.Strings("*"),
		Conditions: fromOwnAlarms,
	}), nil)
	topic := awssns.NewTopic(st, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("vpce-guard alarms"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublish"),
		Effect:     awsiam.Effect_ALLOW,
		Principals: &[]awsiam.IPrincipal{cloudwatch},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  jsii.Strings(*topic.TopicArn()),
		Conditions: fromOwnAlarms,
	}))
	topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(email), nil))
	return topic
}

// TrailName is the trail's name, fixed so that its bucket's policy can admit
// it alone (aws:SourceArn) before it exists.
const TrailName = "vpce-guard"

// trail records the region's management write events, which EventBridge
// passes on to the rule, into a bucket of its own whose policy admits this
// trail only. Both buckets expire what they hold after a year (the log
// group's retention): the trail is an input, the log group the record.
func trail(st awscdk.Stack) {
	year := &[]*awss3.LifecycleRule{{
		Expiration:                  awscdk.Duration_Days(jsii.Number(365)),
		NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(30)),
	}}
	bucket := func(id string, accessLogs awss3.IBucket) awss3.Bucket {
		return awss3.NewBucket(st, jsii.String(id), &awss3.BucketProps{
			BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
			Encryption:             awss3.BucketEncryption_S3_MANAGED,
			EnforceSSL:             jsii.Bool(true),
			ObjectOwnership:        awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
			Versioned:              jsii.Bool(true),
			ServerAccessLogsBucket: accessLogs,
			RemovalPolicy:          awscdk.RemovalPolicy_RETAIN,
			LifecycleRules:         year,
		})
	}
	accessLogs := bucket("TrailAccessLogs", nil)
	trailBucket := bucket("TrailBucket", accessLogs)
	fromTrail := &map[string]any{"StringEquals": map[string]any{
		"aws:SourceArn": *awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:cloudtrail:${AWS::Region}:${AWS::AccountId}:trail/"+TrailName), nil),
	}}
	cloudtrail := awsiam.NewServicePrincipal(jsii.String("cloudtrail.amazonaws.com"), nil)
	trailBucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("TrailReadsAcl"), Effect: awsiam.Effect_ALLOW, Principals: &[]awsiam.IPrincipal{cloudtrail},
		Actions: jsii.Strings("s3:GetBucketAcl"), Resources: jsii.Strings(*trailBucket.BucketArn()), Conditions: fromTrail,
	}))
	trailBucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("TrailWrites"), Effect: awsiam.Effect_ALLOW, Principals: &[]awsiam.IPrincipal{cloudtrail},
		Actions:   jsii.Strings("s3:PutObject"),
		Resources: jsii.Strings(*trailBucket.ArnForObjects(awscdk.Fn_Sub(jsii.String("AWSLogs/${AWS::AccountId}/*"), nil))),
		Conditions: &map[string]any{"StringEquals": map[string]any{
			"aws:SourceArn": (*fromTrail)["StringEquals"].(map[string]any)["aws:SourceArn"],
			"s3:x-amz-acl":  "bucket-owner-full-control",
		}},
	}))
	t := awscloudtrail.NewCfnTrail(st, jsii.String("Trail"), &awscloudtrail.CfnTrailProps{
		TrailName:                  jsii.String(TrailName),
		IsLogging:                  jsii.Bool(true),
		S3BucketName:               trailBucket.BucketName(),
		IsMultiRegionTrail:         jsii.Bool(false),
		IncludeGlobalServiceEvents: jsii.Bool(false),
		EnableLogFileValidation:    jsii.Bool(true),
		EventSelectors: &[]any{&awscloudtrail.CfnTrail_EventSelectorProperty{
			IncludeManagementEvents: jsii.Bool(true), ReadWriteType: jsii.String("WriteOnly"),
		}},
	})
	// CloudTrail checks the bucket's policy when the trail is created.
	t.AddResourceDependency(trailBucket.Policy().Node().DefaultChild().(awscdk.CfnResource), nil)
}

// suppress explains the cdk-nag findings that are the design, not an oversight.
func suppress(role awsiam.Role, failed awssqs.Queue) {
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("ec2:DescribeVpcEndpoints (and organizations:DescribeOrganization, with templateOrganizationId=auto) supports no resource-level permissions (only *); ec2:ModifyVpcEndpoint is limited to the VPC endpoints of this account and region, every one of which vpce-guard may have to rewrite."),
		AppliesTo: &[]any{
			jsii.String("Resource::*"),
			jsii.String("Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:vpc-endpoint/*"),
		},
	}}, jsii.Bool(true))
	cdknag.NagSuppressions_AddResourceSuppressions(failed, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("This queue is itself the dead-letter queue: the on-failure destination of the function and of its event rules' targets. Nothing consumes it automatically; an alarm tells a person to look."),
	}}, nil)
}

func output(st awscdk.Stack, id string, value *string, description string) {
	awscdk.NewCfnOutput(st, jsii.String(id), &awscdk.CfnOutputProps{Value: value, Description: jsii.String(description)})
}

func ptr[T any](v T) *T { return &v }

// retentionDays are the retention periods CloudWatch Logs accepts.
var retentionDays = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

func retentionList() string {
	days := slices.Sorted(maps.Keys(retentionDays))
	parts := make([]string, len(days))
	for i, d := range days {
		parts[i] = strconv.Itoa(d)
	}
	return strings.Join(parts, ", ")
}
