package stack

import (
	"cmp"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/policytemplates"
)

// The context keys the app reads, given with `cdk -c KEY=VALUE` or in
// cdk.json's "context". A list takes a JSON array or a comma-separated string.
const (
	KeyRegions          = "regions"
	KeyDryRun           = "dryRun"
	KeyServices         = "services"
	KeyLogsTemplate     = "logsTemplate"
	KeyLogGroupPatterns = "logGroupPatterns"
	KeyCheckMode        = "checkMode"
	KeyRewrite          = "rewrite"
	KeyExemptTag        = "exemptTag"
	KeySweepConcurrency = "sweepConcurrency"
	KeyMaxWritesPerSec  = "maxWritesPerSecond"
	KeySweepSchedule    = "sweepSchedule"
	KeyLogLevel         = "logLevel"
	KeyLogRetentionDays = "logRetentionDays"
	KeyCreateTrail      = "createTrail"
	KeyAlarmEmail       = "alarmEmail"
	KeyReservedConc     = "reservedConcurrency"
	KeyFindings         = "findings"

	// An AWS Organization's hub and members (organization.go).
	KeyOrganization    = "organization"
	KeyOrganizationID  = "organizationId"
	KeyMemberOUs       = "memberOUs"
	KeyMemberRegions   = "memberRegions"
	KeyUnitConcurrency = "unitConcurrency"

	// The templates' forms for endpoints shared across accounts.
	KeyAccounts                 = "accounts"
	KeyTemplateOrganizationID   = "templateOrganizationId"
	KeyOrganizationTagException = "organizationTagException"
)

// Keys lists every context key the app reads.
func Keys() []string {
	return []string{
		KeyRegions, KeyDryRun, KeyServices, KeyLogsTemplate, KeyLogGroupPatterns,
		KeyCheckMode, KeyRewrite, KeyExemptTag, KeySweepConcurrency, KeyMaxWritesPerSec, KeySweepSchedule,
		KeyLogLevel, KeyLogRetentionDays, KeyCreateTrail, KeyAlarmEmail, KeyReservedConc, KeyFindings,
		KeyOrganization, KeyOrganizationID, KeyMemberOUs, KeyMemberRegions, KeyUnitConcurrency,
		KeyAccounts, KeyTemplateOrganizationID, KeyOrganizationTagException,
	}
}

// Defaults of the keys that are not the function's own defaults.
const (
	DefaultSweepSchedule = "rate(1 day)"
	DefaultLogLevel      = "INFO"
	// DefaultLogRetentionDays keeps the record of what vpce-guard changed for
	// a year, the span most audits look back over.
	DefaultLogRetentionDays = 365
	// SweepOff is the sweepSchedule value that turns the scheduled sweep off.
	SweepOff = "off"
)

// Settings is the deployment as the context describes it.
type Settings struct {
	// Regions gets one stack each; none gets one stack without a fixed
	// region (the CLI's default region, or any region for a StackSet).
	Regions []string
	// DryRun, Services, LogsTemplate, LogGroupPatterns, CheckMode, Rewrite,
	// ExemptTag, SweepConcurrency and MaxWritesPerSecond become the
	// function's environment (lambda/config), which validates them.
	DryRun             bool
	Services           []string
	LogsTemplate       string
	LogGroupPatterns   []string
	CheckMode          string
	Rewrite            string
	ExemptTag          string
	SweepConcurrency   int
	MaxWritesPerSecond string
	// Accounts, TemplateOrganizationID and TagException choose the
	// templates' form: ACCOUNTS, ORGANIZATION_ID, ORGANIZATION_TAG_EXCEPTION.
	Accounts               []string
	TemplateOrganizationID string
	TagException           bool
	// SweepSchedule is an EventBridge schedule expression; empty turns the
	// scheduled sweep off.
	SweepSchedule string
	// LogLevel is the function's application log level.
	LogLevel string
	// LogRetentionDays is how long the function's log group keeps its logs.
	LogRetentionDays int
	// CreateTrail adds a CloudTrail trail of management write events.
	CreateTrail bool
	// AlarmEmail, when set, is subscribed to an SNS topic that the alarms notify.
	AlarmEmail string
	// ReservedConcurrency, when not zero, reserves (and caps) the function's
	// concurrency: a burst of events cannot then spend the account's EC2
	// budget. Off by default: an account with a low Lambda quota refuses any
	// reservation.
	ReservedConcurrency int
	// Organization, when set, makes the app an organization's hub, one stack
	// per member region, which rolls the members out with StackSets.
	Organization *Organization
	// Findings is FINDINGS: config.FindingsSecurityHub gives the role (in an
	// organization, the member role) the Security Hub permissions; empty
	// means none.
	Findings string
}

