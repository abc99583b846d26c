package handler_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/vpce-guard/vpce-guard/internal/fakeec2"
	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/lambda/handler"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
	"github.com/vpce-guard/vpce-guard/policytemplates"
)

// BenchmarkHandleEvent measures one CreateVpcEndpoint event through the Lambda
// handler, JSON round trip included, against the in-memory EC2: decoding, one
// Describe, the check, logging and metrics. The template is rendered once per
// process, as in a warm Lambda.
func BenchmarkHandleEvent(b *testing.B) {
	template, err := policytemplates.Render(policytemplates.Logs, policytemplates.Params{Region: region, AccountID: account})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name   string
		policy string
		dryRun bool
	}{
		{"compliant", string(template), false},
		{"noncompliant-dryrun", fakeec2.DefaultPolicy, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg, err := config.FromEnv(func(string) string { return "" })
			if err != nil {
				b.Fatal(err)
			}
			cfg.DryRun = bc.dryRun
			ec2 := fakeec2.New(fakeec2.Endpoint(endpointID, logs, account, bc.policy))
			log := slog.New(slog.NewJSONHandler(io.Discard, nil))
			h := lambda.NewHandler(handler.New(remediate.New(ec2, region, cfg), log, io.Discard).Handle)
			payload := createEvent(endpointID)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := h.Invoke(ctx, payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
