package stack

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/vpce-guard/vpce-guard/lambda/config"
)

// The names an organization's stacks agree on: the hub's function role is
// trusted by every member role, the member role is assumed by the hub, and
// the member rules send to the hub bus of their region.
const (
	HubStackName        = "VpceGuardHub"
	HubBusName          = "vpce-guard-hub"
	HubFunctionRoleName = "VpceGuardHubFunction"
	MemberRoleName      = "VpceGuardMember"

	// The stack sets, and the member stacks they make.
	MemberRegionalName = "VpceGuardMemberRegional"
	MemberRoleSetName  = "VpceGuardMemberRole"

	// UnitMaxReceives is how often SQS hands a sweep unit out before it goes
	// to the failure queue.
	UnitMaxReceives = 3
)

// buildOrganization adds a hub stack per member region to app; the first
// region's is the primary.
func buildOrganization(app awscdk.App, props func(region string) *Props) ([]awscdk.Stack, error) {
	o := props("").Settings.Organization
	member, err := MemberTemplates(props("").Settings)
	if err != nil {
		return nil, err
	}
	var stacks []awscdk.Stack
	for i, region := range o.Regions {
		stacks = append(stacks, NewHub(app, HubStackName+"-"+region, props(region), i == 0, member))
		if i > 0 {
			// The primary makes the function role the others use.
			stacks[i].AddStackDependency(stacks[0], jsii.String("the primary hub creates the function role"))
		}
	}
	return stacks, nil
}

// NewHub adds an organization's hub stack for one region to scope: a bus
// that admits the organization's accounts, the rule on it, and the function,
// which acts in the member accounts through their role. The primary hub also
// has the sweep (schedule, queue of units) and the stack sets that roll the
// members out.
func NewHub(scope constructs.Construct, id string, props *Props, primary bool, member Member) awscdk.Stack {
	st := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)
	s := props.Settings
	o := s.Organization

	var role awsiam.IRole
	if primary {
		role = awsiam.NewRole(st, jsii.String("FunctionRole"), &awsiam.RoleProps{
			RoleName:    jsii.String(HubFunctionRoleName),
			AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
			Description: jsii.String("vpce-guard's hub: assumes the member role in the organization's accounts"),
		})
	} else {
		role = awsiam.Role_FromRoleName(st, jsii.String("FunctionRole"), jsii.String(HubFunctionRoleName), nil)
	}
	roleARN := awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/"+HubFunctionRoleName), nil)

	g := newGuard(st, props, HubFunctionName, role, s.HubEnvironment(*roleARN, ""))
	var units awssqs.Queue
	if primary {
		units = awssqs.NewQueue(st, jsii.String("SweepUnits"), &awssqs.QueueProps{
			Encryption: awssqs.QueueEncryption_SQS_MANAGED,
			EnforceSSL: jsii.Bool(true),
			// Lambda asks for six times the function's timeout.
			VisibilityTimeout: awscdk.Duration_Minutes(jsii.Number(6 * TimeoutMinutes)),
			// A unit that keeps failing ends with the failed events, alone.
			DeadLetterQueue: &awssqs.DeadLetterQueue{Queue: g.failed, MaxReceiveCount: jsii.Number(UnitMaxReceives)},
		})
		base := s.HubEnvironment(*roleARN, "")
		for k, v := range s.HubEnvironment(*roleARN, *units.QueueUrl()) {
			if base[k] != v {
				g.fn.AddEnvironment(jsii.String(k), jsii.String(v), nil)
			}
		}
	}

	statements := append(ownStatements(g.logGroup, g.failed), awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("AssumeMemberRoles"),
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("sts:AssumeRole"),
		Resources: jsii.Strings(*awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:iam::*:role/"+MemberRoleName), nil)),
		// Only the organization's roles, whatever an account's role says,
		// and only from the hubs' functions (every region's shares the role).
		Conditions: &map[string]any{
			"StringEquals": map[string]any{"aws:ResourceOrgID": o.ID},
			"ArnLike":      map[string]any{"lambda:SourceFunctionArn": *functionARN(HubFunctionName, true)},
		},
	}))
	if s.ReadsOrganization() && !primary {
		statements = append(statements, statement("ReadOrganizationID", []string{"organizations:DescribeOrganization"}, jsii.String("*")))
	}
	if primary {
		statements = append(statements,
			// Organizations' List and Describe calls take no resource ARN
			// worth writing here: the OUs' ARNs hold the management account.
			statement("ListMemberAccounts", []string{"organizations:DescribeOrganization", "organizations:ListAccountsForParent", "organizations:ListChildren"}, jsii.String("*")),
			statement("QueueSweepUnits", []string{"sqs:SendMessage"}, units.QueueArn()))
	}
	policy := awsiam.NewPolicy(st, jsii.String("FunctionPolicy"), &awsiam.PolicyProps{
		// Every hub puts its policy on the one shared role. CDK would name
		// each after its construct ID, the same in every hub, and a role has
		// one inline policy per name: the last hub deployed would replace
		// the others' (and destroying any hub would remove it).
		PolicyName: jsii.String(id),
		Roles:      &[]awsiam.IRole{role},
		Statements: &statements,
	})
	g.fn.Node().AddDependency(policy)

	bus := awsevents.NewEventBus(st, jsii.String("HubBus"), &awsevents.EventBusProps{EventBusName: jsii.String(HubBusName)})
	bus.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("OrganizationPutEvents"),
		Effect:     awsiam.Effect_ALLOW,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("events:PutEvents"),
		Resources:  jsii.Strings(*bus.EventBusArn()),
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": o.ID}},
	}))
	g.rule("EndpointChanges", &awsevents.RuleProps{
		Description: jsii.String("vpce-guard: the member accounts' CreateVpcEndpoint for guarded services and ModifyVpcEndpoint"),
		EventBus:    bus,
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings(config.EventSource),
			DetailType: jsii.Strings(config.EventDetailType),
			Detail:     ptr(EventDetail(s.GuardedServices(), nil)),
		},
	})

	if primary {
		g.fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(units, &awslambdaeventsources.SqsEventSourceProps{
			BatchSize:      jsii.Number(1),
			MaxConcurrency: jsii.Number(float64(o.UnitConcurrency)),
		}))
		if s.SweepSchedule != "" {
			g.rule("Sweep", &awsevents.RuleProps{
				Description: jsii.String("vpce-guard: sweeps every member account and region, one unit each"),
				Schedule:    awsevents.Schedule_Expression(jsii.String(s.SweepSchedule)),
			})
		}
		stackSets(st, o, member, policy)
		output(st, "SweepUnitsQueueUrl", units.QueueUrl(), "the sweep's units, one per member account and region")
	}
	g.finish(s)
	output(st, "HubBusArn", bus.EventBusArn(), "the bus the member rules send to")
	suppressHub(policy, g)
	return st
}

