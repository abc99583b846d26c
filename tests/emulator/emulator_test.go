package emulator_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/vpce-guard/vpce-guard/tests/emulator"
)

func TestMain(m *testing.M) { os.Exit(emulator.Main(m)) }

func TestMotoServesEC2(t *testing.T) {
	t.Parallel()
	moto := emulator.SharedMoto(t)
	client := emulator.EC2Client(t, moto.URL, "eu-west-3")
	ctx := context.Background()
	vpc, err := client.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	out, err := client.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{aws.ToString(vpc.Vpc.VpcId)}})
	if err != nil || len(out.Vpcs) != 1 {
		t.Fatalf("DescribeVpcs = %v, %v", out, err)
	}
}

func TestPrivateMotoResets(t *testing.T) {
	t.Parallel()
	moto := emulator.StartMoto(t)
	if !strings.HasPrefix(moto.URL, "http://127.0.0.1:") {
		t.Errorf("URL = %q, want http://127.0.0.1:PORT", moto.URL)
	}
	client := emulator.EC2Client(t, moto.URL, "eu-west-3")
	ctx := context.Background()
	if _, err := client.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")}); err != nil {
		t.Fatal(err)
	}
	if err := moto.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	out, err := client.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: nil})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range out.Vpcs {
		if !aws.ToBool(v.IsDefault) {
			t.Errorf("VPC %s survived the reset", aws.ToString(v.VpcId))
		}
	}
}

func TestFaultProxy(t *testing.T) {
	t.Parallel()
	moto := emulator.SharedMoto(t)
	proxy := emulator.StartFaultProxy(t, moto.URL)
	proxy.Inject("CreateVpc", emulator.Throttle(), 1)
	proxy.Inject("CreateVpc", emulator.ServerError(), -1)
	client := emulator.EC2Client(t, proxy.URL, "eu-west-3")
	ctx := context.Background()
	noRetry := func(o *ec2.Options) { o.RetryMaxAttempts = 1 }

	for _, want := range []string{"RequestLimitExceeded", "InternalError", "InternalError"} {
		_, err := client.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.1.0.0/16")}, noRetry)
		var apiErr interface{ ErrorCode() string }
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != want {
			t.Errorf("CreateVpc error = %v, want %s", err, want)
		}
	}
	// Other actions pass.
	if _, err := client.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}, noRetry); err != nil {
		t.Errorf("DescribeVpcs through the proxy: %v", err)
	}
	if seen, faulted := proxy.Count("CreateVpc"); seen != 3 || faulted != 3 {
		t.Errorf("CreateVpc seen %d, faulted %d; want 3 and 3", seen, faulted)
	}

	// A lost answer: the call takes effect, the caller is told it failed.
	proxy.Clear()
	proxy.Inject("CreateVpc", emulator.LostAnswer(), 1)
	tag := "lost-" + time.Now().Format("150405.000000000")
	_, err := client.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.2.0.0/16"),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeVpc, Tags: []ec2types.Tag{{Key: aws.String("t"), Value: aws.String(tag)}}}}}, noRetry)
	if err == nil {
		t.Error("CreateVpc with a lost answer succeeded")
	}
	out, err := client.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("tag:t"), Values: []string{tag}}}})
	if err != nil || len(out.Vpcs) != 1 {
		t.Errorf("the VPC whose answer was lost: %v, %v; want it created", out, err)
	}

	start := time.Now()
	proxy.Inject("DescribeVpcs", emulator.Slow(300*time.Millisecond), 1)
	if _, err := client.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("a slow answer came after %v", d)
	}
}

// Security Hub's REST-JSON actions are named by method and path: passed to
// moto, faulted in its error format, or answered by the stand-in for
// BatchUpdateFindings.
func TestFaultProxySecurityHub(t *testing.T) {
	t.Parallel()
	moto := emulator.SharedMoto(t)
	proxy := emulator.StartFaultProxy(t, moto.URL)
	client := emulator.SecurityHubClient(t, proxy.URL, "ap-south-2")
	ctx := t.Context()
	noRetry := func(o *securityhub.Options) { o.RetryMaxAttempts = 1 }
	finding := shtypes.AwsSecurityFinding{
		SchemaVersion: aws.String("2018-10-08"), Id: aws.String("proxy-test"), AwsAccountId: aws.String("123456789012"),
		ProductArn:  aws.String("arn:aws:securityhub:ap-south-2:123456789012:product/123456789012/default"),
		GeneratorId: aws.String("test"), Title: aws.String("t"), Description: aws.String("d"), Types: []string{"Software and Configuration Checks"},
		CreatedAt: aws.String("2026-01-02T03:04:05.000Z"), UpdatedAt: aws.String("2026-01-02T03:04:05.000Z"),
		Severity: &shtypes.Severity{Label: shtypes.SeverityLabelLow}, Resources: []shtypes.Resource{{Type: aws.String("Other"), Id: aws.String("r")}},
	}

	proxy.Inject("BatchImportFindings", emulator.Fault{Name: "not enabled", Status: http.StatusForbidden, Code: "InvalidAccessException", REST: true}, 1)
	_, err := client.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: []shtypes.AwsSecurityFinding{finding}}, noRetry)
	var apiErr interface{ ErrorCode() string }
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidAccessException" {
		t.Errorf("the faulted import: %v, want InvalidAccessException", err)
	}
	out, err := client.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: []shtypes.AwsSecurityFinding{finding}}, noRetry)
	if err != nil || aws.ToInt32(out.SuccessCount) != 1 {
		t.Fatalf("the import passed to moto: %+v, %v", out, err)
	}
	got, err := client.GetFindings(ctx, &securityhub.GetFindingsInput{}, noRetry)
	if err != nil || len(got.Findings) != 1 || aws.ToString(got.Findings[0].Id) != "proxy-test" {
		t.Fatalf("GetFindings: %+v, %v", got, err)
	}

	proxy.Inject("BatchUpdateFindings", emulator.ResolveFindings(), -1)
	ident := shtypes.AwsSecurityFindingIdentifier{Id: finding.Id, ProductArn: finding.ProductArn}
	updated, err := client.BatchUpdateFindings(ctx, &securityhub.BatchUpdateFindingsInput{
		FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{ident}, Workflow: &shtypes.WorkflowUpdate{Status: shtypes.WorkflowStatusResolved}}, noRetry)
	if err != nil || len(updated.ProcessedFindings) != 1 || aws.ToString(updated.ProcessedFindings[0].Id) != "proxy-test" {
		t.Errorf("the stand-in's answer: %+v, %v", updated, err)
	}
	for action, want := range map[string]int{"BatchImportFindings": 2, "GetFindings": 1, "BatchUpdateFindings": 1} {
		if seen, _ := proxy.Count(action); seen != want {
			t.Errorf("%s seen %d times, want %d", action, seen, want)
		}
	}
	if requests := proxy.Requests(); !strings.Contains(string(requests[len(requests)-1].Body), `"RESOLVED"`) {
		t.Errorf("the update's body is not kept: %q", requests[len(requests)-1].Body)
	}
}
