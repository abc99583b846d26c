package remediate_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/vpce-guard/vpce-guard/internal/fakeec2"
	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/policytemplates"
)

const (
	account  = "111122223333"
	region   = "eu-west-1"
	logs     = "com.amazonaws.eu-west-1.logs"
	selfRole = "arn:aws:iam::111122223333:role/vpce-guard/VpceGuardFunctionRole"

	fullAccess = fakeec2.DefaultPolicy
	// narrower is stricter than the logs template: two actions on one log group.
	narrower = `{"Version":"2012-10-17","Statement":[{"Sid":"OnlyAllowed","Effect":"Allow","Principal":"*",
		"Action":["logs:CreateLogStream","logs:PutLogEvents"],
		"Resource":["arn:aws:logs:eu-west-1:111122223333:log-group:app","arn:aws:logs:eu-west-1:111122223333:log-group:app:*"]}]}`
	foreignGroups = `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"arn:aws:logs:*:*:log-group:*"}]}`
)

func render(t testing.TB, name, region string) string {
	t.Helper()
	text, err := policytemplates.Render(name, policytemplates.Params{Region: region, AccountID: account})
	if err != nil {
		t.Fatal(err)
	}
	return string(text)
}

func defaults(t testing.TB) config.Config {
	t.Helper()
	cfg, err := config.FromEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// listFailure refuses to list endpoints, as EC2 does without the permission.
type listFailure struct{ *fakeec2.EC2 }

func (listFailure) DescribeVpcEndpoints(context.Context, *ec2.DescribeVpcEndpointsInput, ...func(*ec2.Options)) (*ec2.DescribeVpcEndpointsOutput, error) {
	return nil, fakeec2.APIError("UnauthorizedOperation", "You are not authorized to perform this operation.")
}
