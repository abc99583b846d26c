package remediate_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/vpce-guard/vpce-guard/internal/fakeec2"
	"github.com/vpce-guard/vpce-guard/lambda/cloudtrail"
	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
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

// defaults is the default configuration, with writes unpaced: pacing has
// tests of its own, on a fake clock.
func defaults(t testing.TB) config.Config {
	t.Helper()
	cfg, err := config.FromEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxWritesPerSecond = 0
	return cfg
}

// listFailure refuses to list endpoints, as EC2 does without the permission.
type listFailure struct{ *fakeec2.EC2 }

func (listFailure) DescribeVpcEndpoints(context.Context, *ec2.DescribeVpcEndpointsInput, ...func(*ec2.Options)) (*ec2.DescribeVpcEndpointsOutput, error) {
	return nil, fakeec2.APIError("UnauthorizedOperation", "You are not authorized to perform this operation.")
}

// handle runs HandleCall and collects the outcomes it records.
func handle(r *remediate.Remediator, ctx context.Context, call cloudtrail.Call) ([]remediate.Outcome, error) {
	outcomes, _, err := handleRun(r, ctx, call, remediate.Run{})
	return outcomes, err
}

// handleRun is handle with a run of the caller's (its Record is replaced).
func handleRun(r *remediate.Remediator, ctx context.Context, call cloudtrail.Call, run remediate.Run) ([]remediate.Outcome, remediate.Result, error) {
	var outcomes []remediate.Outcome
	run.Record = func(o remediate.Outcome) { outcomes = append(outcomes, o) }
	res, err := r.HandleCall(ctx, call, run)
	return outcomes, res, err
}

// sweep runs Sweep and collects the outcomes.
func sweep(r *remediate.Remediator, ctx context.Context, origin remediate.Origin) ([]remediate.Outcome, error) {
	var outcomes []remediate.Outcome
	_, err := r.Sweep(ctx, origin, remediate.Run{Record: func(o remediate.Outcome) { outcomes = append(outcomes, o) }})
	return outcomes, err
}
