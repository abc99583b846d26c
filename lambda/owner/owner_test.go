package owner_test

import (
	"strings"
	"testing"

	"github.com/vpce-guard/vpce-guard/lambda/cloudtrail"
	"github.com/vpce-guard/vpce-guard/lambda/owner"
)

func TestFind(t *testing.T) {
	t.Parallel()
	const account = "111122223333"
	role := func(name, session string) *cloudtrail.Caller {
		return &cloudtrail.Caller{
			Type:             "AssumedRole",
			ARN:              "arn:aws:sts::" + account + ":assumed-role/" + name + "/" + session,
			SessionIssuerARN: "arn:aws:iam::" + account + ":role/team/" + name,
		}
	}
	terraformAgent := &cloudtrail.Caller{Type: "AssumedRole",
		ARN:       "arn:aws:sts::" + account + ":assumed-role/Platform/alice",
		UserAgent: "APN/1.0 HashiCorp/1.0 Terraform/1.9.8 (+https://www.terraform.io) terraform-provider-aws/5.80.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.32.6 os/linux lang/go#1.23.3"}
	tests := []struct {
		name   string
		tags   map[string]string
		caller *cloudtrail.Caller
		want   owner.Owner
		found  bool
	}{
		{"a CloudFormation stack's tag", map[string]string{owner.StackNameTag: "network-prod", "ManagedBy": "terraform"}, terraformAgent,
			owner.Owner{Tool: "CloudFormation", Name: "network-prod", Evidence: "tag aws:cloudformation:stack-name"}, true},
		{"a managed-by tag", map[string]string{"managed-by": "Terraform Cloud"}, nil,
			owner.Owner{Tool: "Terraform", Evidence: "tag managed-by"}, true},
		{"a managed-by tag naming something else", map[string]string{"Managed By": "platform-team"}, nil,
			owner.Owner{Tool: "platform-team", Evidence: "tag Managed By"}, true},
		{"two managed-by tags: the first in order", map[string]string{"managed_by": "pulumi", "ManagedBy": "terraform"}, nil,
			owner.Owner{Tool: "Terraform", Evidence: "tag ManagedBy"}, true},
		{"an empty managed-by tag says nothing", map[string]string{"ManagedBy": " "}, nil, owner.Owner{}, false},
		{"CloudFormation made the call", nil, &cloudtrail.Caller{Type: "AssumedRole", InvokedBy: "cloudformation.amazonaws.com",
			SessionIssuerARN: "arn:aws:iam::" + account + ":role/cdk-hnb659fds-cfn-exec-role-" + account + "-eu-west-1"},
			owner.Owner{Tool: "CloudFormation", Evidence: "the call was made by cloudformation.amazonaws.com"}, true},
		{"Terraform's user agent", nil, terraformAgent, owner.Owner{Tool: "Terraform", Evidence: "the caller's user agent"}, true},
		{"OpenTofu's user agent", nil, &cloudtrail.Caller{UserAgent: "APN/1.0 HashiCorp/1.0 OpenTofu/1.8.0 terraform-provider-aws/5.80.0"},
			owner.Owner{Tool: "OpenTofu", Evidence: "the caller's user agent"}, true},
		{"a role named for Terraform", nil, role("TerraformApply", "1733130000"),
			owner.Owner{Tool: "Terraform", Name: "TerraformApply", Evidence: "the caller's role name"}, true},
		{"a pipeline's role", nil, role("GitHubActions-Deploy", "run-42"),
			owner.Owner{Tool: owner.Pipeline, Name: "GitHubActions-Deploy", Evidence: "the caller's role name"}, true},
		{"a pipeline's session name", nil, role("Admin", "codepipeline-network"),
			owner.Owner{Tool: owner.Pipeline, Name: "codepipeline-network", Evidence: "the caller's session name"}, true},
		{"an IAM user for Terraform", nil, &cloudtrail.Caller{Type: "IAMUser", ARN: "arn:aws:iam::" + account + ":user/ci/terraform-bot"},
			owner.Owner{Tool: "Terraform", Name: "terraform-bot", Evidence: "the caller's user name"}, true},
		{"a person at the console", nil, &cloudtrail.Caller{Type: "AssumedRole", ARN: "arn:aws:sts::" + account + ":assumed-role/Admin/alice",
			SessionIssuerARN: "arn:aws:iam::" + account + ":role/Admin", UserAgent: "console.ec2.amazonaws.com"}, owner.Owner{}, false},
		{"the root user", nil, &cloudtrail.Caller{Type: "Root", ARN: "arn:aws:iam::" + account + ":root"}, owner.Owner{}, false},
		{"a sweep of an untagged endpoint", map[string]string{"team": "payments"}, nil, owner.Owner{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, found := owner.Find(tt.tags, tt.caller)
			if got != tt.want || found != tt.found {
				t.Errorf("got %+v, %v; want %+v, %v", got, found, tt.want, tt.found)
			}
		})
	}
}

func TestFindBoundsNames(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 200) // 400 bytes, 2 per rune
	got, _ := owner.Find(map[string]string{owner.StackNameTag: long}, nil)
	if len(got.Name) > 128+len("…") || !strings.HasSuffix(got.Name, "…") || !strings.HasPrefix(long, strings.TrimSuffix(got.Name, "…")) {
		t.Errorf("name of %d bytes: %q", len(got.Name), got.Name)
	}
}

func TestReason(t *testing.T) {
	t.Parallel()
	got := owner.Owner{Tool: "CloudFormation", Name: "network-prod", Evidence: "tag aws:cloudformation:stack-name"}.Reason()
	want := `the endpoint is managed by CloudFormation "network-prod" (tag aws:cloudformation:stack-name): fix its policy at that source, or the next deployment from it puts the broad policy back`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
