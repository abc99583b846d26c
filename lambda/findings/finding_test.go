package findings_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/lambda/findings"
	"github.com/vpce-guard/vpce-guard/lambda/owner"
	"github.com/vpce-guard/vpce-guard/lambda/policy"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
	"github.com/vpce-guard/vpce-guard/lambda/securityhub"
)

const (
	account  = "111122223333"
	region   = "eu-west-1"
	endpoint = "vpce-0123456789abcdef0"
	logs     = "com.amazonaws.eu-west-1.logs"
)

var checkedAt = time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.FixedZone("CET", 3600))

const reason = "statement 1 allows * on *, an action outside the template, which allows logs:* on arn:aws:logs:eu-west-1:111122223333:log-group:*"

// outcome is a noncompliant outcome of the endpoint, rewritten.
func outcome(change func(*remediate.Outcome)) remediate.Outcome {
	o := remediate.Outcome{
		EndpointID: endpoint, ServiceName: logs, Account: account, Region: region,
		Verdict: remediate.NonCompliant, Action: remediate.Rewritten, Reasons: []string{reason},
		EventID: "ct-1", EventName: "CreateVpcEndpoint", Caller: "arn:aws:iam::111122223333:user/alice",
		PolicyBefore: "sha256:before", PolicyAfter: "sha256:after",
	}
	if change != nil {
		change(&o)
	}
	return o
}