// stackSets roll the member stacks out to the OUs, automatically to accounts
// that join them later: the rule in every member region, the role once per
// account, in the primary region (IAM is global; a second instance would
// collide on the role's name).
func stackSets(st awscdk.Stack, o *Organization, member Member, policy awsiam.Policy) {
	params := func(kv map[string]*string) *[]any {
		var out []any
		for k, v := range kv {
			out = append(out, &awscdk.CfnStackSet_ParameterProperty{ParameterKey: jsii.String(k), ParameterValue: v})
		}
		return &out
	}
	set := func(id, name, description, template string, regions []string, parameters map[string]*string) awscdk.CfnStackSet {
		return awscdk.NewCfnStackSet(st, jsii.String(id), &awscdk.CfnStackSetProps{
			StackSetName:    jsii.String(name),
			Description:     jsii.String(description),
			PermissionModel: jsii.String("SERVICE_MANAGED"),
			AutoDeployment: &awscdk.CfnStackSet_AutoDeploymentProperty{
				Enabled:                      jsii.Bool(true),
				RetainStacksOnAccountRemoval: jsii.Bool(false),
			},
			Capabilities: jsii.Strings("CAPABILITY_NAMED_IAM"),
			// The StackSets service is reached from a delegated administrator too.
			CallAs:       jsii.String("SELF"),
			TemplateBody: jsii.String(template),
			Parameters:   params(parameters),
			OperationPreferences: &awscdk.CfnStackSet_OperationPreferencesProperty{
				RegionConcurrencyType:      jsii.String("PARALLEL"),
				MaxConcurrentPercentage:    jsii.Number(25),
				FailureTolerancePercentage: jsii.Number(10),
			},
			StackInstancesGroup: &[]any{&awscdk.CfnStackSet_StackInstancesProperty{
				DeploymentTargets: &awscdk.CfnStackSet_DeploymentTargetsProperty{OrganizationalUnitIds: jsii.Strings(o.OUs...)},
				Regions:           jsii.Strings(regions...),
			}},
		})
	}
	role := set("MemberRoleStackSet", MemberRoleSetName,
		"vpce-guard member role: lets the hub read VPC endpoints and rewrite their policies in this account",
		member.Role, o.Regions[:1], map[string]*string{
			"HubFunctionRoleArn": awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/"+HubFunctionRoleName), nil),
			"OrganizationId":     jsii.String(o.ID),
		})
	// The role's trust names the hub's function role, which must exist first.
	role.AddResourceDependency(policy.Node().DefaultChild().(awscdk.CfnResource), nil)
	set("MemberRegionalStackSet", MemberRegionalName,
		"vpce-guard member rule: sends this account's VPC endpoint changes to the hub's bus",
		member.Regional, o.Regions, map[string]*string{"HubAccountId": awscdk.Aws_ACCOUNT_ID()})
}

