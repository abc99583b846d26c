package config

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/vpce-guard/vpce-guard/lambda/policy"
	"github.com/vpce-guard/vpce-guard/policytemplates"
)

// The environment variables FromEnv reads.
const (
	EnvDryRun           = "DRY_RUN"
	EnvServices         = "SERVICES"
	EnvLogsTemplate     = "LOGS_TEMPLATE"
	EnvLogGroupPatterns = "LOG_GROUP_PATTERNS"
	EnvCheckMode        = "CHECK_MODE"
	EnvRewrite          = "REWRITE"
	EnvExemptTag        = "EXEMPT_TAG"
	EnvSelfRoleARN      = "SELF_ROLE_ARN"
	EnvSweepConcurrency = "SWEEP_CONCURRENCY"
	EnvMaxWritesPerSec  = "MAX_WRITES_PER_SECOND"
	EnvFindings         = "FINDINGS"

	// An organization's hub (see Hub).
	EnvMemberRoleName = "MEMBER_ROLE_NAME"
	EnvMemberOUs      = "MEMBER_OUS"
	EnvMemberAccounts = "MEMBER_ACCOUNTS"
	EnvMemberRegions  = "MEMBER_REGIONS"
	EnvSweepQueueURL  = "SWEEP_QUEUE_URL"

	// The templates' forms for endpoints shared across accounts.
	EnvAccounts       = "ACCOUNTS"
	EnvOrganizationID = "ORGANIZATION_ID"
	EnvTagException   = "ORGANIZATION_TAG_EXCEPTION"
)

// Where the function reports its findings (FINDINGS).
const (
	FindingsNone        = "none"
	FindingsSecurityHub = "securityhub"
)

// How a non-compliant policy is rewritten (REWRITE).
const (
	// RewriteTemplate writes the template, whatever the policy held.
	RewriteTemplate = "template"
	// RewriteNarrow keeps the owner's statements and adds the template's
	// bounds (policy.Narrow): the result allows what both allow, never more
	// than before; the template where that cannot be written.
	RewriteNarrow = "narrow"
)

// OrganizationFromAWS is the ORGANIZATION_ID that has the function read its
// organization's ID at cold start (organizations:DescribeOrganization).
const OrganizationFromAWS = "auto"

// Defaults and limits.
const (
	DefaultExemptTagKey = "vpce-guard:exempt"
	// RewrittenTagKey is the tag in which vpce-guard records, on the
	// endpoint itself, when it last rewrote the policy: a second rewrite
	// means something keeps putting a broad policy back. Its role may write
	// this one tag key and no other.
	RewrittenTagKey         = "vpce-guard:rewritten"
	DefaultExemptTagValue   = "true"
	DefaultSweepConcurrency = 4
	// MaxAttempts is the retry budget of every AWS call: throttling and
	// server errors are retried with exponential backoff up to this many
	// attempts in all, within what an invocation can afford to wait.
	MaxAttempts         = 5
	MaxSweepConcurrency = 32
	// DefaultMaxWritesPerSecond paces ModifyVpcEndpoint at 2 a second: EC2
	// refills its token bucket for mutating actions at 5 a second (200 at
	// most), so a first enforcing sweep over thousands of endpoints leaves
	// more than half of it to the account's other automation.
	DefaultMaxWritesPerSecond = 2
	// MaxWritesPerSecondLimit is the highest pace accepted, for accounts
	// whose EC2 quota was raised.
	MaxWritesPerSecondLimit = 100
)

// Config is everything the remediation needs to know besides the AWS client.
type Config struct {
	// DryRun reports what would be rewritten and writes nothing.
	DryRun bool
	// Templates chooses the guarded services and the Logs template.
	Templates policytemplates.Options
	// LogGroupPatterns limit the logs templates to these log groups; none
	// allows every log group of the account.
	LogGroupPatterns []string
	// Mode is how a current policy is compared with its template.
	Mode policy.Mode
	// Rewrite is what a non-compliant policy is rewritten to:
	// RewriteTemplate or RewriteNarrow.
	Rewrite string
	// ExemptTag marks endpoints vpce-guard leaves alone.
	ExemptTag Tag
	// SelfRoleARN is vpce-guard's own role, path included. It only labels
	// outcomes: vpce-guard's own writes are checked like any other call.
	SelfRoleARN string
	// SweepConcurrency bounds the writes in flight during a sweep.
	SweepConcurrency int
	// MaxWritesPerSecond paces the function's ModifyVpcEndpoint calls, per
	// account and region.
	MaxWritesPerSecond float64
	// Hub is set when the function is an organization's hub.
	Hub *Hub
	// Accounts are more accounts whose resources the templates allow
	// (policytemplates.Params.Accounts): endpoints shared across accounts.
	Accounts []string
	// OrganizationID renders the templates' organization form;
	// OrganizationFromAWS until main has read it.
	OrganizationID string
	// TagException adds AWS's data-perimeter tag exception to the
	// organization form.
	TagException bool
	// Findings is where each checked endpoint is reported besides the log:
	// FindingsNone or FindingsSecurityHub.
	Findings string
}

