package stack_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/vpce-guard/vpce-guard/infra/stack"
	"github.com/vpce-guard/vpce-guard/lambda/config"
)

// org is the context of an organization guarded in two regions, reporting
// to the members' Security Hubs.
var org = map[string]any{
	stack.KeyOrganization:    "true",
	stack.KeyOrganizationID:  "o-abcdef1234",
	stack.KeyMemberOUs:       "ou-ab12-cdef3456,ou-ab12-ghij7890",
	stack.KeyMemberRegions:   []any{"eu-west-1", "us-east-1"},
	stack.KeyUnitConcurrency: 5.0,
	stack.KeyFindings:        "securityhub",
}

func orgWith(extra map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range org {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// resource is the only resource of a type in a template, as JSON values.
func resource(t *testing.T, tpl assertions.Template, typ string) map[string]any {
	t.Helper()
	_, byID := resourcesOfType(t, tpl, typ)
	if len(byID) != 1 {
		t.Fatalf("%d resources of type %s, want 1", len(byID), typ)
	}
	for _, r := range byID {
		return r["Properties"].(map[string]any)
	}
	return nil
}

func TestOrganizationStacks(t *testing.T) {
	s := synth(t, org)
	if len(s.stacks) != 2 || *s.stacks[0].StackName() != "VpceGuardHub-eu-west-1" || *s.stacks[1].StackName() != "VpceGuardHub-us-east-1" {
		t.Fatalf("stacks %v, want a hub per member region, the first region's first", s.stacks)
	}
	primary := s.template(t, "VpceGuardHub-eu-west-1")
	secondary := s.template(t, "VpceGuardHub-us-east-1")
	count := func(tpl assertions.Template, typ string) int {
		ids, _ := resourcesOfType(t, tpl, typ)
		return len(ids)
	}
	for _, tc := range []struct {
		typ                string
		primary, secondary int
	}{
		{"AWS::CloudFormation::StackSet", 2, 0},
		{"AWS::IAM::Role", 1, 0}, // the others use the primary's, by name
		{"AWS::Events::EventBus", 1, 1},
		{"AWS::Events::EventBusPolicy", 1, 1},
		{"AWS::Lambda::Function", 1, 1},
		{"AWS::Lambda::EventSourceMapping", 1, 0},
		{"AWS::SQS::Queue", 2, 1}, // the failure queue; the primary's units
		{"AWS::Events::Rule", 2, 1},
	} {
		if p, sec := count(primary, tc.typ), count(secondary, tc.typ); p != tc.primary || sec != tc.secondary {
			t.Errorf("%s: %d in the primary and %d in the other hub, want %d and %d", tc.typ, p, sec, tc.primary, tc.secondary)
		}
	}

	check(t, "the bus admits the organization only", func() {
		for _, tpl := range []assertions.Template{primary, secondary} {
			bus := onlyID(t, tpl, "AWS::Events::EventBus")
			tpl.HasResourceProperties(jsii.String("AWS::Events::EventBus"), obj(map[string]any{"Name": stack.HubBusName}))
			tpl.HasResourceProperties(jsii.String("AWS::Events::EventBusPolicy"), assertions.Match_ObjectEquals(obj(map[string]any{
				"EventBusName": ref(bus),
				"StatementId":  "cdk-OrganizationPutEvents",
				"Statement": map[string]any{
					"Sid": "cdk-OrganizationPutEvents", "Effect": "Allow", "Principal": map[string]any{"AWS": "*"}, "Action": "events:PutEvents",
					"Resource":  getAtt(bus, "Arn"),
					"Condition": map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": "o-abcdef1234"}},
				},
			})))
			tpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), obj(map[string]any{"EventBusName": ref(bus)}))
		}
	})

	check(t, "the hub function's permissions", func() {
		assume := map[string]any{"Sid": "AssumeMemberRoles", "Effect": "Allow", "Action": "sts:AssumeRole",
			"Resource": map[string]any{"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/" + stack.MemberRoleName},
			"Condition": map[string]any{
				"StringEquals": map[string]any{"aws:ResourceOrgID": "o-abcdef1234"},
				"ArnLike": map[string]any{"lambda:SourceFunctionArn": map[string]any{
					"Fn::Sub": "arn:${AWS::Partition}:lambda:*:${AWS::AccountId}:function:" + stack.HubFunctionName}},
			}}
		for _, tc := range []struct {
			tpl   assertions.Template
			extra []string
		}{{primary, []string{"ListMemberAccounts", "QueueSweepUnits"}}, {secondary, nil}} {
			doc := functionPolicy(t, tc.tpl)
			if strings.Contains(jsonString(doc), "ec2:") || strings.Contains(jsonString(doc), "securityhub:") {
				t.Errorf("the hub's own role may act on EC2 or Security Hub: %s", jsonString(doc))
			}
			statements := doc["PolicyDocument"].(map[string]any)["Statement"].([]any)
			var sids []string
			for _, st := range statements {
				sids = append(sids, st.(map[string]any)["Sid"].(string))
			}
			want := append([]string{"WriteOwnLogs", "SendFailedEvents", "AssumeMemberRoles"}, tc.extra...)
			if !reflect.DeepEqual(sids, want) || !reflect.DeepEqual(statements[2], assume) {
				t.Errorf("statements %v, want %v, the AssumeRole one %s", sids, want, jsonString(assume))
			}
			if got := doc["Roles"]; !reflect.DeepEqual(got, []any{stack.HubFunctionRoleName}) && !strings.Contains(jsonString(got), "FunctionRole") {
				t.Errorf("the policy is attached to %v", got)
			}
		}
	})

	check(t, "the primary's sweep", func() {
		units := resource(t, primary, "AWS::Lambda::EventSourceMapping")
		if units["BatchSize"] != 1.0 || !reflect.DeepEqual(units["ScalingConfig"], map[string]any{"MaximumConcurrency": 5.0}) {
			t.Errorf("event source mapping %s: want one unit per invocation, five at once", jsonString(units))
		}
		_, queues := resourcesOfType(t, primary, "AWS::SQS::Queue")
		found := false
		for _, q := range queues {
			props := q["Properties"].(map[string]any)
			if redrive, ok := props["RedrivePolicy"].(map[string]any); ok {
				found = true
				if redrive["maxReceiveCount"] != float64(stack.UnitMaxReceives) || props["VisibilityTimeout"] != 6*60.0*stack.TimeoutMinutes {
					t.Errorf("units queue %s", jsonString(props))
				}
			}
		}
		if !found {
			t.Error("no queue of units with the failure queue as its dead-letter queue")
		}
		fn := resource(t, primary, "AWS::Lambda::Function")
		env := fn["Environment"].(map[string]any)["Variables"].(map[string]any)
		if env["MEMBER_ROLE_NAME"] != stack.MemberRoleName || env["MEMBER_OUS"] != "ou-ab12-cdef3456,ou-ab12-ghij7890" ||
			env["MEMBER_REGIONS"] != "eu-west-1,us-east-1" || env["SWEEP_QUEUE_URL"] == nil || env["FINDINGS"] != "securityhub" {
			t.Errorf("the primary's environment %s", jsonString(env))
		}
		other := resource(t, secondary, "AWS::Lambda::Function")["Environment"].(map[string]any)["Variables"].(map[string]any)
		if other["MEMBER_ROLE_NAME"] != stack.MemberRoleName || other["SWEEP_QUEUE_URL"] != nil || other["MEMBER_OUS"] != nil {
			t.Errorf("the other hub's environment %s: want the member role, no sweep", jsonString(other))
		}
	})

	check(t, "the stack sets carry the member templates, OUs and regions", func() {
		member, err := stack.MemberTemplates(mustSettings(t, org))
		if err != nil {
			t.Fatal(err)
		}
		_, sets := resourcesOfType(t, primary, "AWS::CloudFormation::StackSet")
		byName := map[string]map[string]any{}
		for _, set := range sets {
			props := set["Properties"].(map[string]any)
			byName[props["StackSetName"].(string)] = props
		}
		for name, want := range map[string]struct {
			template string
			regions  []any
		}{
			stack.MemberRoleSetName:  {member.Role, []any{"eu-west-1"}},
			stack.MemberRegionalName: {member.Regional, []any{"eu-west-1", "us-east-1"}},
		} {
			props := byName[name]
			if props == nil {
				t.Errorf("no stack set %s", name)
				continue
			}
			if props["TemplateBody"] != want.template {
				t.Errorf("%s carries another template than the member stack's", name)
			}
			group := props["StackInstancesGroup"].([]any)[0].(map[string]any)
			if !reflect.DeepEqual(group["Regions"], want.regions) ||
				!reflect.DeepEqual(group["DeploymentTargets"], map[string]any{"OrganizationalUnitIds": []any{"ou-ab12-cdef3456", "ou-ab12-ghij7890"}}) ||
				props["PermissionModel"] != "SERVICE_MANAGED" ||
				!reflect.DeepEqual(props["AutoDeployment"], map[string]any{"Enabled": true, "RetainStacksOnAccountRemoval": false}) {
				t.Errorf("%s: %s", name, jsonString(props))
			}
		}
	})
}

