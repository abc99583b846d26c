package stack_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/vpce-guard/vpce-guard/infra/stack"
	"github.com/vpce-guard/vpce-guard/lambda/config"
)

// lookup serves context values the way Node.TryGetContext does.
func lookup(context map[string]any) func(string) any {
	return func(key string) any { return context[key] }
}

func keys(context map[string]any) []string {
	var out []string
	for k := range context {
		out = append(out, k)
	}
	return out
}

func TestSettingsDefaults(t *testing.T) {
	t.Parallel()
	s, err := stack.SettingsFromContext(lookup(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := stack.Settings{
		SweepSchedule:    "rate(1 day)",
		LogLevel:         "INFO",
		LogRetentionDays: 365,
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("defaults %+v, want %+v", s, want)
	}
	// The environment the defaults give is the function's own defaults.
	env := s.Environment("arn:aws:iam::111122223333:role/x")
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	def := config.Default()
	def.SelfRoleARN = "arn:aws:iam::111122223333:role/x"
	if !reflect.DeepEqual(cfg, def) {
		t.Errorf("the default environment configures %+v, want the function's defaults %+v", cfg, def)
	}
}

// Values come as strings from -c and as JSON values from cdk.json.
func TestSettingsValueForms(t *testing.T) {
	t.Parallel()
	for _, context := range []map[string]any{
		{
			stack.KeyRegions: "eu-west-1, eu-central-1", stack.KeyDryRun: "TRUE", stack.KeyServices: "logs,events",
			stack.KeyLogGroupPatterns: "/aws/lambda/*,app-*", stack.KeySweepConcurrency: "8",
			stack.KeyLogRetentionDays: "365", stack.KeyCreateTrail: "true", stack.KeySweepSchedule: "rate(12 hours)",
			stack.KeyLogLevel: "debug",
		},
		{
			stack.KeyRegions: []any{"eu-west-1", "eu-central-1"}, stack.KeyDryRun: true, stack.KeyServices: []any{"logs", "events"},
			stack.KeyLogGroupPatterns: []any{"/aws/lambda/*", "app-*"}, stack.KeySweepConcurrency: 8.0,
			stack.KeyLogRetentionDays: 365.0, stack.KeyCreateTrail: true, stack.KeySweepSchedule: "rate(12 hours)",
			stack.KeyLogLevel: "DEBUG",
		},
	} {
		s, err := stack.SettingsFromContext(lookup(context), keys(context))
		if err != nil {
			t.Fatalf("%v: %v", context, err)
		}
		want := stack.Settings{
			Regions: []string{"eu-west-1", "eu-central-1"}, DryRun: true, Services: []string{"logs", "events"},
			LogGroupPatterns: []string{"/aws/lambda/*", "app-*"}, SweepConcurrency: 8, LogRetentionDays: 365,
			CreateTrail: true, SweepSchedule: "rate(12 hours)", LogLevel: "DEBUG",
		}
		if !reflect.DeepEqual(s, want) {
			t.Errorf("%v:\n got %+v\nwant %+v", context, s, want)
		}
		if got := s.GuardedServices(); !reflect.DeepEqual(got, []string{"events", "logs"}) {
			t.Errorf("guarded services %q", got)
		}
	}
}

func TestSettingsSweepOff(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"off", "OFF"} {
		s, err := stack.SettingsFromContext(lookup(map[string]any{stack.KeySweepSchedule: v}), nil)
		if err != nil || s.SweepSchedule != "" {
			t.Errorf("sweepSchedule=%q: %q, %v; want no schedule", v, s.SweepSchedule, err)
		}
	}
}

// Every error names the context key to fix, with its value and what is expected.
func TestSettingsErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		key   string
		value any
		want  string
	}{
		{stack.KeyRegions, "eu-west-1a", `context regions="eu-west-1a": "eu-west-1a" is not a region name`},
		{stack.KeyRegions, "eu-west-1,eu-west-1", `"eu-west-1" is listed twice`},
		{stack.KeyRegions, []any{"eu-west-1", 3.0}, `context regions=[eu-west-1 3]: want a list of strings`},
		{stack.KeyDryRun, "yes", `context dryRun="yes": want true or false`},
		{stack.KeyCreateTrail, "maybe", `context createTrail="maybe": want true or false`},
		{stack.KeyServices, "logs,s3", `context services="logs,s3": unknown service "s3"`},
		{stack.KeyLogsTemplate, "strict", `context logsTemplate="strict": want logs or logs-strict`},
		{stack.KeyLogGroupPatterns, "app:*", `context logGroupPatterns="app:*": `},
		{stack.KeyCheckMode, "loose", `context checkMode="loose": want subset or exact`},
		{stack.KeyRewrite, "wide", `context rewrite="wide": want template (write the template) or narrow`},
		{stack.KeyRewrite, true, `context rewrite=true: want template`},
		{stack.KeyExemptTag, "=x", `context exemptTag="=x": the tag key is empty`},
		{stack.KeySweepConcurrency, "many", `context sweepConcurrency="many": want a whole number from 1 to 32`},
		{stack.KeySweepConcurrency, 33.0, `context sweepConcurrency=33: want a whole number from 1 to 32`},
		{stack.KeyMaxWritesPerSec, "fast", `context maxWritesPerSecond="fast": want a number from 0.1 to 100`},
		{stack.KeyMaxWritesPerSec, 500.0, `context maxWritesPerSecond=500: want a number from 0.1 to 100`},
		{stack.KeyAccounts, "4444", `context accounts="4444": "4444" is not an account ID`},
		{stack.KeyFindings, "security-hub", `context findings="security-hub": want none or securityhub`},
		{stack.KeyFindings, true, `context findings=true: want none or securityhub`},
		{stack.KeyTemplateOrganizationID, "org", `context templateOrganizationId="org": want the organization's ID`},
		{stack.KeyOrganizationTagException, true, `context organizationTagException=true: only with ORGANIZATION_ID`},
		{stack.KeyReservedConc, "0", `context reservedConcurrency="0": want a whole number from 1 to 1000`},
		{stack.KeySweepSchedule, "daily", `context sweepSchedule="daily": want rate(N unit)`},
		{stack.KeySweepSchedule, "rate(1 days)", `the unit is singular for 1 and plural otherwise`},
		{stack.KeySweepSchedule, "cron(0 3 * *)", `context sweepSchedule="cron(0 3 * *)": want rate(N unit)`},
		{stack.KeyLogLevel, "WARN", `context logLevel="WARN": want TRACE, DEBUG or INFO`},
		{stack.KeyLogRetentionDays, "10", `context logRetentionDays="10": want one of CloudWatch Logs' retention periods in days: 1, 3, 5, 7, 14, 30,`},
		{stack.KeyAlarmEmail, "ops at example.com", `context alarmEmail="ops at example.com": want one email address`},
		{stack.KeyAlarmEmail, "Ops <ops@example.com>", `want one email address`},
		{"dryrun", "true", `context dryrun="true": unknown key, did you mean dryRun?`},
		{stack.KeyLogsTemplate, map[string]any{"a": "b"}, `context logsTemplate=map[a:b]: want a string, a number or a boolean`},
	} {
		context := map[string]any{tt.key: tt.value}
		_, err := stack.SettingsFromContext(lookup(context), keys(context))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s=%v: error %v, want one containing %q", tt.key, tt.value, err, tt.want)
		}
		var ce *stack.ContextError
		if !errors.As(err, &ce) || ce.Key != tt.key {
			t.Errorf("%s=%v: error %v does not name the key as a *ContextError", tt.key, tt.value, err)
		}
	}
}

func TestSettingsReportsEveryError(t *testing.T) {
	t.Parallel()
	context := map[string]any{stack.KeyDryRun: "yes", stack.KeyCheckMode: "loose", stack.KeyLogLevel: "ERROR"}
	_, err := stack.SettingsFromContext(lookup(context), keys(context))
	if err == nil {
		t.Fatal("no error")
	}
	for key := range context {
		if !strings.Contains(err.Error(), "context "+key+"=") {
			t.Errorf("error %q does not name %s", err, key)
		}
	}
}

// Settings that are fine alone and wrong together name the key to change.
func TestSettingsRefuseANarrowRewriteInExactMode(t *testing.T) {
	t.Parallel()
	context := map[string]any{stack.KeyRewrite: "narrow", stack.KeyCheckMode: "exact"}
	_, err := stack.SettingsFromContext(lookup(context), keys(context))
	var ce *stack.ContextError
	if !errors.As(err, &ce) || ce.Key != stack.KeyRewrite || !strings.Contains(err.Error(), "cannot go with the exact check mode") {
		t.Errorf("rewrite=narrow with checkMode=exact: %v", err)
	}
}
