package policytemplates

import (
	"fmt"
	"regexp"
	"strings"
)

// Params are the values a template is rendered with.
type Params struct {
	// Partition of the ARNs; empty means PartitionForRegion(Region).
	Partition string
	// Region of the endpoint, e.g. eu-west-1.
	Region string
	// AccountID that owns the endpoint: 12 digits.
	AccountID string
	// LogGroupPatterns are log-group names, with the wildcards * and ?, that
	// the logs templates allow; none means every log group of the account.
	// Other templates ignore them, though Validate checks them all the same.
	LogGroupPatterns []string
	// Accounts are more accounts whose resources the template allows, beside
	// AccountID's (the accounts form, for endpoints shared across accounts).
	Accounts []string
	// OrganizationID, when set, renders the organization form: requests of
	// the organization's principals to the organization's resources.
	OrganizationID string
	// TagException adds to the organization form AWS's data-perimeter
	// exception: organization identities tagged dp:exclude:resource=true
	// reach any account's resources of the region.
	TagException bool
}

// accounts are AccountID and Accounts, each once, the owner first.
func (p Params) accounts() []string {
	return uniqueInOrder(append([]string{p.AccountID}, p.Accounts...))
}

// A ParamError names a Params field whose value cannot go into a policy.
type ParamError struct {
	Field  string // e.g. "AccountID" or "LogGroupPatterns[2]"
	Value  string
	Reason string
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("%s %q: %s", e.Field, e.Value, e.Reason)
}

// maxLogGroupPatternLength is the longest log-group name CloudWatch Logs
// allows, so no useful pattern is longer.
const maxLogGroupPatternLength = 512

var (
	accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)
	// An organization's ID: o- and 10 to 32 lower-case letters or digits.
	organizationIDPattern = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	// Two to four letters, one or more words, a number: eu-west-1,
	// us-gov-west-1, eusc-de-east-1.
	regionPattern = regexp.MustCompile(`^[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}$`)
	// Log-group name characters plus the IAM wildcards. The set excludes
	// quotes, braces and colons, so a pattern cannot reach outside its ARN.
	logGroupPattern = regexp.MustCompile(`^[.\-_/#A-Za-z0-9*?]+$`)
)

// IsRegion reports whether s is shaped like a region name, such as eu-west-1.
func IsRegion(s string) bool { return regionPattern.MatchString(s) }

// IsAccountID reports whether s is an AWS account ID: 12 digits.
func IsAccountID(s string) bool { return accountIDPattern.MatchString(s) }

// IsOrganizationID reports whether s is an AWS Organizations ID, o-….
func IsOrganizationID(s string) bool { return organizationIDPattern.MatchString(s) }

// Validate reports every field that cannot be rendered, each as a *ParamError.
func (p Params) Validate() error {
	var errs []error
	invalid := func(field, value, reason string) {
		errs = append(errs, &ParamError{Field: field, Value: value, Reason: reason})
	}

	regionOK := regionPattern.MatchString(p.Region)
	if !regionOK {
		invalid("Region", p.Region, "want a region name such as eu-west-1")
	}
	if p.Partition != "" {
		switch {
		case !isKnownPartition(p.Partition):
			invalid("Partition", p.Partition, "want one of "+strings.Join(Partitions(), ", "))
		case regionOK && PartitionForRegion(p.Region) != p.Partition:
			invalid("Partition", p.Partition, fmt.Sprintf("region %s belongs to partition %s", p.Region, PartitionForRegion(p.Region)))
		}
	}
	if !accountIDPattern.MatchString(p.AccountID) {
		invalid("AccountID", p.AccountID, "want exactly 12 digits")
	}
	for i, a := range p.Accounts {
		if !accountIDPattern.MatchString(a) {
			invalid(fmt.Sprintf("Accounts[%d]", i), a, "want exactly 12 digits")
		}
	}
	switch {
	case p.OrganizationID != "" && !organizationIDPattern.MatchString(p.OrganizationID):
		invalid("OrganizationID", p.OrganizationID, "want o- and 10 to 32 lower-case letters or digits")
	case p.OrganizationID == "" && p.TagException:
		invalid("TagException", "true", "only with the organization form (OrganizationID)")
	}
	for i, pattern := range p.LogGroupPatterns {
		field := fmt.Sprintf("LogGroupPatterns[%d]", i)
		switch {
		case pattern == "":
			invalid(field, pattern, "empty pattern")
		case len(pattern) > maxLogGroupPatternLength:
			invalid(field, pattern, fmt.Sprintf("longer than %d characters", maxLogGroupPatternLength))
		case !logGroupPattern.MatchString(pattern):
			invalid(field, pattern, "only letters, digits, . - _ / # and the wildcards * ? may appear")
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return paramErrors(errs)
}

// paramErrors holds every ParamError of one Params on one line, for logs;
// errors.As still finds each of them.
type paramErrors []error

func (e paramErrors) Error() string {
	msgs := make([]string, len(e))
	for i, err := range e {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}

func (e paramErrors) Unwrap() []error { return e }

// partitions maps region-name prefixes to partitions; the first match wins,
// so us-isob- comes before us-iso-. Regions matching none are in "aws".
var partitions = []struct{ regionPrefix, partition string }{
	{"cn-", "aws-cn"},
	{"us-gov-", "aws-us-gov"},
	{"us-isob-", "aws-iso-b"},
	{"us-isof-", "aws-iso-f"},
	{"us-iso-", "aws-iso"},
	{"eu-isoe-", "aws-iso-e"},
	{"eusc-", "aws-eusc"},
}

// PartitionForRegion returns the ARN partition of a region: aws-cn for cn-*,
// aws-us-gov for us-gov-*, the ISO and European Sovereign Cloud partitions
// for theirs, and aws for everything else.
func PartitionForRegion(region string) string {
	for _, p := range partitions {
		if strings.HasPrefix(region, p.regionPrefix) {
			return p.partition
		}
	}
	return "aws"
}

// Partitions are the ARN partitions the templates render for: aws first,
// then the others in the order PartitionForRegion tries them.
func Partitions() []string {
	names := []string{"aws"}
	for _, p := range partitions {
		names = append(names, p.partition)
	}
	return names
}

func isKnownPartition(name string) bool {
	for _, known := range Partitions() {
		if name == known {
			return true
		}
	}
	return false
}