// TemplateParams are the parameters every template is rendered with, beside
// the endpoint's region, partition and account.
func (c Config) TemplateParams() policytemplates.Params {
	return policytemplates.Params{LogGroupPatterns: c.LogGroupPatterns, Accounts: c.Accounts,
		OrganizationID: c.OrganizationID, TagException: c.TagException}
}

// Hub configures an organization's hub: the function acts in each event's
// account and region through the member role there, and its sweep hands one
// unit per member account and region to a queue.
type Hub struct {
	// RoleName is the member role, the same name in every account.
	RoleName string
	// OUs or Accounts (one of them) are what the sweep covers; OUs take the
	// OUs nested in them too.
	OUs      []string
	Accounts []string
	// Regions the sweep covers; none means the function's own.
	Regions []string
	// SweepQueueURL is the queue of sweep units; empty in a hub that only
	// handles events (the hubs of the other regions).
	SweepQueueURL string
}

// Tag is a resource tag to look for. An empty Value matches any value.
type Tag struct {
	Key   string
	Value string
}

// Matches reports whether a tag with this key and value is the one looked for.
// Values compare without case, so that "True" exempts as well as "true".
func (t Tag) Matches(key, value string) bool {
	return key == t.Key && (t.Value == "" || strings.EqualFold(value, t.Value))
}

func (t Tag) String() string {
	if t.Value == "" {
		return t.Key
	}
	return t.Key + "=" + t.Value
}

// Default is the configuration with no variable set.
func Default() Config {
	return Config{
		Mode:               policy.Subset,
		Rewrite:            RewriteTemplate,
		ExemptTag:          Tag{Key: DefaultExemptTagKey, Value: DefaultExemptTagValue},
		SweepConcurrency:   DefaultSweepConcurrency,
		MaxWritesPerSecond: DefaultMaxWritesPerSecond,
		Findings:           FindingsNone,
	}
}

// VariableError says which variable is wrong and why.
type VariableError struct {
	Name   string
	Value  string
	Reason string
}

func (e *VariableError) Error() string {
	return fmt.Sprintf("%s=%q: %s", e.Name, e.Value, e.Reason)
}

