package stack_test

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/vpce-guard/vpce-guard/tests/orgsim"
)

// inventory is what an account holds on moto of the kinds vpce-guard's
// stacks make, one key per thing: "role NAME", "role-policy ROLE/NAME" (IAM
// is global), and per region "stack", "stack-set", "queue", "function",
// "esm" (event source mapping), "bus", "rule" (BUS/NAME), "log-group",
// followed by the region and the name.
type inventory map[string]bool

func takeInventory(t *testing.T, ctx context.Context, motoURL, account string, regions []string) inventory {
	t.Helper()
	inv := inventory{}
	fail := func(what string, err error) {
		t.Helper()
		t.Fatalf("inventory of %s: %s: %v", account, what, err)
	}
	roles := iam.NewFromConfig(orgsim.Config(motoURL, account, regions[0]))
	for pages := iam.NewListRolesPaginator(roles, &iam.ListRolesInput{}); pages.HasMorePages(); {
		page, err := pages.NextPage(ctx)
		if err != nil {
			fail("roles", err)
		}
		for _, r := range page.Roles {
			inv["role "+aws.ToString(r.RoleName)] = true
			policies, err := roles.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: r.RoleName})
			if err != nil || policies.IsTruncated {
				fail("role policies", err)
			}
			for _, p := range policies.PolicyNames {
				inv["role-policy "+aws.ToString(r.RoleName)+"/"+p] = true
			}
		}
	}
	for _, region := range regions {
		cfg := orgsim.Config(motoURL, account, region)
		add := func(kind, name string) { inv[kind+" "+region+" "+name] = true }
		cfn := cloudformation.NewFromConfig(cfg)
		for pages := cloudformation.NewListStacksPaginator(cfn, &cloudformation.ListStacksInput{}); pages.HasMorePages(); {
			page, err := pages.NextPage(ctx)
			if err != nil {
				fail("stacks", err)
			}
			for _, s := range page.StackSummaries {
				if s.StackStatus != cfntypes.StackStatusDeleteComplete {
					add("stack", aws.ToString(s.StackName))
				}
			}
		}
		sets, err := cfn.ListStackSets(ctx, &cloudformation.ListStackSetsInput{Status: cfntypes.StackSetStatusActive})
		if err != nil || sets.NextToken != nil {
			fail("stack sets", err)
		}
		for _, s := range sets.Summaries {
			if s.Status == cfntypes.StackSetStatusActive { // moto lists deleted sets too
				add("stack-set", aws.ToString(s.StackSetName))
			}
		}
		queues, err := sqs.NewFromConfig(cfg).ListQueues(ctx, &sqs.ListQueuesInput{})
		if err != nil || queues.NextToken != nil {
			fail("queues", err)
		}
		for _, q := range queues.QueueUrls {
			add("queue", queueName(q))
		}
		functions := lambda.NewFromConfig(cfg)
		for pages := lambda.NewListFunctionsPaginator(functions, &lambda.ListFunctionsInput{}); pages.HasMorePages(); {
			page, err := pages.NextPage(ctx)
			if err != nil {
				fail("functions", err)
			}
			for _, f := range page.Functions {
				add("function", aws.ToString(f.FunctionName))
			}
		}
		for pages := lambda.NewListEventSourceMappingsPaginator(functions, &lambda.ListEventSourceMappingsInput{}); pages.HasMorePages(); {
			page, err := pages.NextPage(ctx)
			if err != nil {
				fail("event source mappings", err)
			}
			for _, m := range page.EventSourceMappings {
				add("esm", aws.ToString(m.UUID))
			}
		}
		events := eventbridge.NewFromConfig(cfg)
		buses, err := events.ListEventBuses(ctx, &eventbridge.ListEventBusesInput{})
		if err != nil || buses.NextToken != nil {
			fail("buses", err)
		}
		for _, b := range buses.EventBuses {
			add("bus", aws.ToString(b.Name))
			rules, err := events.ListRules(ctx, &eventbridge.ListRulesInput{EventBusName: b.Name})
			if err != nil || rules.NextToken != nil {
				fail("rules", err)
			}
			for _, r := range rules.Rules {
				add("rule", aws.ToString(b.Name)+"/"+aws.ToString(r.Name))
			}
		}
		for pages := cloudwatchlogs.NewDescribeLogGroupsPaginator(cloudwatchlogs.NewFromConfig(cfg), &cloudwatchlogs.DescribeLogGroupsInput{}); pages.HasMorePages(); {
			page, err := pages.NextPage(ctx)
			if err != nil {
				fail("log groups", err)
			}
			for _, g := range page.LogGroups {
				add("log-group", aws.ToString(g.LogGroupName))
			}
		}
	}
	return inv
}

// since is what inv has that before had not, and the other way round, sorted.
func (inv inventory) since(before inventory) (added, removed []string) {
	for k := range inv {
		if !before[k] {
			added = append(added, k)
		}
	}
	for k := range before {
		if !inv[k] {
			removed = append(removed, k)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	return added, removed
}

// inventoryKeys are the inventory's keys for the resources moto made of s,
// and for s itself with stack.
func (s *motoStack) inventoryKeys(t *testing.T, stack bool) []string {
	t.Helper()
	region := s.values.region
	var keys []string
	if stack {
		keys = append(keys, "stack "+region+" "+s.name)
	}
	for _, id := range sortedKeys(s.values.resources) {
		if slices.Contains(s.skipped, id) {
			continue
		}
		physical := s.values.physical[id]
		switch resourceType(s.values.resources[id]) {
		case "AWS::IAM::Role":
			keys = append(keys, "role "+physical)
		case "AWS::IAM::Policy":
			props := s.properties(t, id)
			for _, role := range props["Roles"].([]any) {
				keys = append(keys, "role-policy "+role.(string)+"/"+props["PolicyName"].(string))
			}
		case "AWS::SQS::Queue":
			keys = append(keys, "queue "+region+" "+queueName(physical))
		case "AWS::Lambda::Function":
			keys = append(keys, "function "+region+" "+physical)
		case "AWS::Lambda::EventSourceMapping":
			keys = append(keys, "esm "+region+" "+physical)
		case "AWS::Events::EventBus":
			keys = append(keys, "bus "+region+" "+physical)
		case "AWS::Events::Rule":
			bus, _ := s.properties(t, id)["EventBusName"].(string)
			if bus == "" {
				bus = "default"
			}
			keys = append(keys, "rule "+region+" "+bus+"/"+physical)
		case "AWS::Logs::LogGroup":
			keys = append(keys, "log-group "+region+" "+physical)
		}
	}
	return keys
}
