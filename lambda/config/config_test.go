package config_test

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/lambda/policy"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := config.FromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.DryRun || len(c.Templates.Services) != 0 || c.Templates.StrictLogs || len(c.LogGroupPatterns) != 0 ||
		c.Mode != policy.Subset || c.Rewrite != config.RewriteTemplate || c.ExemptTag != (config.Tag{Key: "vpce-guard:exempt", Value: "true"}) ||
		c.SelfRoleARN != "" || c.SweepConcurrency != 4 || c.Findings != config.FindingsNone {
		t.Errorf("defaults: %+v", c)
	}
}

func TestFromEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		vars  map[string]string
		check func(config.Config) bool
	}{
		{"dry run", map[string]string{"DRY_RUN": "true"}, func(c config.Config) bool { return c.DryRun }},
		{"dry run in capitals", map[string]string{"DRY_RUN": "TRUE"}, func(c config.Config) bool { return c.DryRun }},
		{"no dry run", map[string]string{"DRY_RUN": "false"}, func(c config.Config) bool { return !c.DryRun }},
		{"services", map[string]string{"SERVICES": " logs , logs,"}, func(c config.Config) bool {
			return slices.Equal(c.Templates.Services, []string{"logs"})
		}},
		{"both services", map[string]string{"SERVICES": "logs,events"}, func(c config.Config) bool {
			return slices.Equal(c.Templates.Services, []string{"events", "logs"})
		}},
		{"strict logs", map[string]string{"LOGS_TEMPLATE": "logs-strict"}, func(c config.Config) bool { return c.Templates.StrictLogs }},
		{"log-group patterns", map[string]string{"LOG_GROUP_PATTERNS": "/aws/lambda/*, app-?"}, func(c config.Config) bool {
			return slices.Equal(c.LogGroupPatterns, []string{"/aws/lambda/*", "app-?"})
		}},
		{"exact mode", map[string]string{"CHECK_MODE": "exact"}, func(c config.Config) bool { return c.Mode == policy.Exact }},
		{"narrow rewrite", map[string]string{"REWRITE": " Narrow "}, func(c config.Config) bool { return c.Rewrite == config.RewriteNarrow }},
		{"template rewrite", map[string]string{"REWRITE": "template"}, func(c config.Config) bool { return c.Rewrite == config.RewriteTemplate }},
		{"exempt key and value", map[string]string{"EXEMPT_TAG": "team:exception=yes"}, func(c config.Config) bool {
			return c.ExemptTag == config.Tag{Key: "team:exception", Value: "yes"}
		}},
		{"exempt key alone", map[string]string{"EXEMPT_TAG": "no-guard"}, func(c config.Config) bool {
			return c.ExemptTag == config.Tag{Key: "no-guard"} && c.ExemptTag.Matches("no-guard", "anything")
		}},
		{"self role with a path", map[string]string{"SELF_ROLE_ARN": "arn:aws:iam::111122223333:role/guard/Fn"}, func(c config.Config) bool {
			return c.SelfRoleARN == "arn:aws:iam::111122223333:role/guard/Fn"
		}},
		{"concurrency", map[string]string{"SWEEP_CONCURRENCY": "32"}, func(c config.Config) bool { return c.SweepConcurrency == 32 }},
		{"pace", map[string]string{"MAX_WRITES_PER_SECOND": "0.5"}, func(c config.Config) bool { return c.MaxWritesPerSecond == 0.5 }},
		{"accounts form", map[string]string{"ACCOUNTS": "444455556666, 777788889999"}, func(c config.Config) bool {
			return slices.Equal(c.TemplateParams().Accounts, []string{"444455556666", "777788889999"})
		}},
		{"organization form", map[string]string{"ORGANIZATION_ID": "o-a1b2c3d4e5", "ORGANIZATION_TAG_EXCEPTION": "true"}, func(c config.Config) bool {
			return c.TemplateParams().OrganizationID == "o-a1b2c3d4e5" && c.TemplateParams().TagException
		}},
		{"organization read at start", map[string]string{"ORGANIZATION_ID": "auto"}, func(c config.Config) bool { return c.OrganizationID == config.OrganizationFromAWS }},
		{"findings to Security Hub", map[string]string{"FINDINGS": " SecurityHub "}, func(c config.Config) bool { return c.Findings == config.FindingsSecurityHub }},
		{"no findings", map[string]string{"FINDINGS": "none"}, func(c config.Config) bool { return c.Findings == config.FindingsNone }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.FromEnv(env(tt.vars))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("%+v", c)
			}
		})
	}
}

func TestFromEnvErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		variable, value string
		want            string // a part of the message
	}{
		{"DRY_RUN", "yes", `DRY_RUN="yes": want true or false`},
		{"SERVICES", "logs,s3", `SERVICES="logs,s3": unknown service "s3"`},
		{"SERVICES", " , ", "names no service"},
		{"LOGS_TEMPLATE", "strict", "want logs or logs-strict"},
		{"LOG_GROUP_PATTERNS", "ok,bad group", `LOG_GROUP_PATTERNS="ok,bad group": `},
		{"LOG_GROUP_PATTERNS", manyPatterns(300), "too large"},
		{"CHECK_MODE", "loose", "want subset or exact"},
		{"REWRITE", "wide", `REWRITE="wide": want template (write the template) or narrow`},
		{"EXEMPT_TAG", "=true", "the tag key is empty"},
		{"EXEMPT_TAG", "key=", "nothing after '='"},
		{"EXEMPT_TAG", strings.Repeat("k", 129), "longer than 128"},
		{"SELF_ROLE_ARN", "VpceGuardRole", "want an IAM role ARN"},
		{"SELF_ROLE_ARN", "arn:aws:iam::111122223333:user/alice", "want an IAM role ARN"},
		{"SWEEP_CONCURRENCY", "0", "from 1 to 32"},
		{"SWEEP_CONCURRENCY", "33", "from 1 to 32"},
		{"SWEEP_CONCURRENCY", "four", "from 1 to 32"},
		{"MAX_WRITES_PER_SECOND", "0", "from 0.1 to 100"},
		{"MAX_WRITES_PER_SECOND", "101", "from 0.1 to 100"},
		{"MAX_WRITES_PER_SECOND", "NaN", "from 0.1 to 100"},
		{"MAX_WRITES_PER_SECOND", "fast", "from 0.1 to 100"},
		{"ACCOUNTS", "444455556666,12", `"12" is not an account ID`},
		{"ORGANIZATION_ID", "o-UPPER", "want the organization's ID"},
		{"ORGANIZATION_TAG_EXCEPTION", "true", "only with ORGANIZATION_ID"},
		{"FINDINGS", "security-hub", `FINDINGS="security-hub": want none or securityhub`},
		{"FINDINGS", "true", "want none or securityhub"},
	}
	for _, tt := range tests {
		t.Run(tt.variable+"="+tt.value[:min(len(tt.value), 20)], func(t *testing.T) {
			t.Parallel()
			_, err := config.FromEnv(env(map[string]string{tt.variable: tt.value}))
			if err == nil {
				t.Fatal("no error")
			}
			var ve *config.VariableError
			if !errors.As(err, &ve) || ve.Name != tt.variable {
				t.Errorf("error %v does not name %s", err, tt.variable)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func manyPatterns(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "/aws/lambda/function-number-%03d-*,", i)
	}
	return b.String()
}

func TestEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	_, err := config.FromEnv(env(map[string]string{"DRY_RUN": "maybe", "CHECK_MODE": "loose", "SWEEP_CONCURRENCY": "-1"}))
	for _, name := range []string{"DRY_RUN", "CHECK_MODE", "SWEEP_CONCURRENCY"} {
		if err == nil || !strings.Contains(err.Error(), name+"=") {
			t.Errorf("error %v does not report %s", err, name)
		}
	}
}

func TestHub(t *testing.T) {
	t.Parallel()
	c, err := config.FromEnv(env(map[string]string{}))
	if err != nil || c.Hub != nil {
		t.Fatalf("no hub variable: hub %+v, %v; want none", c.Hub, err)
	}
	c, err = config.FromEnv(env(map[string]string{"MEMBER_ROLE_NAME": "VpceGuardMember", "MEMBER_OUS": "ou-ab12-cdef3456, r-ab12",
		"MEMBER_REGIONS": "eu-west-1,us-east-1", "SWEEP_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/111122223333/units"}))
	if err != nil || c.Hub == nil || c.Hub.RoleName != "VpceGuardMember" || !slices.Equal(c.Hub.OUs, []string{"ou-ab12-cdef3456", "r-ab12"}) ||
		!slices.Equal(c.Hub.Regions, []string{"eu-west-1", "us-east-1"}) || c.Hub.SweepQueueURL == "" {
		t.Errorf("hub %+v, %v", c.Hub, err)
	}
	role := map[string]string{"MEMBER_ROLE_NAME": "VpceGuardMember"}
	for _, tt := range []struct {
		vars     map[string]string
		variable string
		want     string
	}{
		{map[string]string{"MEMBER_OUS": "ou-ab12-cdef3456"}, "MEMBER_ROLE_NAME", "want the member role's name"},
		{map[string]string{"MEMBER_ROLE_NAME": "role/with/path"}, "MEMBER_ROLE_NAME", "want the member role's name"},
		{merge(role, map[string]string{"MEMBER_OUS": "ou-x"}), "MEMBER_OUS", `"ou-x" is not an OU ID`},
		{merge(role, map[string]string{"MEMBER_ACCOUNTS": "1234"}), "MEMBER_ACCOUNTS", "not an account ID"},
		{merge(role, map[string]string{"MEMBER_OUS": "r-ab12", "MEMBER_ACCOUNTS": "111122223333"}), "MEMBER_ACCOUNTS", "not both"},
		{merge(role, map[string]string{"MEMBER_REGIONS": "eu-west-1a"}), "MEMBER_REGIONS", "not a region name"},
		{merge(role, map[string]string{"SWEEP_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/1/q"}), "SWEEP_QUEUE_URL", "needs MEMBER_OUS or MEMBER_ACCOUNTS"},
		{merge(role, map[string]string{"MEMBER_ACCOUNTS": "111122223333", "SWEEP_QUEUE_URL": "units"}), "SWEEP_QUEUE_URL", "want the queue's URL"},
	} {
		_, err := config.FromEnv(env(tt.vars))
		var ve *config.VariableError
		if !errors.As(err, &ve) || ve.Name != tt.variable || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v, want %s: %q", tt.vars, err, tt.variable, tt.want)
		}
	}
}

func merge(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

// A narrow rewrite is never the template itself, so in exact mode it would
// be rewritten on every check: the pair is refused, the two alone are not.
func TestNarrowRewriteNeedsSubsetMode(t *testing.T) {
	t.Parallel()
	_, err := config.FromEnv(env(map[string]string{"REWRITE": "narrow", "CHECK_MODE": "exact"}))
	if err == nil || !strings.Contains(err.Error(), "cannot go with the exact check mode") {
		t.Errorf("REWRITE=narrow with CHECK_MODE=exact: %v", err)
	}
	for _, vars := range []map[string]string{{"REWRITE": "narrow"}, {"CHECK_MODE": "exact"}, {"REWRITE": "template", "CHECK_MODE": "exact"}} {
		if _, err := config.FromEnv(env(vars)); err != nil {
			t.Errorf("%v: %v", vars, err)
		}
	}
}