// Organization is the deployment across an AWS Organization.
type Organization struct {
	// ID is the organization's, o-…: the hub bus admits its accounts only,
	// and the member role trusts the hub only from within it.
	ID string
	// OUs get the member stacks, in every region of Regions, including
	// accounts created in them later.
	OUs []string
	// Regions are the member regions, each with a hub stack; the first is
	// the primary: it holds the sweep and the stack sets, and the member
	// role's single stack instance per account.
	Regions []string
	// UnitConcurrency bounds the sweep units running at once.
	UnitConcurrency int
}

// DefaultUnitConcurrency is how many sweep units run at once: each is another
// account's EC2 token buckets, so it is the hub's Lambda concurrency it spends.
const DefaultUnitConcurrency = 10

// ContextError is a context value the app cannot use.
type ContextError struct {
	Key    string
	Value  any
	Reason string
}

func (e *ContextError) Error() string {
	return fmt.Sprintf("context %s=%s: %s", e.Key, show(e.Value), e.Reason)
}

func show(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%v", v)
}

// envKeys maps the function's environment variables back to the context keys
// they come from, so that an error of lambda/config names the key to fix.
var envKeys = map[string]string{
	config.EnvDryRun:           KeyDryRun,
	config.EnvServices:         KeyServices,
	config.EnvLogsTemplate:     KeyLogsTemplate,
	config.EnvLogGroupPatterns: KeyLogGroupPatterns,
	config.EnvCheckMode:        KeyCheckMode,
	config.EnvRewrite:          KeyRewrite,
	config.EnvExemptTag:        KeyExemptTag,
	config.EnvSweepConcurrency: KeySweepConcurrency,
	config.EnvMaxWritesPerSec:  KeyMaxWritesPerSec,
	config.EnvMemberOUs:        KeyMemberOUs,
	config.EnvMemberRegions:    KeyMemberRegions,
	config.EnvAccounts:         KeyAccounts,
	config.EnvOrganizationID:   KeyTemplateOrganizationID,
	config.EnvTagException:     KeyOrganizationTagException,
	config.EnvFindings:         KeyFindings,
}

// placeholderRoleARN and placeholderQueueURL stand in for the function's role
// and its sweep queue, only known at deployment, when the environment is
// validated at synth.
const (
	placeholderRoleARN  = "arn:aws:iam::123456789012:role/vpce-guard-function"
	placeholderQueueURL = "https://sqs.eu-west-1.amazonaws.com/123456789012/vpce-guard-units"
)

