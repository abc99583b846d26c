package findings

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/lambda/policy"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
	"github.com/vpce-guard/vpce-guard/lambda/securityhub"
	"github.com/vpce-guard/vpce-guard/policytemplates"
)

// The fixed parts of every finding.
const (
	SchemaVersion = "2018-10-08"
	// GeneratorID names the check; the console groups findings by it.
	GeneratorID = "vpce-guard/endpoint-policy"
	ProductName = "vpce-guard"
	// ResourceType is ASFF's catch-all: it has a type for an endpoint
	// *service* (AwsEc2VpcEndpointService), none for an endpoint.
	ResourceType = "Other"

	TypeBestPractices    = "Software and Configuration Checks/AWS Security Best Practices"
	TypeDataExfiltration = "Effects/Data Exfiltration"

	// UpdatedBy signs the notes vpce-guard leaves on the findings it resolves.
	UpdatedBy = "vpce-guard"
)

// ASFF's limits, in characters.
const (
	MaxTitle       = 256
	MaxDescription = 1024
	MaxDetailValue = 1023 // Details.Other values are under 1,024
	MaxNote        = 512
	MaxRecommend   = 512
)

// Place is an account and region: where an endpoint is, and whose Security
// Hub gets its finding (the default product ARN takes findings of its own
// account only).
type Place struct{ Account, Region string }

func (p Place) partition() string { return policytemplates.PartitionForRegion(p.Region) }

// ProductARN is the account's default product ARN in its region, the one
// every account may import its own findings under.
func ProductARN(p Place) string {
	return fmt.Sprintf("arn:%s:securityhub:%s:%s:product/%s/default", p.partition(), p.Region, p.Account, p.Account)
}

// FindingID is the finding's Id: one per endpoint and check, the same on
// every check, so that each import updates the endpoint's one finding.
func FindingID(p Place, endpointID string) string {
	return fmt.Sprintf("vpce-guard/%s/%s/%s/endpoint-policy", p.Region, p.Account, endpointID)
}

// EndpointARN is the endpoint's ARN, the finding's resource.
func EndpointARN(p Place, endpointID string) string {
	return fmt.Sprintf("arn:%s:ec2:%s:%s:vpc-endpoint/%s", p.partition(), p.Region, p.Account, endpointID)
}

// Finding is what one outcome becomes.
type Finding struct {
	ASFF securityhub.AwsSecurityFinding
	// Resolve is set for an endpoint vpce-guard rewrote: its finding must be
	// resolved with BatchUpdateFindings too, since an import sets the
	// workflow of a new finding only.
	Resolve bool
	// EndpointID is the endpoint's, for log lines.
	EndpointID string
}

// ID is the finding's Id.
func (f Finding) ID() string { return f.ASFF.ID }