// functionPolicy is the hub function's policy, FunctionPolicy; in the
// primary, the role's default policy holds what the event source mapping
// grants itself, reading the queue of units, and nothing else.
func functionPolicy(t *testing.T, tpl assertions.Template) map[string]any {
	t.Helper()
	ids, policies := resourcesOfType(t, tpl, "AWS::IAM::Policy")
	var fn map[string]any
	for _, id := range ids {
		props := policies[id]["Properties"].(map[string]any)
		switch {
		case strings.HasPrefix(id, "FunctionPolicy"):
			fn = props
		case strings.HasPrefix(id, "FunctionRoleDefaultPolicy"):
			statements := props["PolicyDocument"].(map[string]any)["Statement"].([]any)
			actions := jsonString(statements)
			if len(statements) != 1 || !strings.Contains(actions, "sqs:ReceiveMessage") || strings.Contains(actions, "ec2:") ||
				strings.Contains(actions, "sts:") || !strings.Contains(actions, "SweepUnits") {
				t.Errorf("the role's default policy %s: want the event source mapping's reading of the units alone", actions)
			}
		default:
			t.Errorf("unexpected policy %s", id)
		}
	}
	if fn == nil {
		t.Fatal("no FunctionPolicy")
	}
	return fn
}

func mustSettings(t *testing.T, context map[string]any) stack.Settings {
	t.Helper()
	var keys []string
	for k := range context {
		keys = append(keys, k)
	}
	s, err := stack.SettingsFromContext(func(key string) any { return context[key] }, keys)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// memberTemplate is a member stack's template, parsed.
func memberTemplate(t *testing.T, body string) map[string]any {
	t.Helper()
	var tpl map[string]any
	if err := json.Unmarshal([]byte(body), &tpl); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(body, "BootstrapVersion") || strings.Contains(body, "AWS::CDK::Metadata") || strings.Contains(body, "AssetParameters") {
		t.Errorf("a member template has CDK bootstrap or asset parts, which StackSets cannot deploy: %s", body)
	}
	return tpl
}

// The member role: exactly the two EC2 permissions, trusted by the hub's
// function role from within the organization; and in dry-run mode, reading
// only.
func TestMemberRole(t *testing.T) {
	requireNode(t)
	for _, tc := range []struct {
		name     string
		dryRun   bool
		findings bool
	}{{"rewrites", false, false}, {"dry run", true, false}, {"findings", false, true}, {"findings in a dry run", true, true}} {
		context := map[string]any{stack.KeyDryRun: tc.dryRun, stack.KeyFindings: "none"}
		if tc.findings {
			context[stack.KeyFindings] = "securityhub"
		}
		// cdk-nag runs in the synth: a finding it does not excuse fails it.
		member, err := stack.MemberTemplates(mustSettings(t, orgWith(context)))
		if err != nil {
			t.Fatal(err)
		}
		tpl := memberTemplate(t, member.Role)
		var role, policy map[string]any
		for _, r := range tpl["Resources"].(map[string]any) {
			r := r.(map[string]any)
			switch r["Type"] {
			case "AWS::IAM::Role":
				role = r["Properties"].(map[string]any)
			case "AWS::IAM::Policy":
				policy = r["Properties"].(map[string]any)
			default:
				t.Errorf("%s: unexpected resource %s", tc.name, r["Type"])
			}
		}
		trust := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
			"Effect": "Allow", "Action": "sts:AssumeRole",
			"Principal": map[string]any{"AWS": map[string]any{"Ref": "HubFunctionRoleArn"}},
			"Condition": map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": map[string]any{"Ref": "OrganizationId"}}},
		}}}
		if role["RoleName"] != stack.MemberRoleName || !reflect.DeepEqual(role["AssumeRolePolicyDocument"], trust) {
			t.Errorf("%s: role %s", tc.name, jsonString(role))
		}
		statements := []any{map[string]any{"Sid": "DescribeEndpoints", "Effect": "Allow", "Action": "ec2:DescribeVpcEndpoints", "Resource": "*"}}
		if !tc.dryRun {
			statements = append(statements, map[string]any{"Sid": "RewriteEndpointPolicies", "Effect": "Allow", "Action": "ec2:ModifyVpcEndpoint",
				"Resource": map[string]any{"Fn::Sub": "arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:vpc-endpoint/*"}},
				map[string]any{"Sid": "RecordRewrites", "Effect": "Allow", "Action": "ec2:CreateTags",
					"Resource": map[string]any{"Fn::Sub": "arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:vpc-endpoint/*"},
					"Condition": map[string]any{
						"ForAllValues:StringEquals": map[string]any{"aws:TagKeys": []any{config.RewrittenTagKey}},
						"Null":                      map[string]any{"aws:TagKeys": "false"},
					}},
				map[string]any{"Sid": "DenyEndpointNetworkChanges", "Effect": "Deny", "Action": "ec2:ModifyVpcEndpoint", "Resource": []any{
					map[string]any{"Fn::Sub": "arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:route-table/*"},
					map[string]any{"Fn::Sub": "arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:security-group/*"},
					map[string]any{"Fn::Sub": "arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:subnet/*"},
				}})
		}
		if tc.findings {
			// In every region the hub guards, for the account's own findings.
			statements = append(statements, findingsStatements(!tc.dryRun, "*", nil)...)
		}
		if got := policy["PolicyDocument"].(map[string]any)["Statement"]; !reflect.DeepEqual(got, statements) {
			t.Errorf("%s: statements %s, want %s", tc.name, jsonString(got), jsonString(statements))
		}
	}
}

