// Command vpce-guard keeps VPC endpoint policies no broader than a template
// scoped to the account's own resources. It is one binary: the Lambda function
// when AWS_LAMBDA_RUNTIME_API is set, the command line otherwise.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/vpce-guard/vpce-guard/lambda/cli"
	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/lambda/fanout"
	"github.com/vpce-guard/vpce-guard/lambda/findings"
	"github.com/vpce-guard/vpce-guard/lambda/handler"
	"github.com/vpce-guard/vpce-guard/lambda/members"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
	"github.com/vpce-guard/vpce-guard/lambda/securityhub"
)

// maxBackoff bounds the wait between two attempts of an AWS call
// (config.MaxAttempts of them).
const maxBackoff = 5 * time.Second

func main() {
	ctx := context.Background()
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") == "" {
		env := cli.OSEnv()
		env.NewEC2 = newEC2
		os.Exit(cli.Run(ctx, env, os.Args[1:]))
	}
	log := newLogger()
	slog.SetDefault(log)
	h, err := newHandler(ctx, log)
	if err != nil {
		// Exiting during init makes every invocation fail with this message
		// instead of quietly running with a setting nobody meant.
		log.Error("cannot start", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}

// newHandler does the cold-start work once: configuration, clients, templates.
func newHandler(ctx context.Context, log *slog.Logger) (*handler.Handler, error) {
	cfg, err := config.FromEnv(os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	sdk, err := loadAWS(ctx, "")
	if err != nil {
		return nil, err
	}
	if cfg.OrganizationID == config.OrganizationFromAWS {
		// Read once: an account's organization does not change under it.
		out, err := organizations.NewFromConfig(sdk).DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
		if err != nil || out.Organization == nil {
			return nil, fmt.Errorf("%s=%s: read the organization's ID: %v", config.EnvOrganizationID, config.OrganizationFromAWS, err)
		}
		cfg.OrganizationID = aws.ToString(out.Organization.Id)
	}
	services := cfg.Templates.Services
	if len(services) == 0 {
		services = []string{"all"}
	}
	log.Info("started",
		"region", sdk.Region,
		"dryRun", cfg.DryRun,
		"services", services,
		"strictLogs", cfg.Templates.StrictLogs,
		"logGroupPatterns", cfg.LogGroupPatterns,
		"checkMode", string(cfg.Mode),
		"exemptTag", cfg.ExemptTag.String(),
		"selfRoleArn", cfg.SelfRoleARN,
		"sweepConcurrency", cfg.SweepConcurrency,
		"maxWritesPerSecond", cfg.MaxWritesPerSecond,
		"hub", cfg.Hub != nil,
		"accounts", cfg.Accounts,
		"organizationId", cfg.OrganizationID,
		"tagException", cfg.TagException,
		"findings", cfg.Findings)
	opts := handler.Options{Log: log, Metrics: os.Stdout}
	reportFindings := cfg.Findings == config.FindingsSecurityHub
	if cfg.Hub == nil {
		opts.Remediator = remediate.New(ec2.NewFromConfig(sdk), sdk.Region, cfg)
		if reportFindings {
			opts.Findings = findings.NewPublisher(findings.OneClient{Client: securityhub.NewFromConfig(sdk)}, log)
		}
		return handler.NewWith(opts), nil
	}
	// An organization's hub acts in the member accounts through their role,
	// and reports to their Security Hubs the same way.
	memberClients := members.New(sdk, sts.NewFromConfig(sdk), cfg.Hub.RoleName)
	opts.Remediator = remediate.NewHub(memberClients, cfg)
	if reportFindings {
		opts.Findings = findings.NewPublisher(memberClients, log)
	}
	if cfg.Hub.SweepQueueURL != "" {
		regions := cfg.Hub.Regions
		if len(regions) == 0 {
			regions = []string{sdk.Region}
		}
		opts.Sweep = &handler.OrgSweep{
			Organizations: organizations.NewFromConfig(sdk),
			Queue:         sqs.NewFromConfig(sdk),
			QueueURL:      cfg.Hub.SweepQueueURL,
			Targets:       fanout.Targets{OUs: cfg.Hub.OUs, Accounts: cfg.Hub.Accounts, Regions: regions},
		}
	}
	return handler.NewWith(opts), nil
}

// newEC2 is the command line's EC2 client, for region (the SDK's default
// when empty).
func newEC2(ctx context.Context, region string) (remediate.EC2, string, error) {
	cfg, err := loadAWS(ctx, region)
	if err != nil {
		return nil, "", err
	}
	return ec2.NewFromConfig(cfg), cfg.Region, nil
}

// loadAWS loads the standard AWS SDK configuration (AWS_REGION, credentials,
// AWS_ENDPOINT_URL_EC2 and the like for an emulator) with a bounded retry
// budget.
func loadAWS(ctx context.Context, region string) (aws.Config, error) {
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = config.MaxAttempts
				o.MaxBackoff = maxBackoff
			})
		}),
	}
	if region != "" {
		opts = append(opts, awsconfig.WithRegion(region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("AWS configuration: %w", err)
	}
	return cfg, nil
}

// newLogger logs JSON. lambdacontext's handler adds the request ID but writes
// text unless the function's log format is JSON, which the stack sets; without
// it, plain JSON still keeps one parseable line per outcome.
func newLogger() *slog.Logger {
	if os.Getenv("AWS_LAMBDA_LOG_FORMAT") == "JSON" {
		return lambdacontext.NewLogger()
	}
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: lambdacontext.ReplaceAttr}))
}