// SettingsFromContext reads and validates the settings. lookup returns a
// context value or nil (Node.TryGetContext); present lists every context key
// set, to catch a known key spelled in another case. The error joins one
// *ContextError per bad key.
func SettingsFromContext(lookup func(key string) any, present []string) (Settings, error) {
	r := reader{lookup: lookup}
	s := Settings{
		Regions:                r.list(KeyRegions),
		DryRun:                 r.boolean(KeyDryRun),
		Services:               r.list(KeyServices),
		LogsTemplate:           r.str(KeyLogsTemplate),
		LogGroupPatterns:       r.list(KeyLogGroupPatterns),
		CheckMode:              r.str(KeyCheckMode),
		Rewrite:                r.str(KeyRewrite),
		ExemptTag:              r.str(KeyExemptTag),
		MaxWritesPerSecond:     r.str(KeyMaxWritesPerSec),
		Accounts:               r.list(KeyAccounts),
		TemplateOrganizationID: r.str(KeyTemplateOrganizationID),
		TagException:           r.boolean(KeyOrganizationTagException),
		SweepSchedule:          DefaultSweepSchedule,
		LogLevel:               DefaultLogLevel,
		LogRetentionDays:       DefaultLogRetentionDays,
		CreateTrail:            r.boolean(KeyCreateTrail),
		AlarmEmail:             r.str(KeyAlarmEmail),
		Findings:               strings.ToLower(r.str(KeyFindings)),
	}
	if s.Findings == config.FindingsNone {
		s.Findings = ""
	}
	if v := r.str(KeySweepConcurrency); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			r.fail(KeySweepConcurrency, fmt.Sprintf("want a whole number from 1 to %d", config.MaxSweepConcurrency))
		}
		s.SweepConcurrency = n
	}
	if v, set := r.strSet(KeySweepSchedule); set {
		s.SweepSchedule = v
		if strings.EqualFold(v, SweepOff) {
			s.SweepSchedule = ""
		} else if err := checkSchedule(v); err != nil {
			r.fail(KeySweepSchedule, err.Error())
		}
	}
	if v := r.str(KeyLogLevel); v != "" {
		s.LogLevel = strings.ToUpper(v)
		if !slices.Contains(logLevels, s.LogLevel) {
			r.fail(KeyLogLevel, "want TRACE, DEBUG or INFO; WARN and above would drop the metric lines, which Lambda reads as INFO")
		}
	}
	if v := r.str(KeyLogRetentionDays); v != "" {
		n, err := strconv.Atoi(v)
		if _, known := retentionDays[n]; err != nil || !known {
			r.fail(KeyLogRetentionDays, "want one of CloudWatch Logs' retention periods in days: "+retentionList())
		}
		s.LogRetentionDays = n
	}
	r.checkRegions(s.Regions)
	s.Organization = r.organization(s)
	if v := r.str(KeyReservedConc); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			r.fail(KeyReservedConc, "want a whole number from 1 to 1000 (the default account quota); leave it out for none")
		}
		s.ReservedConcurrency = n
	}
	if s.AlarmEmail != "" {
		if a, err := mail.ParseAddress(s.AlarmEmail); err != nil || a.Address != s.AlarmEmail {
			r.fail(KeyAlarmEmail, "want one email address, like ops@example.com")
		}
	}
	r.checkMisspelled(present)

	// The function refuses to start on a bad setting; finding it here, with
	// the function's own validation, stops the deployment instead.
	env := s.Environment(placeholderRoleARN)
	if s.Organization != nil {
		env = s.HubEnvironment(placeholderRoleARN, placeholderQueueURL)
	}
	if _, err := config.FromEnv(envLookup(env)); err != nil {
		for _, e := range config.Problems(err) {
			var v *config.VariableError
			if errors.As(e, &v) {
				key := envKeys[v.Name]
				r.errs = append(r.errs, &ContextError{Key: key, Value: lookup(key), Reason: v.Reason})
			} else {
				r.errs = append(r.errs, e)
			}
		}
	}
	if len(r.errs) > 0 {
		return Settings{}, errors.Join(r.errs...)
	}
	return s, nil
}

