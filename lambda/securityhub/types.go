package securityhub

// The shapes below carry the API model's member names as their JSON names
// (REST-JSON sends them unchanged); a zero value is left out, as the SDK
// leaves out a nil member. Only the members vpce-guard sends or reads are
// here.

// BatchImportFindingsInput is the body of BatchImportFindings.
type BatchImportFindingsInput struct {
	// Findings: 1 to 100.
	Findings []AwsSecurityFinding `json:"Findings"`
}

// BatchImportFindingsOutput is its answer.
type BatchImportFindingsOutput struct {
	FailedCount    int                   `json:"FailedCount"`
	SuccessCount   int                   `json:"SuccessCount"`
	FailedFindings []ImportFindingsError `json:"FailedFindings,omitempty"`
}

// ImportFindingsError is a finding BatchImportFindings did not take.
type ImportFindingsError struct {
	ID           string `json:"Id"`
	ErrorCode    string `json:"ErrorCode"`
	ErrorMessage string `json:"ErrorMessage"`
}

// BatchUpdateFindingsInput is the body of BatchUpdateFindings, with the two
// fields vpce-guard changes.
type BatchUpdateFindingsInput struct {
	FindingIdentifiers []AwsSecurityFindingIdentifier `json:"FindingIdentifiers"`
	Workflow           *WorkflowUpdate                `json:"Workflow,omitempty"`
	Note               *NoteUpdate                    `json:"Note,omitempty"`
}

// BatchUpdateFindingsOutput is its answer.
type BatchUpdateFindingsOutput struct {
	ProcessedFindings   []AwsSecurityFindingIdentifier          `json:"ProcessedFindings"`
	UnprocessedFindings []BatchUpdateFindingsUnprocessedFinding `json:"UnprocessedFindings"`
}

// BatchUpdateFindingsUnprocessedFinding is a finding BatchUpdateFindings
// did not update.
type BatchUpdateFindingsUnprocessedFinding struct {
	FindingIdentifier *AwsSecurityFindingIdentifier `json:"FindingIdentifier,omitempty"`
	ErrorCode         string                        `json:"ErrorCode"`
	ErrorMessage      string                        `json:"ErrorMessage"`
}

// AwsSecurityFindingIdentifier names a finding.
type AwsSecurityFindingIdentifier struct {
	ID         string `json:"Id"`
	ProductARN string `json:"ProductArn"`
}

// WorkflowUpdate is the workflow BatchUpdateFindings sets.
type WorkflowUpdate struct {
	Status WorkflowStatus `json:"Status,omitempty"`
}

// NoteUpdate is the note BatchUpdateFindings sets; both fields are required.
type NoteUpdate struct {
	Text      string `json:"Text"`
	UpdatedBy string `json:"UpdatedBy"`
}

// AwsSecurityFinding is an ASFF finding. Required by the model:
// SchemaVersion, Id, ProductArn, GeneratorId, AwsAccountId, CreatedAt,
// UpdatedAt, Title, Description and Resources.
type AwsSecurityFinding struct {
	SchemaVersion         string                 `json:"SchemaVersion,omitempty"`
	ID                    string                 `json:"Id,omitempty"`
	ProductARN            string                 `json:"ProductArn,omitempty"`
	ProductName           string                 `json:"ProductName,omitempty"`
	GeneratorID           string                 `json:"GeneratorId,omitempty"`
	AwsAccountID          string                 `json:"AwsAccountId,omitempty"`
	Region                string                 `json:"Region,omitempty"`
	Types                 []string               `json:"Types,omitempty"`
	CreatedAt             string                 `json:"CreatedAt,omitempty"`
	UpdatedAt             string                 `json:"UpdatedAt,omitempty"`
	Severity              *Severity              `json:"Severity,omitempty"`
	FindingProviderFields *FindingProviderFields `json:"FindingProviderFields,omitempty"`
	Title                 string                 `json:"Title,omitempty"`
	Description           string                 `json:"Description,omitempty"`
	Resources             []Resource             `json:"Resources,omitempty"`
	RecordState           RecordState            `json:"RecordState,omitempty"`
	Compliance            *Compliance            `json:"Compliance,omitempty"`
	Workflow              *Workflow              `json:"Workflow,omitempty"`
	Remediation           *Remediation           `json:"Remediation,omitempty"`
	// Note is set by BatchUpdateFindings, not by an import; it is here for
	// what reads findings back.
	Note *Note `json:"Note,omitempty"`
}

// Severity is a finding's severity.
type Severity struct {
	Label SeverityLabel `json:"Label,omitempty"`
}

// FindingProviderFields are the provider's own values, which Security Hub
// keeps apart from what a person changes.
type FindingProviderFields struct {
	Severity *FindingProviderSeverity `json:"Severity,omitempty"`
	Types    []string                 `json:"Types,omitempty"`
}

// FindingProviderSeverity is the provider's severity.
type FindingProviderSeverity struct {
	Label SeverityLabel `json:"Label,omitempty"`
}

// Resource is a resource a finding is about; Type and Id are required.
type Resource struct {
	Type      string           `json:"Type,omitempty"`
	ID        string           `json:"Id,omitempty"`
	Partition Partition        `json:"Partition,omitempty"`
	Region    string           `json:"Region,omitempty"`
	Details   *ResourceDetails `json:"Details,omitempty"`
}

// ResourceDetails holds Other, the details of a resource of type Other:
// at most 50 pairs, no value empty.
type ResourceDetails struct {
	Other map[string]string `json:"Other,omitempty"`
}

// Compliance is a finding's compliance.
type Compliance struct {
	Status ComplianceStatus `json:"Status,omitempty"`
}

// Workflow is a finding's workflow.
type Workflow struct {
	Status WorkflowStatus `json:"Status,omitempty"`
}

// Remediation says how to remediate.
type Remediation struct {
	Recommendation *Recommendation `json:"Recommendation,omitempty"`
}

// Recommendation is a remediation's text.
type Recommendation struct {
	Text string `json:"Text,omitempty"`
}

// Note is a note on a finding.
type Note struct {
	Text      string `json:"Text,omitempty"`
	UpdatedBy string `json:"UpdatedBy,omitempty"`
	UpdatedAt string `json:"UpdatedAt,omitempty"`
}

// The model's enums, with the values vpce-guard uses.
type (
	ComplianceStatus string
	SeverityLabel    string
	WorkflowStatus   string
	RecordState      string
	// Partition is ASFF's partition of a resource: the model knows aws,
	// aws-cn, aws-us-gov, aws-us-iso, aws-us-iso-b and AzureCloud.
	Partition string
)

const (
	ComplianceStatusPassed ComplianceStatus = "PASSED"
	ComplianceStatusFailed ComplianceStatus = "FAILED"

	SeverityLabelInformational SeverityLabel = "INFORMATIONAL"
	SeverityLabelLow           SeverityLabel = "LOW"
	SeverityLabelHigh          SeverityLabel = "HIGH"

	WorkflowStatusNew      WorkflowStatus = "NEW"
	WorkflowStatusResolved WorkflowStatus = "RESOLVED"

	RecordStateActive   RecordState = "ACTIVE"
	RecordStateArchived RecordState = "ARCHIVED"

	PartitionAws      Partition = "aws"
	PartitionAwsCn    Partition = "aws-cn"
	PartitionAwsUsGov Partition = "aws-us-gov"
)
