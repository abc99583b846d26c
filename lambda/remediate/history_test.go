package remediate_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/vpce-guard/vpce-guard/internal/fakeclock"
	"github.com/vpce-guard/vpce-guard/internal/fakeec2"
	"github.com/vpce-guard/vpce-guard/lambda/cloudtrail"
	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/lambda/owner"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
)

// A rewrite is recorded on the endpoint, and the next rewrite of the same
// endpoint says that a broad policy came back, and from where.
func TestRewriteIsRecordedAndASecondOneNoticed(t *testing.T) {
	t.Parallel()
	ec2 := fakeec2.New(fakeec2.Endpoint(endpointID, logs, account, fullAccess, owner.StackNameTag, "network-prod"))
	r := remediate.New(ec2, region, defaults(t))
	clock := fakeclock.New()
	run := remediate.Run{Clock: clock}

	first, _, err := handleRun(r, context.Background(), modifyCall(endpointID), run)
	if err != nil || len(first) != 1 || first[0].Action != remediate.Rewritten {
		t.Fatalf("first: %+v, %v", first, err)
	}
	if first[0].RewrittenBefore != "" {
		t.Errorf("first rewrite counted as a second: %q", first[0].RewrittenBefore)
	}
	wantOwner := owner.Owner{Tool: "CloudFormation", Name: "network-prod", Evidence: "tag " + owner.StackNameTag}
	if first[0].Owner == nil || *first[0].Owner != wantOwner || !hasReason(first[0], "managed by CloudFormation \"network-prod\"") {
		t.Errorf("owner %+v, reasons %q", first[0].Owner, first[0].Reasons)
	}
	calls := ec2.TagCalls()
	if len(calls) != 1 || len(calls[0].Resources) != 1 || calls[0].Resources[0] != endpointID ||
		len(calls[0].Tags) != 1 || aws.ToString(calls[0].Tags[0].Key) != config.RewrittenTagKey ||
		aws.ToString(calls[0].Tags[0].Value) != "2026-01-02T03:04:05Z" {
		t.Fatalf("tag calls: %+v", calls)
	}

	// The stack's next update puts the broad policy back.
	clock.Advance(24 * time.Hour)
	if _, err := ec2.ModifyVpcEndpoint(context.Background(), modifyInput(endpointID, fullAccess)); err != nil {
		t.Fatal(err)
	}
	second, _, err := handleRun(r, context.Background(), modifyCall(endpointID), run)
	if err != nil || len(second) != 1 || second[0].Action != remediate.Rewritten {
		t.Fatalf("second: %+v, %v", second, err)
	}
	if second[0].RewrittenBefore != "2026-01-02T03:04:05Z" || !hasReason(second[0], "rewrote this endpoint's policy before") {
		t.Errorf("second rewrite not noticed: %q, %q", second[0].RewrittenBefore, second[0].Reasons)
	}
	if calls := ec2.TagCalls(); len(calls) != 2 || aws.ToString(calls[1].Tags[0].Value) != "2026-01-03T03:04:05Z" {
		t.Errorf("the second rewrite was not recorded: %+v", calls)
	}
}

// The caller names the owner when the tags do not, but never in a sweep,
// and never for a compliant endpoint.
func TestOwnerFromTheCaller(t *testing.T) {
	t.Parallel()
	terraform := cloudtrail.Caller{Type: "AssumedRole", ARN: "arn:aws:sts::111122223333:assumed-role/Platform/ci",
		UserAgent: "APN/1.0 HashiCorp/1.0 Terraform/1.9.8 terraform-provider-aws/5.80.0"}
	for _, tc := range []struct {
		name   string
		policy string
		dryRun bool
		want   *owner.Owner
	}{
		{"rewritten", fullAccess, false, &owner.Owner{Tool: "Terraform", Evidence: "the caller's user agent"}},
		{"dry run", fullAccess, true, &owner.Owner{Tool: "Terraform", Evidence: "the caller's user agent"}},
		{"compliant", narrower, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ec2 := fakeec2.New(fakeec2.Endpoint(endpointID, logs, account, tc.policy))
			cfg := defaults(t)
			cfg.DryRun = tc.dryRun
			call := modifyCall(endpointID)
			call.Caller = terraform
			outcomes, err := handle(remediate.New(ec2, region, cfg), context.Background(), call)
			if err != nil || len(outcomes) != 1 {
				t.Fatalf("%+v, %v", outcomes, err)
			}
			got := outcomes[0].Owner
			if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
				t.Errorf("owner %+v, want %+v", got, tc.want)
			}
			if tc.want != nil && !hasReason(outcomes[0], "fix its policy at that source") {
				t.Errorf("reasons %q", outcomes[0].Reasons)
			}
			if tc.dryRun && len(ec2.TagCalls()) != 0 {
				t.Errorf("a dry run tagged the endpoint: %+v", ec2.TagCalls())
			}
		})
	}

	// A sweep has no caller: only tags can tell.
	ec2 := fakeec2.New(fakeec2.Endpoint(endpointID, logs, account, fullAccess))
	outcomes, err := sweep(remediate.New(ec2, region, defaults(t)), context.Background(), remediate.Origin{EventName: remediate.SweepEventName})
	if err != nil || len(outcomes) != 1 || outcomes[0].Owner != nil {
		t.Errorf("sweep: %+v, %v", outcomes, err)
	}
}

// A rewrite whose record fails is still a rewrite, and says so.
func TestRewriteNotRecorded(t *testing.T) {
	t.Parallel()
	ec2 := fakeec2.New(fakeec2.Endpoint(endpointID, logs, account, fullAccess))
	ec2.FailCreateTags(fakeec2.APIError("UnauthorizedOperation", "You are not authorized to perform this operation."))
	outcomes, err := handle(remediate.New(ec2, region, defaults(t)), context.Background(), modifyCall(endpointID))
	if err != nil || len(outcomes) != 1 {
		t.Fatalf("%+v, %v", outcomes, err)
	}
	o := outcomes[0]
	if o.Action != remediate.Rewritten || o.Error != "" || !strings.Contains(o.RecordError, "missing permission ec2:CreateTags") {
		t.Errorf("action %s, error %q, record error %q", o.Action, o.Error, o.RecordError)
	}
}

func modifyInput(id, policy string) *ec2.ModifyVpcEndpointInput {
	return &ec2.ModifyVpcEndpointInput{VpcEndpointId: aws.String(id), PolicyDocument: aws.String(policy)}
}

func hasReason(o remediate.Outcome, part string) bool {
	for _, r := range o.Reasons {
		if strings.Contains(r, part) {
			return true
		}
	}
	return false
}