// FromOutcome turns the outcome of an endpoint of place's region into a
// finding checked at now. ok is false for the outcomes that say nothing about
// the endpoint's policy: exempt, skipped, and errors before a verdict.
//
//   - compliant: PASSED, severity INFORMATIONAL;
//   - noncompliant and rewritten: PASSED, INFORMATIONAL, and resolved;
//   - noncompliant and not rewritten (dry run, or the write failed or was
//     left for the deadline): FAILED, HIGH;
//   - not found (the endpoint was deleted): archived, so that what was said
//     of it before leaves the console's default view.
//
// The account is the outcome's (the endpoint's owner), the region the one
// the endpoint was looked up in: for an endpoint reaching another region's
// service, the outcome's Region is the service's.
func FromOutcome(o remediate.Outcome, region string, now time.Time) (Finding, bool) {
	at := Place{Account: o.Account, Region: region}
	if o.EndpointID == "" || !policytemplates.IsAccountID(at.Account) || !policytemplates.IsRegion(at.Region) {
		return Finding{}, false
	}
	s, ok := stateOf(o)
	if !ok {
		return Finding{}, false
	}
	stamp := now.UTC().Format("2006-01-02T15:04:05.000Z")
	f := securityhub.AwsSecurityFinding{
		SchemaVersion: SchemaVersion,
		ID:            FindingID(at, o.EndpointID),
		ProductARN:    ProductARN(at),
		ProductName:   ProductName,
		GeneratorID:   GeneratorID,
		AwsAccountID:  at.Account,
		Region:        at.Region,
		Types:         s.types,
		CreatedAt:     stamp,
		UpdatedAt:     stamp,
		Severity:      &securityhub.Severity{Label: s.severity},
		// Security Hub keeps the provider's own values here, apart from what a
		// person changes at the top level; without them a re-import could not
		// lower the severity of a finding someone has touched.
		FindingProviderFields: &securityhub.FindingProviderFields{Severity: &securityhub.FindingProviderSeverity{Label: s.severity}, Types: s.types},
		Title:                 cut(s.title, MaxTitle),
		Description:           cut(describe(o, s), MaxDescription),
		Resources:             []securityhub.Resource{resource(o, at)},
		RecordState:           s.record,
	}
	if s.compliance != "" {
		f.Compliance = &securityhub.Compliance{Status: s.compliance}
	}
	if s.workflow != "" {
		// Honoured when the finding is created; for an existing one, see Resolve.
		f.Workflow = &securityhub.Workflow{Status: s.workflow}
	}
	if s.compliance == securityhub.ComplianceStatusFailed {
		f.Remediation = &securityhub.Remediation{Recommendation: &securityhub.Recommendation{Text: cut(recommendation, MaxRecommend)}}
	}
	return Finding{ASFF: f, Resolve: s.resolve, EndpointID: o.EndpointID}, true
}

const recommendation = "Let vpce-guard write its template (deploy it without dry run), or narrow the policy to the template " +
	"(vpce-guard render prints it). An endpoint that must keep a broader policy can carry vpce-guard's exemption tag; " +
	"restrict who may set it."

// state is what a finding says about its endpoint.
type state struct {
	compliance securityhub.ComplianceStatus // "" for an archived finding
	severity   securityhub.SeverityLabel
	workflow   securityhub.WorkflowStatus // "" leaves Security Hub's NEW
	record     securityhub.RecordState
	resolve    bool
	types      []string
	title      string
	summary    string
}

func stateOf(o remediate.Outcome) (state, bool) {
	passed := func(title, summary string) state {
		return state{compliance: securityhub.ComplianceStatusPassed, severity: securityhub.SeverityLabelInformational,
			workflow: securityhub.WorkflowStatusResolved, record: securityhub.RecordStateActive,
			types: []string{TypeBestPractices}, title: title, summary: summary}
	}
	switch {
	case o.Verdict == remediate.Compliant:
		return passed("VPC endpoint policy is within its template",
			"allows nothing beyond vpce-guard's template."), true
	case o.Verdict == remediate.NonCompliant && o.Action == remediate.Rewritten:
		how := "was rewritten to it."
		if o.Rewrite == config.RewriteNarrow {
			how = "was rewritten within its bounds, keeping the owner's statements."
		}
		s := passed("VPC endpoint policy was broader than its template and was rewritten",
			"allowed more than vpce-guard's template and "+how)
		s.resolve = true
		return s, true
	case o.Verdict == remediate.NonCompliant:
		why := "Dry run: not rewritten."
		if o.Error != "" {
			why = "Not rewritten: " + strings.TrimPrefix(o.Error, "not rewritten: ") + "."
		} else if o.Action != remediate.WouldRewrite {
			why = "Not rewritten."
		}
		return state{compliance: securityhub.ComplianceStatusFailed, severity: securityhub.SeverityLabelHigh,
			record: securityhub.RecordStateActive, types: []string{TypeBestPractices, TypeDataExfiltration},
			title:   "VPC endpoint policy allows more than its template",
			summary: "allows more than vpce-guard's template: requests the template denies can pass through the endpoint. " + why}, true
	case o.Verdict == remediate.NotFound:
		// No compliance: nothing is left to comply. Archived findings leave
		// the console's default view and are not evaluated again.
		return state{severity: securityhub.SeverityLabelInformational, record: securityhub.RecordStateArchived,
			types: []string{TypeBestPractices}, title: "VPC endpoint no longer exists",
			summary: "no longer exists; vpce-guard archived its finding."}, true
	}
	return state{}, false
}