// The member rule sends to the hub bus of its region, through a role that
// may do that and nothing else, and leaves the member role's calls out.
func TestMemberRule(t *testing.T) {
	requireNode(t)
	member, err := stack.MemberTemplates(mustSettings(t, org))
	if err != nil {
		t.Fatal(err)
	}
	tpl := memberTemplate(t, member.Regional)
	busARN := map[string]any{"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${HubAccountId}:event-bus/" + stack.HubBusName}
	var rule, policy map[string]any
	for _, r := range tpl["Resources"].(map[string]any) {
		r := r.(map[string]any)
		switch r["Type"] {
		case "AWS::Events::Rule":
			rule = r["Properties"].(map[string]any)
		case "AWS::IAM::Policy":
			policy = r["Properties"].(map[string]any)
		}
	}
	targets := rule["Targets"].([]any)
	if len(targets) != 1 || !reflect.DeepEqual(targets[0].(map[string]any)["Arn"], busARN) || targets[0].(map[string]any)["RoleArn"] == nil {
		t.Errorf("targets %s, want the hub bus with a role", jsonString(targets))
	}
	statements := policy["PolicyDocument"].(map[string]any)["Statement"].([]any)
	if len(statements) != 1 || !reflect.DeepEqual(statements[0], map[string]any{"Effect": "Allow", "Action": "events:PutEvents", "Resource": busARN}) {
		t.Errorf("the sender's statements %s, want PutEvents on the hub bus only", jsonString(statements))
	}
	pattern := jsonString(rule["EventPattern"])
	if !strings.Contains(pattern, `"anything-but":{"Fn::Sub":"arn:${AWS::Partition}:iam::${AWS::AccountId}:role/`+stack.MemberRoleName+`"}`) {
		t.Errorf("the member rule does not leave the member role's calls out: %s", pattern)
	}
}