// Problems are the problems of an error FromEnv returned, one
// *VariableError per variable. (Not for any error: fmt.Errorf with two %w
// unwraps to a list too, of which neither part is a problem of its own.)
func Problems(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// FromEnv reads the configuration through getenv (os.Getenv in production).
// An unset or empty variable takes its default. The error joins one
// *VariableError per bad variable.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Default()
	var errs []error
	fail := func(name, reason string) {
		errs = append(errs, &VariableError{Name: name, Value: getenv(name), Reason: reason})
	}

	switch v := strings.ToLower(strings.TrimSpace(getenv(EnvDryRun))); v {
	case "", "false":
	case "true":
		c.DryRun = true
	default:
		fail(EnvDryRun, "want true or false")
	}

	services, err := parseServices(getenv(EnvServices))
	if err != nil {
		fail(EnvServices, err.Error())
	}
	c.Templates.Services = services

	switch strings.TrimSpace(getenv(EnvLogsTemplate)) {
	case "", policytemplates.Logs:
	case policytemplates.LogsStrict:
		c.Templates.StrictLogs = true
	default:
		fail(EnvLogsTemplate, fmt.Sprintf("want %s or %s", policytemplates.Logs, policytemplates.LogsStrict))
	}

	c.LogGroupPatterns = splitList(getenv(EnvLogGroupPatterns))
	c.Accounts = splitList(getenv(EnvAccounts))
	for _, a := range c.Accounts {
		if !policytemplates.IsAccountID(a) {
			fail(EnvAccounts, fmt.Sprintf("%q is not an account ID (12 digits)", a))
		}
	}
	c.OrganizationID = strings.TrimSpace(getenv(EnvOrganizationID))
	if c.OrganizationID != "" && c.OrganizationID != OrganizationFromAWS && !policytemplates.IsOrganizationID(c.OrganizationID) {
		fail(EnvOrganizationID, fmt.Sprintf("want the organization's ID (o-…), or %s to read it at start", OrganizationFromAWS))
	}
	switch v := strings.ToLower(strings.TrimSpace(getenv(EnvTagException))); v {
	case "", "false":
	case "true":
		c.TagException = true
		if c.OrganizationID == "" {
			fail(EnvTagException, "only with ORGANIZATION_ID, the organization form")
		}
	default:
		fail(EnvTagException, "want true or false")
	}
	if err := checkTemplates(c); err != nil {
		fail(EnvLogGroupPatterns, err.Error())
	}

	if v := strings.TrimSpace(getenv(EnvCheckMode)); v != "" {
		mode, err := policy.ParseMode(v)
		if err != nil {
			fail(EnvCheckMode, fmt.Sprintf("want %s or %s", policy.Subset, policy.Exact))
		}
		c.Mode = mode
	}

	if v := strings.TrimSpace(getenv(EnvRewrite)); v != "" {
		how, err := ParseRewrite(v)
		if err != nil {
			fail(EnvRewrite, err.Error())
		}
		c.Rewrite = how
	}

	// A narrow rewrite keeps the owner's statements, so it is never the
	// template itself: in exact mode every check would rewrite it again.
	if c.Mode == policy.Exact && c.Rewrite == RewriteNarrow {
		fail(EnvRewrite, fmt.Sprintf("%s cannot go with the %s check mode, which accepts only the template itself; use %s", RewriteNarrow, policy.Exact, RewriteTemplate))
	}

	if v := strings.TrimSpace(getenv(EnvExemptTag)); v != "" {
		tag, err := parseTag(v)
		if err != nil {
			fail(EnvExemptTag, err.Error())
		}
		c.ExemptTag = tag
	}

	c.SelfRoleARN = strings.TrimSpace(getenv(EnvSelfRoleARN))
	if c.SelfRoleARN != "" && !roleARN.MatchString(c.SelfRoleARN) {
		fail(EnvSelfRoleARN, "want an IAM role ARN, arn:PARTITION:iam::ACCOUNT:role/NAME")
	}

	if v := strings.TrimSpace(getenv(EnvSweepConcurrency)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxSweepConcurrency {
			fail(EnvSweepConcurrency, fmt.Sprintf("want a whole number from 1 to %d", MaxSweepConcurrency))
		}
		c.SweepConcurrency = n
	}

	if v := strings.TrimSpace(getenv(EnvMaxWritesPerSec)); v != "" {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || !(n >= 0.1 && n <= MaxWritesPerSecondLimit) {
			fail(EnvMaxWritesPerSec, fmt.Sprintf("want a number from 0.1 to %d", MaxWritesPerSecondLimit))
		}
		c.MaxWritesPerSecond = n
	}

	switch v := strings.ToLower(strings.TrimSpace(getenv(EnvFindings))); v {
	case "", FindingsNone:
	case FindingsSecurityHub:
		c.Findings = v
	default:
		fail(EnvFindings, fmt.Sprintf("want %s or %s", FindingsNone, FindingsSecurityHub))
	}

	c.Hub = readHub(getenv, fail)

	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return c, nil
}

var (
	// IAM's role name characters.
	roleName = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	// An organizational unit, or the organization's root.
	ouID = regexp.MustCompile(`^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$`)
)