func TestFromOutcome(t *testing.T) {
	t.Parallel()
	exfiltration := []string{findings.TypeBestPractices, findings.TypeDataExfiltration}
	bestPractice := []string{findings.TypeBestPractices}
	tests := []struct {
		name        string
		outcome     remediate.Outcome
		none        bool // no finding
		compliance  securityhub.ComplianceStatus
		severity    securityhub.SeverityLabel
		workflow    securityhub.WorkflowStatus
		record      securityhub.RecordState
		resolve     bool
		types       []string
		description []string // parts of it
	}{
		{name: "compliant", outcome: outcome(func(o *remediate.Outcome) {
			o.Verdict, o.Action, o.Reasons = remediate.Compliant, remediate.None, []string{}
		}), compliance: securityhub.ComplianceStatusPassed, severity: securityhub.SeverityLabelInformational,
			workflow: securityhub.WorkflowStatusResolved, record: securityhub.RecordStateActive, types: bestPractice,
			description: []string{"The policy of VPC endpoint " + endpoint + " (" + logs + ") allows nothing beyond"}},
		{name: "rewritten", outcome: outcome(nil), compliance: securityhub.ComplianceStatusPassed, severity: securityhub.SeverityLabelInformational,
			workflow: securityhub.WorkflowStatusResolved, record: securityhub.RecordStateActive, resolve: true, types: bestPractice,
			description: []string{"allowed more than vpce-guard's template and was rewritten to it.", "Why: " + reason + "."}},
		{name: "dry run", outcome: outcome(func(o *remediate.Outcome) { o.Action = remediate.WouldRewrite }),
			compliance: securityhub.ComplianceStatusFailed, severity: securityhub.SeverityLabelHigh, record: securityhub.RecordStateActive, types: exfiltration,
			description: []string{"allows more than vpce-guard's template", "Dry run: not rewritten.", "Why: " + reason}},
		{name: "write refused", outcome: outcome(func(o *remediate.Outcome) {
			o.Action, o.Error = remediate.None, "modify vpc endpoint "+endpoint+": missing permission ec2:ModifyVpcEndpoint"
		}), compliance: securityhub.ComplianceStatusFailed, severity: securityhub.SeverityLabelHigh, record: securityhub.RecordStateActive, types: exfiltration,
			description: []string{"Not rewritten: modify vpc endpoint " + endpoint + ": missing permission ec2:ModifyVpcEndpoint."}},
		{name: "write left for the deadline", outcome: outcome(func(o *remediate.Outcome) {
			o.Action, o.Error = remediate.None, "not rewritten: the invocation's deadline was near"
		}), compliance: securityhub.ComplianceStatusFailed, severity: securityhub.SeverityLabelHigh, record: securityhub.RecordStateActive, types: exfiltration,
			description: []string{"Not rewritten: the invocation's deadline was near."}},
		{name: "with notes", outcome: outcome(func(o *remediate.Outcome) {
			o.Verdict, o.Action, o.Reasons = remediate.Compliant, remediate.None, []string{}
			o.Notes = []string{`statement 1: unknown condition operator "StringFancy", read as possibly true`}
		}), compliance: securityhub.ComplianceStatusPassed, severity: securityhub.SeverityLabelInformational,
			workflow: securityhub.WorkflowStatusResolved, record: securityhub.RecordStateActive, types: bestPractice,
			description: []string{`Notes: statement 1: unknown condition operator "StringFancy"`}},
		{name: "deleted", outcome: outcome(func(o *remediate.Outcome) {
			o.ServiceName, o.Verdict, o.Action, o.Reasons = "", remediate.NotFound, remediate.None, []string{"the endpoint does not exist (any more)"}
		}), severity: securityhub.SeverityLabelInformational, record: securityhub.RecordStateArchived, types: bestPractice,
			description: []string{"VPC endpoint " + endpoint + " no longer exists; vpce-guard archived its finding."}},
		{name: "deleted before the write", outcome: outcome(func(o *remediate.Outcome) {
			o.Verdict, o.Action = remediate.NotFound, remediate.None
			o.Reasons = append(o.Reasons, "the endpoint was deleted before the template could be written")
		}), severity: securityhub.SeverityLabelInformational, record: securityhub.RecordStateArchived, types: bestPractice,
			description: []string{"VPC endpoint " + endpoint + " (" + logs + ") no longer exists"}},
		{name: "exempt", outcome: outcome(func(o *remediate.Outcome) {
			o.Verdict, o.Action, o.Reasons = remediate.Exempt, remediate.None, []string{"tagged vpce-guard:exempt=true"}
		}), none: true},
		{name: "skipped", outcome: outcome(func(o *remediate.Outcome) {
			o.Verdict, o.Action, o.Reasons = remediate.Skipped, remediate.None, []string{"no template guards com.amazonaws.eu-west-1.s3"}
		}), none: true},
		{name: "account unreachable", outcome: outcome(func(o *remediate.Outcome) {
			o.Verdict, o.Action, o.Error = remediate.Skipped, remediate.None, "assume the member role: AccessDenied"
		}), none: true},
		{name: "no endpoint", outcome: outcome(func(o *remediate.Outcome) { o.EndpointID = "" }), none: true},
		{name: "no account", outcome: outcome(func(o *remediate.Outcome) { o.Account = "" }), none: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, ok := findings.FromOutcome(tt.outcome, region, checkedAt)
			if ok == tt.none {
				t.Fatalf("finding made: %v, want %v", ok, !tt.none)
			}
			if tt.none {
				return
			}
			checkRequired(t, f.ASFF)
			a := f.ASFF
			if got := complianceOf(a); got != tt.compliance {
				t.Errorf("compliance %q, want %q", got, tt.compliance)
			}
			if a.Severity.Label != tt.severity || a.FindingProviderFields.Severity.Label != tt.severity {
				t.Errorf("severity %q (provider's %q), want %q", a.Severity.Label, a.FindingProviderFields.Severity.Label, tt.severity)
			}
			if got := workflowOf(a); got != tt.workflow {
				t.Errorf("workflow %q, want %q", got, tt.workflow)
			}
			if a.RecordState != tt.record {
				t.Errorf("record state %q, want %q", a.RecordState, tt.record)
			}
			if f.Resolve != tt.resolve {
				t.Errorf("resolve %v, want %v", f.Resolve, tt.resolve)
			}
			if !slices.Equal(a.Types, tt.types) || !slices.Equal(a.FindingProviderFields.Types, tt.types) {
				t.Errorf("types %q (provider's %q), want %q", a.Types, a.FindingProviderFields.Types, tt.types)
			}
			if (a.Remediation != nil) != (tt.compliance == securityhub.ComplianceStatusFailed) {
				t.Errorf("remediation %+v: want one for a failed finding only", a.Remediation)
			}
			for _, part := range tt.description {
				if !strings.Contains(a.Description, part) {
					t.Errorf("description %q\nlacks %q", a.Description, part)
				}
			}
		})
	}
}

