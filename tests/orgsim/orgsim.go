// Package orgsim builds an AWS Organization on moto for the organization
// tests and measurements: the management account (moto's default account) is
// the hub; an OU of member accounts gets the member stacks through
// CloudFormation StackSets, as the hub stack's stack sets would roll them
// out; endpoints are created in the members' own accounts. It also stands in
// for what moto cannot run: the hub bus's rule delivers to an SQS queue
// instead of the function, and Drain plays Lambda's event source mapping.
package orgsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/vpce-guard/vpce-guard/infra/stack"
	"github.com/vpce-guard/vpce-guard/tests/emulator"
)

// HubAccount is moto's default account: the organization's management
// account and the hub.
const HubAccount = "123456789012"

// Org is an organization on a moto server.
type Org struct {
	URL     string // moto
	ID      string
	Root    string
	OU      string   // the members' OU
	Members []string // the accounts of OU, sorted as created
}

// Config is an SDK configuration for account in region on moto: moto reads
// the account from a header of its own.
func Config(motoURL, account, region string) aws.Config {
	return aws.Config{
		Region:       region,
		BaseEndpoint: aws.String(motoURL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing", Source: "orgsim"}, nil
		}),
		APIOptions: []func(*middleware.Stack) error{smithyhttp.AddHeaderValue("x-moto-account-id", account)},
	}
}

// Create makes the organization, an OU and members accounts in it, and
// outside accounts at the root.
func Create(ctx context.Context, motoURL string, members, outside int) (*Org, []string, error) {
	org := organizations.NewFromConfig(Config(motoURL, HubAccount, "us-east-1"))
	created, err := org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll})
	if err != nil {
		return nil, nil, fmt.Errorf("create the organization: %w", err)
	}
	roots, err := org.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil || len(roots.Roots) != 1 {
		return nil, nil, fmt.Errorf("the organization's root: %v", err)
	}
	o := &Org{URL: motoURL, ID: aws.ToString(created.Organization.Id), Root: aws.ToString(roots.Roots[0].Id)}
	ou, err := org.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: aws.String(o.Root), Name: aws.String("workloads")})
	if err != nil {
		return nil, nil, fmt.Errorf("create the OU: %w", err)
	}
	o.OU = aws.ToString(ou.OrganizationalUnit.Id)
	var outsiders []string
	for i := range members + outside {
		account, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{
			AccountName: aws.String(fmt.Sprintf("member-%d", i)), Email: aws.String(fmt.Sprintf("member-%d@example.com", i))})
		if err != nil {
			return nil, nil, fmt.Errorf("create account %d: %w", i, err)
		}
		id := aws.ToString(account.CreateAccountStatus.AccountId)
		if i >= members {
			outsiders = append(outsiders, id)
			continue
		}
		if _, err := org.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(id),
			SourceParentId: aws.String(o.Root), DestinationParentId: aws.String(o.OU)}); err != nil {
			return nil, nil, fmt.Errorf("move account %s: %w", id, err)
		}
		o.Members = append(o.Members, id)
	}
	return o, outsiders, nil
}

// MemberTemplates synthesizes the member stacks as the app does for this
// organization guarded in regions (jsii: the CDK runs on Node, one caller
// at a time).
func (o *Org) MemberTemplates(regions []string) (stack.Member, error) {
	context := map[string]any{
		stack.KeyOrganization: true, stack.KeyOrganizationID: o.ID,
		stack.KeyMemberOUs: o.OU, stack.KeyMemberRegions: strings.Join(regions, ","),
	}
	settings, err := stack.SettingsFromContext(func(key string) any { return context[key] }, slices.Collect(maps.Keys(context)))
	if err != nil {
		return stack.Member{}, err
	}
	return stack.MemberTemplates(settings)
}

// Join creates an account in the OU after the member stacks were rolled out
// (moto, unlike StackSets, deploys nothing to it): an account without the
// member role. It is not one of Members.
func (o *Org) Join(ctx context.Context) (string, error) {
	org := organizations.NewFromConfig(Config(o.URL, HubAccount, "us-east-1"))
	account, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("late"), Email: aws.String("late@example.com")})
	if err != nil {
		return "", err
	}
	id := aws.ToString(account.CreateAccountStatus.AccountId)
	_, err = org.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(id),
		SourceParentId: aws.String(o.Root), DestinationParentId: aws.String(o.OU)})
	return id, err
}