// readHub reads the hub's variables; nil when none is set.
func readHub(getenv func(string) string, fail func(name, reason string)) *Hub {
	h := &Hub{
		RoleName:      strings.TrimSpace(getenv(EnvMemberRoleName)),
		OUs:           splitList(getenv(EnvMemberOUs)),
		Accounts:      splitList(getenv(EnvMemberAccounts)),
		Regions:       splitList(getenv(EnvMemberRegions)),
		SweepQueueURL: strings.TrimSpace(getenv(EnvSweepQueueURL)),
	}
	if h.RoleName == "" && len(h.OUs)+len(h.Accounts)+len(h.Regions) == 0 && h.SweepQueueURL == "" {
		return nil
	}
	if !roleName.MatchString(h.RoleName) {
		fail(EnvMemberRoleName, "want the member role's name (an organization's hub needs it)")
	}
	for _, ou := range h.OUs {
		if !ouID.MatchString(ou) {
			fail(EnvMemberOUs, fmt.Sprintf("%q is not an OU ID (ou-…) or a root ID (r-…)", ou))
		}
	}
	for _, a := range h.Accounts {
		if !policytemplates.IsAccountID(a) {
			fail(EnvMemberAccounts, fmt.Sprintf("%q is not an account ID (12 digits)", a))
		}
	}
	for _, r := range h.Regions {
		if !policytemplates.IsRegion(r) {
			fail(EnvMemberRegions, fmt.Sprintf("%q is not a region name", r))
		}
	}
	switch {
	case len(h.OUs) > 0 && len(h.Accounts) > 0:
		fail(EnvMemberAccounts, "give MEMBER_OUS or MEMBER_ACCOUNTS, not both")
	case h.SweepQueueURL != "" && len(h.OUs)+len(h.Accounts) == 0:
		fail(EnvSweepQueueURL, "the sweep needs MEMBER_OUS or MEMBER_ACCOUNTS to know which accounts to sweep")
	}
	if u, err := url.Parse(h.SweepQueueURL); h.SweepQueueURL != "" && (err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http")) {
		fail(EnvSweepQueueURL, "want the queue's URL, https://sqs.REGION.amazonaws.com/ACCOUNT/NAME")
	}
	return h
}

// roleARN is loose on purpose: it catches a role name or a user ARN pasted by
// mistake, and leaves the fine print of ARNs to IAM.
var roleARN = regexp.MustCompile(`^arn:[a-z-]+:iam::\d{12}:role/.+$`)

func parseServices(v string) ([]string, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil // every service
	}
	services := splitList(v)
	if len(services) == 0 {
		return nil, errors.New("names no service")
	}
	known := policytemplates.Services()
	for _, s := range services {
		if !slices.Contains(known, s) {
			return nil, fmt.Errorf("unknown service %q, want a comma-separated list of %s", s, strings.Join(known, ", "))
		}
	}
	slices.Sort(services)
	return slices.Compact(services), nil
}

// checkTemplates renders the Logs template once with the patterns and the
// accounts, which validates each one and catches a list too long for an
// endpoint policy. The longest partition and region names leave the least
// room, so a list that fits here fits everywhere vpce-guard is likely to run.
func checkTemplates(c Config) error {
	if len(c.LogGroupPatterns)+len(c.Accounts) == 0 {
		return nil
	}
	name := policytemplates.Logs
	if c.Templates.StrictLogs {
		name = policytemplates.LogsStrict
	}
	p := c.TemplateParams()
	p.Partition, p.Region, p.AccountID = "aws-us-gov", "us-gov-west-1", "123456789012"
	if !policytemplates.IsOrganizationID(p.OrganizationID) {
		p.OrganizationID, p.TagException = "", false // checked on their own
	}
	_, err := policytemplates.Render(name, p)
	return err
}

func parseTag(v string) (Tag, error) {
	key, value, hasValue := strings.Cut(v, "=")
	key, value = strings.TrimSpace(key), strings.TrimSpace(value)
	switch {
	case key == "":
		return Tag{}, errors.New("the tag key is empty, want KEY=VALUE or KEY")
	case len(key) > 128:
		return Tag{}, errors.New("the tag key is longer than 128 characters")
	case hasValue && value == "":
		return Tag{}, errors.New("nothing after '=', write just KEY to match any value")
	case len(value) > 256:
		return Tag{}, errors.New("the tag value is longer than 256 characters")
	}
	return Tag{Key: key, Value: value}, nil
}

// splitList splits a comma-separated list, dropping blanks around and between items.
func splitList(v string) []string {
	var items []string
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

// ParseRewrite reads what a rewrite writes, RewriteTemplate or
// RewriteNarrow, in any case.
func ParseRewrite(s string) (string, error) {
	switch v := strings.ToLower(s); v {
	case RewriteTemplate, RewriteNarrow:
		return v, nil
	}
	return "", fmt.Errorf("want %s (write the template) or %s (keep the policy within the template's bounds)", RewriteTemplate, RewriteNarrow)
}
