package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/vpce-guard/vpce-guard/lambda/remediate"
)

const auditSynopsis = "[--region REGION] [--fix]"

// AuditEventName labels the outcomes of the audit command.
const AuditEventName = "audit"

func runAudit(ctx context.Context, env Env, args []string) int {
	flags := newFlagSet("audit", env, auditSynopsis)
	region := flags.String("region", "", "the region to audit (default: the AWS SDK's, from AWS_REGION or the profile)")
	fix := flags.Bool("fix", false, "rewrite non-compliant policies to their template (default: report only)")
	rest, err := parseArgs(flags, args)
	if err != nil {
		return usageError(env, "audit", err)
	}
	if len(rest) > 0 {
		return usageError(env, "audit", fmt.Errorf("unexpected argument %q", rest[0]))
	}
	cfg, err := loadConfig(env)
	if err != nil {
		return usageError(env, "audit", err)
	}
	cfg.DryRun = !*fix
	if env.NewEC2 == nil {
		return usageError(env, "audit", errors.New("no EC2 client configured"))
	}
	client, clientRegion, err := env.NewEC2(ctx, *region)
	if err != nil {
		return usageError(env, "audit", fmt.Errorf("EC2 client: %w", err))
	}
	if clientRegion == "" {
		return usageError(env, "audit", errors.New("no region: give --region or set AWS_REGION"))
	}
	rep := newReport(env, "audit")
	_, err = remediate.New(client, clientRegion, cfg).Sweep(ctx, remediate.Origin{EventName: AuditEventName}, rep.run())
	if err != nil {
		rep.fail(err)
	}
	return rep.status()
}