// DeployMembers rolls the member stacks out to the OU as the hub's stack sets
// would: the regional one in every region, the role in the first.
func (o *Org) DeployMembers(ctx context.Context, member stack.Member, regions []string) error {
	cfn := cloudformation.NewFromConfig(Config(o.URL, HubAccount, regions[0]))
	for _, set := range []struct {
		name, template string
		regions        []string
		params         map[string]string
	}{
		{stack.MemberRoleSetName, member.Role, regions[:1], map[string]string{
			"HubFunctionRoleArn": "arn:aws:iam::" + HubAccount + ":role/" + stack.HubFunctionRoleName, "OrganizationId": o.ID}},
		{stack.MemberRegionalName, member.Regional, regions, map[string]string{"HubAccountId": HubAccount}},
	} {
		var params []cfntypes.Parameter
		for k, v := range set.params {
			params = append(params, cfntypes.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(v)})
		}
		if _, err := cfn.CreateStackSet(ctx, &cloudformation.CreateStackSetInput{
			StackSetName: aws.String(set.name), TemplateBody: aws.String(set.template), Parameters: params,
			PermissionModel: cfntypes.PermissionModelsServiceManaged,
			AutoDeployment:  &cfntypes.AutoDeployment{Enabled: aws.Bool(true), RetainStacksOnAccountRemoval: aws.Bool(false)},
			Capabilities:    []cfntypes.Capability{cfntypes.CapabilityCapabilityNamedIam},
		}); err != nil {
			return fmt.Errorf("create stack set %s: %w", set.name, err)
		}
		if _, err := cfn.CreateStackInstances(ctx, &cloudformation.CreateStackInstancesInput{
			StackSetName: aws.String(set.name), Regions: set.regions,
			DeploymentTargets: &cfntypes.DeploymentTargets{OrganizationalUnitIds: []string{o.OU}},
		}); err != nil {
			return fmt.Errorf("create the instances of stack set %s: %w", set.name, err)
		}
	}
	return nil
}

// Endpoints creates n Logs endpoints in account and region, in a VPC of
// their own: the first open ones without a policy (AWS's default, which
// allows everything), the others with policy. It returns their IDs.
func (o *Org) Endpoints(ctx context.Context, account, region string, n, open int, policy string) ([]string, error) {
	client := ec2.NewFromConfig(Config(o.URL, account, region))
	vpc, err := client.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		return nil, fmt.Errorf("create a VPC in %s/%s: %w", account, region, err)
	}
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	work := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range work {
				in := &ec2.CreateVpcEndpointInput{VpcId: vpc.Vpc.VpcId, VpcEndpointType: ec2types.VpcEndpointTypeInterface,
					ServiceName: aws.String("com.amazonaws." + region + ".logs")}
				if i >= open {
					in.PolicyDocument = aws.String(policy)
				}
				out, err := client.CreateVpcEndpoint(ctx, in)
				if err != nil {
					errs[i] = fmt.Errorf("create endpoint %d in %s/%s: %w", i, account, region, err)
					continue
				}
				ids[i] = aws.ToString(out.VpcEndpoint.VpcEndpointId)
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	return ids, errors.Join(errs...)
}

// Policies are the policy documents of the endpoints of account in region, by ID.
func (o *Org) Policies(ctx context.Context, account, region string) (map[string]string, error) {
	out, err := ec2.NewFromConfig(Config(o.URL, account, region)).DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{})
	if err != nil {
		return nil, err
	}
	policies := map[string]string{}
	for _, e := range out.VpcEndpoints {
		policies[aws.ToString(e.VpcEndpointId)] = aws.ToString(e.PolicyDocument)
	}
	return policies, nil
}