// Every finding of an endpoint has the same Id, whatever the check found,
// and the account's default product ARN.
func TestFindingIdentity(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"Id":           "vpce-guard/eu-west-1/111122223333/" + endpoint + "/endpoint-policy",
		"ProductArn":   "arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default",
		"GeneratorId":  findings.GeneratorID,
		"AwsAccountId": account,
		"Region":       region,
		"CreatedAt":    "2026-01-02T02:04:05.600Z",
		"UpdatedAt":    "2026-01-02T02:04:05.600Z",
		"ProductName":  "vpce-guard",
	}
	for _, o := range []remediate.Outcome{
		outcome(nil),
		outcome(func(o *remediate.Outcome) { o.Action = remediate.WouldRewrite }),
		outcome(func(o *remediate.Outcome) { o.Verdict, o.Action = remediate.Compliant, remediate.None }),
		outcome(func(o *remediate.Outcome) { o.Verdict, o.Action = remediate.NotFound, remediate.None }),
		// An endpoint reaching another region's service: the finding is the
		// endpoint's region's.
		outcome(func(o *remediate.Outcome) { o.ServiceName, o.Region = "com.amazonaws.us-east-1.logs", "us-east-1" }),
	} {
		f, ok := findings.FromOutcome(o, region, checkedAt)
		if !ok {
			t.Fatalf("%s/%s: no finding", o.Verdict, o.Action)
		}
		a := f.ASFF
		got := map[string]string{
			"Id": a.ID, "ProductArn": a.ProductARN, "GeneratorId": a.GeneratorID,
			"AwsAccountId": a.AwsAccountID, "Region": a.Region,
			"CreatedAt": a.CreatedAt, "UpdatedAt": a.UpdatedAt, "ProductName": a.ProductName,
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s/%s: %s = %q, want %q", o.Verdict, o.Action, k, got[k], v)
			}
		}
	}
}

// The endpoint is the resource, as Other with its ARN, in its partition.
func TestFindingResource(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		region, partition, arnPartition string
	}{
		{"eu-west-1", "aws", "aws"},
		{"cn-north-1", "aws-cn", "aws-cn"},
		{"us-gov-west-1", "aws-us-gov", "aws-us-gov"},
		{"eusc-de-east-1", "", "aws-eusc"}, // ASFF has no value for it: the ARN says it
	} {
		t.Run(tt.region, func(t *testing.T) {
			t.Parallel()
			f, ok := findings.FromOutcome(outcome(nil), tt.region, checkedAt)
			if !ok {
				t.Fatal("no finding")
			}
			if len(f.ASFF.Resources) != 1 {
				t.Fatalf("%d resources, want 1", len(f.ASFF.Resources))
			}
			r := f.ASFF.Resources[0]
			wantID := "arn:" + tt.arnPartition + ":ec2:" + tt.region + ":111122223333:vpc-endpoint/" + endpoint
			if r.Type != "Other" || r.ID != wantID || string(r.Partition) != tt.partition || r.Region != tt.region {
				t.Errorf("resource %s %s %q %s; want Other %s %q %s", r.Type, r.ID, r.Partition, r.Region,
					wantID, tt.partition, tt.region)
			}
			wantProduct := "arn:" + tt.arnPartition + ":securityhub:" + tt.region + ":111122223333:product/111122223333/default"
			if got := f.ASFF.ProductARN; got != wantProduct {
				t.Errorf("product ARN %s, want %s", got, wantProduct)
			}
			details := r.Details.Other
			for k, v := range map[string]string{"serviceName": logs, "verdict": "noncompliant", "action": "rewritten",
				"policyBefore": "sha256:before", "policyAfter": "sha256:after", "eventId": "ct-1", "eventName": "CreateVpcEndpoint",
				"caller": "arn:aws:iam::111122223333:user/alice"} {
				if details[k] != v {
					t.Errorf("Details.Other[%s] = %q, want %q", k, details[k], v)
				}
			}
			if _, ok := details["error"]; ok {
				t.Error("an empty error is in Details.Other: ASFF refuses empty values")
			}
		})
	}
}

// Who owns the endpoint, and an earlier rewrite, reach the finding.
func TestFindingNamesTheOwner(t *testing.T) {
	t.Parallel()
	o := outcome(nil)
	o.Owner = &owner.Owner{Tool: "CloudFormation", Name: "network-prod", Evidence: "tag " + owner.StackNameTag}
	o.RewrittenBefore = "2026-11-30T08:00:00Z"
	f, ok := findings.FromOutcome(o, "eu-west-1", checkedAt)
	if !ok {
		t.Fatal("no finding")
	}
	details := f.ASFF.Resources[0].Details.Other
	if details["owner"] != "CloudFormation network-prod (tag aws:cloudformation:stack-name)" || details["rewrittenBefore"] != o.RewrittenBefore {
		t.Errorf("details %v", details)
	}
}

// What ASFF limits is cut to its limit on a character boundary, however
// long and however multi-byte the outcome's text.
func TestFindingLimits(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é€𝄞", 400) // 1,200 characters, 3,600 bytes
	f, ok := findings.FromOutcome(outcome(func(o *remediate.Outcome) {
		o.Action = remediate.WouldRewrite
		o.Reasons = []string{long, long}
		o.Error = long
		o.Caller = long
	}), region, checkedAt)
	if !ok {
		t.Fatal("no finding")
	}
	checkRequired(t, f.ASFF)
	d := f.ASFF.Description
	if n := utf8.RuneCountInString(d); n != findings.MaxDescription || !strings.HasSuffix(d, "…") {
		t.Errorf("description of %d characters ending %q; want %d, cut with …", n, d[len(d)-8:], findings.MaxDescription)
	}
	for k, v := range f.ASFF.Resources[0].Details.Other {
		if n := utf8.RuneCountInString(v); n > findings.MaxDetailValue || !utf8.ValidString(v) {
			t.Errorf("Details.Other[%s]: %d characters, valid UTF-8 %v; want at most %d", k, n, utf8.ValidString(v), findings.MaxDetailValue)
		}
	}
}