func TestOrganizationContext(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		context map[string]any
		want    string
	}{
		{map[string]any{stack.KeyMemberOUs: "ou-ab12-cdef3456"}, `context memberOUs="ou-ab12-cdef3456": only with organization=true`},
		{orgWith(map[string]any{stack.KeyOrganizationID: "org-1"}), `context organizationId="org-1": want the organization's ID`},
		{orgWith(map[string]any{stack.KeyMemberOUs: nil}), `context memberOUs=<nil>: want the OUs`},
		{orgWith(map[string]any{stack.KeyMemberOUs: "ou-1"}), `context memberOUs="ou-1": "ou-1" is not an OU ID`},
		{orgWith(map[string]any{stack.KeyMemberRegions: "eu-west-1,eu-west-1"}), `"eu-west-1" is listed twice`},
		{orgWith(map[string]any{stack.KeyRegions: "eu-west-1"}), `context regions="eu-west-1": not with organization=true`},
		{orgWith(map[string]any{stack.KeyCreateTrail: true}), `context createTrail=true: not with organization=true`},
		{orgWith(map[string]any{stack.KeyUnitConcurrency: 1.0}), `context unitConcurrency=1: want a whole number from 2 to 1000`},
	} {
		var keys []string
		for k, v := range tt.context {
			if v != nil {
				keys = append(keys, k)
			}
		}
		_, err := stack.SettingsFromContext(func(key string) any { return tt.context[key] }, keys)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v, want %q", tt.context, err, tt.want)
		}
	}
}

// Every policy the hubs put on their shared role has a name of its own: a
// role has one inline policy per name, and a second hub's would replace the
// first's.
func TestHubPoliciesNamedApart(t *testing.T) {
	s := synth(t, org)
	owner := map[string]string{}
	for _, st := range s.stacks {
		_, policies := resourcesOfType(t, s.templates[*st.StackName()], "AWS::IAM::Policy")
		for id, p := range policies {
			name, _ := p["Properties"].(map[string]any)["PolicyName"].(string)
			where := *st.StackName() + "/" + id
			if other, taken := owner[name]; taken || name == "" {
				t.Errorf("policy %s is named %q, as %s is", where, name, other)
			}
			owner[name] = where
		}
	}
}