// Environment is the function's environment for these settings, with
// selfRoleARN (a token at synth) as SELF_ROLE_ARN. Every setting is written
// out, defaults included, so that the console shows what the function runs with.
func (s Settings) Environment(selfRoleARN string) map[string]string {
	env := map[string]string{
		config.EnvDryRun:       strconv.FormatBool(s.DryRun),
		config.EnvLogsTemplate: cmp.Or(s.LogsTemplate, policytemplates.Logs),
		config.EnvCheckMode:    cmp.Or(s.CheckMode, "subset"),
		config.EnvRewrite:      cmp.Or(s.Rewrite, config.RewriteTemplate),
		config.EnvExemptTag:    cmp.Or(s.ExemptTag, config.DefaultExemptTagKey+"="+config.DefaultExemptTagValue),
		config.EnvSelfRoleARN:  selfRoleARN,
	}
	if s.SweepConcurrency != 0 {
		env[config.EnvSweepConcurrency] = strconv.Itoa(s.SweepConcurrency)
	} else {
		env[config.EnvSweepConcurrency] = strconv.Itoa(config.DefaultSweepConcurrency)
	}
	env[config.EnvMaxWritesPerSec] = cmp.Or(s.MaxWritesPerSecond, strconv.Itoa(config.DefaultMaxWritesPerSecond))
	env[config.EnvFindings] = cmp.Or(s.Findings, config.FindingsNone)
	if len(s.Accounts) > 0 {
		env[config.EnvAccounts] = strings.Join(s.Accounts, ",")
	}
	if s.TemplateOrganizationID != "" {
		env[config.EnvOrganizationID] = s.TemplateOrganizationID
	}
	if s.TagException {
		env[config.EnvTagException] = "true"
	}
	// Unset, these two mean every service and every log group.
	if len(s.Services) > 0 {
		env[config.EnvServices] = strings.Join(s.Services, ",")
	}
	if len(s.LogGroupPatterns) > 0 {
		env[config.EnvLogGroupPatterns] = strings.Join(s.LogGroupPatterns, ",")
	}
	return env
}

// HubEnvironment is the environment of a hub's function: Environment's, and
// the member role's name; for the primary hub (queueURL set) the sweep's
// queue, OUs and regions.
func (s Settings) HubEnvironment(selfRoleARN, queueURL string) map[string]string {
	env := s.Environment(selfRoleARN)
	env[config.EnvMemberRoleName] = MemberRoleName
	if queueURL != "" {
		env[config.EnvSweepQueueURL] = queueURL
		env[config.EnvMemberOUs] = strings.Join(s.Organization.OUs, ",")
		env[config.EnvMemberRegions] = strings.Join(s.Organization.Regions, ",")
	}
	return env
}

// ReportsFindings reports whether the function imports its findings into
// Security Hub.
func (s Settings) ReportsFindings() bool { return s.Findings == config.FindingsSecurityHub }

// ReadsOrganization reports whether the function reads its organization's ID
// at start, which takes organizations:DescribeOrganization.
func (s Settings) ReadsOrganization() bool {
	return s.TemplateOrganizationID == config.OrganizationFromAWS
}

// GuardedServices is the services whose endpoints the function guards.
func (s Settings) GuardedServices() []string {
	if len(s.Services) == 0 {
		return policytemplates.Services()
	}
	services := slices.Clone(s.Services)
	slices.Sort(services)
	return slices.Compact(services)
}