// Member is the member stacks' templates, as JSON.
type Member struct {
	Regional string // the rule to the hub bus, and its role: one per region
	Role     string // the member role: one per account
}

// MemberTemplates synthesizes the member stacks, which have no code asset, in
// an app of their own, with cdk-nag, for the stack sets to carry.
func MemberTemplates(s Settings) (Member, error) {
	dir, err := os.MkdirTemp("", "vpce-guard-member-")
	if err != nil {
		return Member{}, err
	}
	defer os.RemoveAll(dir)
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(dir), AnalyticsReporting: jsii.Bool(false)})
	newMemberRegional(app, MemberRegionalName, s)
	newMemberRole(app, MemberRoleSetName, s)
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	assembly := app.Synth(nil)
	template := func(name string) (string, error) {
		artifact := assembly.GetStackByName(jsii.String(name))
		// The CLI stops a synth on error annotations, cdk-nag's findings
		// among them; this app does not go through the CLI.
		var findings []string
		for _, m := range *artifact.Messages() {
			if m.Level == cxapi.SynthesisMessageLevel_ERROR {
				findings = append(findings, fmt.Sprintf("%s: %v", *m.Id, m.Entry.Data))
			}
		}
		if len(findings) > 0 {
			return "", fmt.Errorf("member template %s: %s", name, strings.Join(findings, "; "))
		}
		data, err := json.Marshal(artifact.Template())
		if err != nil {
			return "", fmt.Errorf("member template %s: %w", name, err)
		}
		return string(data), nil
	}
	var m Member
	if m.Regional, err = template(MemberRegionalName); err != nil {
		return Member{}, err
	}
	m.Role, err = template(MemberRoleSetName)
	return m, err
}

// memberStack is a stack with no bootstrap resources, for StackSets.
func memberStack(app awscdk.App, name, description string) awscdk.Stack {
	return awscdk.NewStack(app, jsii.String(name), &awscdk.StackProps{
		Description: jsii.String(description),
		Synthesizer: awscdk.NewBootstraplessSynthesizer(nil),
	})
}

// newMemberRegional is the member's stack in each region: the rule that sends
// the account's endpoint changes, less the member role's own, to the hub bus
// of the region, with the role EventBridge needs for a bus in another account.
func newMemberRegional(app awscdk.App, name string, s Settings) {
	st := memberStack(app, name, "vpce-guard member rule: sends this account's VPC endpoint changes to the hub's bus")
	awscdk.NewCfnParameter(st, jsii.String("HubAccountId"), &awscdk.CfnParameterProps{
		Type: jsii.String("String"), AllowedPattern: jsii.String(`^\d{12}$`),
		Description: jsii.String("the account of the hub, whose bus gets the events"),
	})
	busARN := awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:events:${AWS::Region}:${HubAccountId}:event-bus/"+HubBusName), nil)
	// The target grants it events:PutEvents on the hub bus, and nothing else.
	// Named per region (IAM is global), VpceGuard… like every role a service
	// control policy protects (infra/scp).
	sender := awsiam.NewRole(st, jsii.String("SendToHub"), &awsiam.RoleProps{
		RoleName:    awscdk.Fn_Sub(jsii.String(MemberRoleName+"SendToHub-${AWS::Region}"), nil),
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil),
		Description: jsii.String("vpce-guard member: lets EventBridge send this account's endpoint changes to the hub bus"),
	})
	memberRole := awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/"+MemberRoleName), nil)
	awsevents.NewRule(st, jsii.String("EndpointChanges"), &awsevents.RuleProps{
		RuleName:    jsii.String(MemberRoleName + "EndpointChanges"),
		Description: jsii.String("vpce-guard: CreateVpcEndpoint for guarded services and ModifyVpcEndpoint, by anyone but vpce-guard's member role, to the hub"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings(config.EventSource),
			DetailType: jsii.Strings(config.EventDetailType),
			Detail:     ptr(EventDetail(s.GuardedServices(), *memberRole)),
		},
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewEventBus(
			awsevents.EventBus_FromEventBusArn(st, jsii.String("HubBus"), busARN),
			&awseventstargets.EventBusProps{Role: sender})},
	})
}