// HubBus creates the hub's bus in region, admitting the organization as the
// hub stack does, and its rule with pattern; the rule's target is a queue,
// standing in for the function, whose URL it returns.
func (o *Org) HubBus(ctx context.Context, region, pattern string) (string, error) {
	cfg := Config(o.URL, HubAccount, region)
	events := eventbridge.NewFromConfig(cfg)
	if _, err := events.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(stack.HubBusName)}); err != nil {
		return "", fmt.Errorf("create the hub bus in %s: %w", region, err)
	}
	queues := sqs.NewFromConfig(cfg)
	q, err := queues.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("hub-function-stand-in")})
	if err != nil {
		return "", err
	}
	attrs, err := queues.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return "", err
	}
	if _, err := events.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("EndpointChanges"), EventBusName: aws.String(stack.HubBusName),
		EventPattern: aws.String(pattern)}); err != nil {
		return "", fmt.Errorf("the hub rule: %w", err)
	}
	if _, err := events.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("EndpointChanges"), EventBusName: aws.String(stack.HubBusName),
		Targets: []ebtypes.Target{{Id: aws.String("function"), Arn: aws.String(attrs.Attributes["QueueArn"])}}}); err != nil {
		return "", err
	}
	return aws.ToString(q.QueueUrl), nil
}

// Receive takes up to max messages off a queue of account in region,
// deleting them: the hub rule's deliveries.
func (o *Org) Receive(ctx context.Context, account, region, queueURL string, max int) ([]string, error) {
	queues := sqs.NewFromConfig(Config(o.URL, account, region))
	out, err := queues.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: int32(min(max, 10))})
	if err != nil {
		return nil, err
	}
	var bodies []string
	for _, m := range out.Messages {
		bodies = append(bodies, aws.ToString(m.Body))
		if _, err := queues.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
			return nil, err
		}
	}
	return bodies, nil
}

// StrictSTS makes proxy refuse AssumeRole, as AWS does, for a role that does
// not exist in its account: moto lets anyone assume any ARN.
func (o *Org) StrictSTS(proxy *emulator.FaultProxy) {
	proxy.InjectFunc("AssumeRole", func(form url.Values) (emulator.Fault, bool) {
		arn := form.Get("RoleArn")
		account, name, ok := roleOf(arn)
		if ok && o.roleExists(account, name) {
			return emulator.Fault{}, false
		}
		return emulator.Fault{Name: "no such role", Status: http.StatusForbidden, Code: "AccessDenied", Query: true,
			Message: fmt.Sprintf("User: arn:aws:sts::%s:assumed-role/%s/vpce-guard is not authorized to perform: sts:AssumeRole on resource: %s",
				HubAccount, stack.HubFunctionRoleName, arn)}, true
	})
}

// roleOf reads arn:PARTITION:iam::ACCOUNT:role/NAME.
func roleOf(arn string) (account, name string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[2] != "iam" {
		return "", "", false
	}
	name, ok = strings.CutPrefix(parts[5], "role/")
	return parts[4], name, ok
}

func (o *Org) roleExists(account, name string) bool {
	req, err := http.NewRequest(http.MethodPost, o.URL+"/", strings.NewReader(url.Values{
		"Action": {"GetRole"}, "Version": {"2010-05-08"}, "RoleName": {name}}.Encode()))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("x-moto-account-id", account)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Drain plays Lambda's SQS event source mapping with a batch size of one:
// each unit on the queue becomes an event for invoke; a unit whose
// invocation fails goes back on the queue (and to its dead-letter queue after
// its receives, as SQS decides). It stops when the queue is empty, and
// returns how many invocations ran and failed.
func Drain(ctx context.Context, queues *sqs.Client, queueURL string, invoke func(event []byte) error) (ran, failed int, err error) {
	for {
		out, err := queues.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 1})
		if err != nil {
			return ran, failed, err
		}
		if len(out.Messages) == 0 {
			return ran, failed, nil
		}
		m := out.Messages[0]
		event, err := json.Marshal(map[string]any{"Records": []map[string]string{{
			"eventSource": "aws:sqs", "messageId": aws.ToString(m.MessageId), "body": aws.ToString(m.Body)}}})
		if err != nil {
			return ran, failed, err
		}
		ran++
		if invokeErr := invoke(event); invokeErr != nil {
			failed++
			// Visible again at once, as after the visibility timeout.
			_, err = queues.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(queueURL),
				ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0})
		} else {
			_, err = queues.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle})
		}
		if err != nil {
			return ran, failed, err
		}
	}
}