func envLookup(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// reader converts context values, which are strings when given with -c and
// JSON values when written in cdk.json, and collects what is wrong with them.
type reader struct {
	lookup func(string) any
	errs   []error
}

func (r *reader) fail(key, reason string) {
	r.errs = append(r.errs, &ContextError{Key: key, Value: r.lookup(key), Reason: reason})
}

// strSet returns a scalar value as a string, and whether the key is set.
func (r *reader) strSet(key string) (string, bool) {
	switch v := r.lookup(key).(type) {
	case nil:
		return "", false
	case string:
		return strings.TrimSpace(v), true
	case bool:
		return strconv.FormatBool(v), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	default:
		r.fail(key, "want a string, a number or a boolean")
		return "", true
	}
}

func (r *reader) str(key string) string {
	v, _ := r.strSet(key)
	return v
}

func (r *reader) boolean(key string) bool {
	v, set := r.strSet(key)
	if !set {
		return false
	}
	switch strings.ToLower(v) {
	case "true":
		return true
	case "false", "":
		return false
	}
	r.fail(key, "want true or false")
	return false
}

// list reads a JSON array of strings or a comma-separated string.
func (r *reader) list(key string) []string {
	var items []string
	switch v := r.lookup(key).(type) {
	case nil:
		return nil
	case string:
		items = strings.Split(v, ",")
	case []any:
		for _, item := range v {
			s, ok := item.(string)
			if !ok {
				r.fail(key, "want a list of strings")
				return nil
			}
			items = append(items, s)
		}
	default:
		r.fail(key, "want a JSON list of strings or a comma-separated string")
		return nil
	}
	var out []string
	for _, item := range items {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// organization reads the organization keys: all of them with
// organization=true, none without.
func (r *reader) organization(s Settings) *Organization {
	keys := []string{KeyOrganizationID, KeyMemberOUs, KeyMemberRegions, KeyUnitConcurrency}
	if !r.boolean(KeyOrganization) {
		for _, key := range keys {
			if _, set := r.strSet(key); set || r.lookup(key) != nil {
				r.fail(key, "only with organization=true")
			}
		}
		return nil
	}
	o := &Organization{
		ID:              r.str(KeyOrganizationID),
		OUs:             r.list(KeyMemberOUs),
		Regions:         r.list(KeyMemberRegions),
		UnitConcurrency: DefaultUnitConcurrency,
	}
	if !policytemplates.IsOrganizationID(o.ID) {
		r.fail(KeyOrganizationID, "want the organization's ID, o- and 10 to 32 letters and digits (aws organizations describe-organization)")
	}
	if len(o.OUs) == 0 {
		r.fail(KeyMemberOUs, "want the OUs whose accounts get the member stacks (ou-…, or the root r-…)")
	}
	if len(o.Regions) == 0 {
		r.fail(KeyMemberRegions, "want the regions to guard; the first holds the sweep and the stack sets")
	}
	r.checkRegionList(KeyMemberRegions, o.Regions)
	if len(s.Regions) > 0 {
		r.fail(KeyRegions, "not with organization=true: memberRegions says where the hub stacks go")
	}
	if s.CreateTrail {
		r.fail(KeyCreateTrail, "not with organization=true: use an organization trail, or a trail in every member account")
	}
	if v := r.str(KeyUnitConcurrency); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 || n > 1000 {
			r.fail(KeyUnitConcurrency, "want a whole number from 2 to 1000 (Lambda's limits for an SQS event source)")
		}
		o.UnitConcurrency = n
	}
	return o
}

func (r *reader) checkRegions(regions []string) { r.checkRegionList(KeyRegions, regions) }

func (r *reader) checkRegionList(key string, regions []string) {
	seen := map[string]bool{}
	for _, name := range regions {
		switch {
		case !policytemplates.IsRegion(name):
			r.fail(key, fmt.Sprintf("%q is not a region name like eu-west-1", name))
		case seen[name]:
			r.fail(key, fmt.Sprintf("%q is listed twice", name))
		}
		seen[name] = true
	}
}

// checkMisspelled catches dryrun for dryRun: CDK ignores unknown keys, and a
// setting that silently does not apply is the worst kind for a guard.
func (r *reader) checkMisspelled(present []string) {
	for _, p := range present {
		for _, k := range Keys() {
			if p != k && strings.EqualFold(p, k) {
				r.errs = append(r.errs, &ContextError{Key: p, Value: r.lookup(p), Reason: fmt.Sprintf("unknown key, did you mean %s?", k)})
			}
		}
	}
}

var logLevels = []string{"TRACE", "DEBUG", "INFO"}

var (
	rateExpression = regexp.MustCompile(`^rate\(([1-9]\d*) (minute|minutes|hour|hours|day|days)\)$`)
	cronExpression = regexp.MustCompile(`^cron\(\S+( \S+){5}\)$`)
)

// checkSchedule accepts EventBridge's rate() and cron() expressions; the
// fine print of cron fields is left to EventBridge.
func checkSchedule(v string) error {
	const want = `want rate(N unit) such as "rate(1 day)" or "rate(12 hours)", cron(...) with six fields, or "off"`
	if cronExpression.MatchString(v) {
		return nil
	}
	m := rateExpression.FindStringSubmatch(v)
	if m == nil {
		return errors.New(want)
	}
	if singular := m[1] == "1"; singular == strings.HasSuffix(m[2], "s") {
		return fmt.Errorf("%s: the unit is singular for 1 and plural otherwise", want)
	}
	return nil
}