// checkRequired holds a finding to ASFF's required fields and their limits.
func checkRequired(t *testing.T, a securityhub.AwsSecurityFinding) {
	t.Helper()
	for name, v := range map[string]string{
		"SchemaVersion": a.SchemaVersion, "Id": a.ID, "ProductArn": a.ProductARN, "GeneratorId": a.GeneratorID,
		"AwsAccountId": a.AwsAccountID, "CreatedAt": a.CreatedAt, "UpdatedAt": a.UpdatedAt, "Title": a.Title, "Description": a.Description,
	} {
		if v == "" {
			t.Errorf("required field %s is empty", name)
		}
	}
	if a.SchemaVersion != "2018-10-08" {
		t.Errorf("SchemaVersion %q", a.SchemaVersion)
	}
	for name, limit := range map[string]struct {
		v string
		n int
	}{"Id": {a.ID, 512}, "GeneratorId": {a.GeneratorID, 512},
		"Title": {a.Title, 256}, "Description": {a.Description, 1024}} {
		if n := utf8.RuneCountInString(limit.v); n > limit.n {
			t.Errorf("%s: %d characters, over %d", name, n, limit.n)
		}
	}
	if a.Severity == nil || a.Severity.Label == "" {
		t.Error("no severity label")
	}
	if len(a.Types) == 0 {
		t.Error("no types")
	}
	if n := len(a.Resources); n < 1 || n > 32 {
		t.Errorf("%d resources, want 1 to 32", n)
	}
	for _, r := range a.Resources {
		if r.Details != nil && len(r.Details.Other) > 50 {
			t.Errorf("%d Details.Other pairs, over 50", len(r.Details.Other))
		}
	}
}

func complianceOf(a securityhub.AwsSecurityFinding) securityhub.ComplianceStatus {
	if a.Compliance == nil {
		return ""
	}
	return a.Compliance.Status
}

func workflowOf(a securityhub.AwsSecurityFinding) securityhub.WorkflowStatus {
	if a.Workflow == nil {
		return ""
	}
	return a.Workflow.Status
}

// The proof reaches the finding: the first witness, as JSON a reader can
// replay, the rewrite and what it widens; a narrow rewrite says it kept the
// owner's statements.
func TestFindingCarriesTheProof(t *testing.T) {
	t.Parallel()
	w := policy.Witness{Principal: "arn:aws:iam::999999999999:role/vpce-guard-witness", Action: "logs:PutLogEvents",
		Resource: "arn:aws:logs:eu-west-1:999999999999:log-group:x:log-stream:y", Context: map[string][]string{}}
	o := outcome(func(o *remediate.Outcome) {
		o.Action = remediate.Rewritten
		o.Proof, o.Witnesses = policy.ProofWitness, []policy.Witness{w}
		o.Rewrite = config.RewriteNarrow
		o.Widens = &[]remediate.Widening{}
	})
	f, ok := findings.FromOutcome(o, region, checkedAt)
	if !ok {
		t.Fatal("no finding")
	}
	details := f.ASFF.Resources[0].Details.Other
	var replayed policy.Witness
	if err := json.Unmarshal([]byte(details["witness"]), &replayed); err != nil || replayed.Resource != w.Resource || replayed.Action != w.Action {
		t.Errorf("witness detail %q (%v), want %+v", details["witness"], err, w)
	}
	if details["proof"] != "witness" || details["rewrite"] != "narrow" || details["widens"] != "nothing" {
		t.Errorf("details %v", details)
	}
	if !strings.Contains(f.ASFF.Description, "within its bounds, keeping the owner's statements") {
		t.Errorf("description %q", f.ASFF.Description)
	}
	o.Widens = &[]remediate.Widening{{Reason: "statement 1 allows logs:*"}, {Reason: "and 7 more"}}
	if f, _ = findings.FromOutcome(o, region, checkedAt); f.ASFF.Resources[0].Details.Other["widens"] != "statement 1 allows logs:* (the outcome's widens has the rest)" {
		t.Errorf("widens detail %q", f.ASFF.Resources[0].Details.Other["widens"])
	}
}