// describe is the finding's description: the endpoint, the verdict, and
// why. The witnesses, whose text an attacker chooses and which would crowd
// the reasons out of 1,024 characters, are in the resource's details.
func describe(o remediate.Outcome, s state) string {
	subject := "VPC endpoint " + o.EndpointID
	if o.ServiceName != "" {
		subject += " (" + o.ServiceName + ")"
	}
	if s.record != securityhub.RecordStateArchived {
		subject = "The policy of " + subject
	}
	var b strings.Builder
	b.WriteString(subject + " " + s.summary)
	if len(o.Reasons) > 0 && o.Verdict != remediate.Compliant {
		b.WriteString(" Why: " + strings.Join(o.Reasons, "; ") + ".")
	}
	if len(o.Notes) > 0 {
		b.WriteString(" Notes: " + strings.Join(o.Notes, "; ") + ".")
	}
	return b.String()
}

// ownerDetail names what manages the endpoint, and what said so.
func ownerDetail(o remediate.Outcome) string {
	if o.Owner == nil {
		return ""
	}
	what := o.Owner.Tool
	if o.Owner.Name != "" {
		what += " " + o.Owner.Name
	}
	return what + " (" + o.Owner.Evidence + ")"
}

// witnessDetail is the first witness as JSON, the request a reader can
// replay (vpce-guard simulate); the outcome line has them all.
func witnessDetail(witnesses []policy.Witness) string {
	if len(witnesses) == 0 {
		return ""
	}
	data, err := json.Marshal(witnesses[0])
	if err != nil { // strings and lists of strings always marshal
		return ""
	}
	return string(data)
}

// widensDetail says what a rewrite grants that the old policy did not: its
// first widening, and whether the outcome lists more.
func widensDetail(widens *[]remediate.Widening) string {
	if widens == nil {
		return ""
	}
	switch n := len(*widens); n {
	case 0:
		return "nothing"
	case 1:
		return (*widens)[0].Reason
	default:
		return (*widens)[0].Reason + " (the outcome's widens has the rest)"
	}
}

// resource is the endpoint, with what vpce-guard knows of it.
func resource(o remediate.Outcome, at Place) securityhub.Resource {
	details := map[string]string{}
	for k, v := range map[string]string{
		"serviceName":     o.ServiceName,
		"verdict":         string(o.Verdict),
		"action":          string(o.Action),
		"policyBefore":    o.PolicyBefore,
		"policyAfter":     o.PolicyAfter,
		"eventId":         o.EventID,
		"eventName":       o.EventName,
		"caller":          o.Caller,
		"error":           o.Error,
		"owner":           ownerDetail(o),
		"rewrittenBefore": o.RewrittenBefore,
		"proof":           string(o.Proof),
		"witness":         witnessDetail(o.Witnesses),
		"rewrite":         o.Rewrite,
		"rewriteFallback": o.RewriteFallback,
		"widens":          widensDetail(o.Widens),
	} {
		if v != "" { // ASFF refuses empty values
			details[k] = cut(v, MaxDetailValue)
		}
	}
	r := securityhub.Resource{
		Type:    ResourceType,
		ID:      EndpointARN(at, o.EndpointID),
		Region:  at.Region,
		Details: &securityhub.ResourceDetails{Other: details},
	}
	// ASFF knows three partitions; for the others the ARN says it.
	switch p := securityhub.Partition(at.partition()); p {
	case securityhub.PartitionAws, securityhub.PartitionAwsCn, securityhub.PartitionAwsUsGov:
		r.Partition = p
	}
	return r
}

// cut shortens s to at most n characters, on a character boundary, marking
// the cut: ASFF counts its limits in characters.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	runes := []rune(s)
	return string(runes[:n-1]) + "…"
}
