package cloudtrail

import "errors"

// ErrMalformed is wrapped by every error about input that cannot be read: invalid or
// truncated JSON or gzip, a value of the wrong JSON type, an object of no known shape.
var ErrMalformed = errors.New("cloudtrail: malformed input")

// Call is one decoded record or event.
//
// A Call asks for work in exactly one of two ways: Sweep is set, or EndpointIDs is not
// empty. Otherwise SkipReason says why it must cause no AWS call.
type Call struct {
	EventID     string // CloudTrail eventID; the EventBridge id for a scheduled event
	EventName   string // e.g. CreateVpcEndpoint
	EventSource string // e.g. ec2.amazonaws.com; aws.events for a scheduled event
	EventTime   string // as logged (RFC 3339)

	// Account and Region come from the record (recipientAccountId, awsRegion) and fall
	// back to the EventBridge envelope's; they are empty when neither has them.
	Account string
	Region  string

	Caller Caller

	ErrorCode    string // set when the call failed, e.g. Client.UnauthorizedOperation
	ErrorMessage string

	// EndpointIDs are the valid, distinct endpoint IDs the call created or modified,
	// sorted. IDs that fail validation are left out and reported in Warnings.
	EndpointIDs []string

	// What the request asked for, worth a log line: a new policy document, or
	// ModifyVpcEndpoint's ResetPolicy, which puts back the default full-access policy.
	SetsPolicy   bool
	ResetsPolicy bool

	Sweep      bool   // a scheduled event: check every endpoint
	SkipReason string // why this call needs no action; empty when it does

	// Warnings says what decoding dropped, such as an invalid endpoint ID, with the
	// reason; worth logging even when the call goes ahead with its other IDs.
	Warnings []string
}

// Caller is the identity that made the call (CloudTrail's userIdentity).
type Caller struct {
	Type        string // IAMUser, AssumedRole, AWSService, Root...
	ARN         string // for an assumed role, the STS session ARN, which drops the role's path
	AccountID   string
	PrincipalID string

	// SessionIssuerARN is the role behind an assumed-role session, path included, which
	// is what tells vpce-guard's own calls apart from everyone else's.
	SessionIssuerARN string

	InvokedBy string // the AWS service that called on the principal's behalf, if any

	// UserAgent is the client the call came from, as CloudTrail logged it:
	// an SDK, the console, or a tool such as Terraform that names itself.
	UserAgent string
}