// newMemberRole is the member role, once per account: exactly what the hub
// needs, trusted by the hub's function role from within the organization.
func newMemberRole(app awscdk.App, name string, s Settings) {
	st := memberStack(app, name, "vpce-guard member role: lets the hub read VPC endpoints and rewrite their policies in this account")
	hubRole := awscdk.NewCfnParameter(st, jsii.String("HubFunctionRoleArn"), &awscdk.CfnParameterProps{
		Type: jsii.String("String"), Description: jsii.String("the hub function's role, the only principal this role trusts"),
	})
	org := awscdk.NewCfnParameter(st, jsii.String("OrganizationId"), &awscdk.CfnParameterProps{
		Type: jsii.String("String"), AllowedPattern: jsii.String(`^o-[a-z0-9]{10,32}$`),
		Description: jsii.String("the organization the hub must belong to"),
	})
	role := awsiam.NewRole(st, jsii.String("MemberRole"), &awsiam.RoleProps{
		RoleName: jsii.String(MemberRoleName),
		AssumedBy: awsiam.NewArnPrincipal(hubRole.ValueAsString()).WithConditions(&map[string]any{
			"StringEquals": map[string]any{"aws:PrincipalOrgID": org.ValueAsString()},
		}),
		Description: jsii.String("vpce-guard member: the hub reads VPC endpoints and rewrites their policies here"),
	})
	statements := []awsiam.PolicyStatement{
		// DescribeVpcEndpoints supports no resource-level permissions.
		statement("DescribeEndpoints", []string{"ec2:DescribeVpcEndpoints"}, jsii.String("*")),
	}
	if !s.DryRun {
		statements = append(statements, statement("RewriteEndpointPolicies", []string{"ec2:ModifyVpcEndpoint"},
			awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:vpc-endpoint/*"), nil)),
			recordRewrites("*"), denyNetworkChanges("*"))
	}
	appliesTo := []any{
		jsii.String("Resource::*"),
		jsii.String("Resource::arn:<AWS::Partition>:ec2:*:<AWS::AccountId>:vpc-endpoint/*"),
	}
	reason := "ec2:DescribeVpcEndpoints supports no resource-level permissions (only *); ec2:ModifyVpcEndpoint is limited to this account's VPC endpoints, in every region the hub guards."
	if s.ReportsFindings() {
		// The findings of an account go to its own Security Hub, in the
		// region of their endpoint.
		statements = append(statements, findingsStatements(s, "*", nil)...)
		appliesTo = append(appliesTo,
			jsii.String("Resource::arn:<AWS::Partition>:securityhub:*:<AWS::AccountId>:product/<AWS::AccountId>/default"),
			jsii.String("Resource::arn:<AWS::Partition>:securityhub:*:<AWS::AccountId>:hub/default"))
		reason += " Security Hub: this account's own default product and hub, in every region the hub guards."
	}
	for _, st := range statements {
		role.AddToPrincipalPolicy(st)
	}
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String(reason),
		AppliesTo: &appliesTo,
	}}, jsii.Bool(true))
}

// suppressHub explains the hub's cdk-nag findings that are the design.
func suppressHub(policy awsiam.Policy, g *guard) {
	cdknag.NagSuppressions_AddResourceSuppressions(policy, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("The hub assumes the member role in whichever account of the organization an event or a sweep unit names (aws:ResourceOrgID holds it to the organization); Organizations' list calls take no narrower resource."),
		AppliesTo: &[]any{
			jsii.String("Resource::*"),
			jsii.String("Resource::arn:<AWS::Partition>:iam::*:role/" + MemberRoleName),
		},
	}}, jsii.Bool(true))
	cdknag.NagSuppressions_AddResourceSuppressions(g.failed, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("This queue is itself the dead-letter queue: of the function, of its rules' targets and of the sweep units. Nothing consumes it automatically; an alarm tells a person to look."),
	}}, nil)
}
