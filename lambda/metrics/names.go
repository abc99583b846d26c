package metrics

// The metrics vpce-guard writes, in Namespace: the function writes them and
// the deployment's alarms watch them, so their names live here, beside the
// namespace, where both can read them.
//
// One record per endpoint outcome, with the dimension Service (the endpoint
// service's short name):
const (
	EndpointsChecked = "EndpointsChecked" // endpoints whose policy was checked
	NonCompliant     = "NonCompliant"     // of which broader than the template
	Rewritten        = "Rewritten"        // of which rewritten
	Exempt           = "Exempt"           // endpoints left alone for their tag
	Errors           = "Errors"           // endpoints that failed, and malformed events
	// RewrittenAgain counts rewrites of endpoints vpce-guard had rewritten
	// before: something, most often infrastructure as code, keeps putting a
	// broad policy back.
	RewrittenAgain = "RewrittenAgain"
	// RewritesNotRecorded counts rewrites whose record on the endpoint
	// (config.RewrittenTagKey) failed: the next one will not count as again.
	RewritesNotRecorded = "RewritesNotRecorded"

	DimensionService = "Service"
)

// One record per import of findings, with the dimension Target:
const (
	FindingsImported = "FindingsImported" // findings Security Hub took
	FindingsFailed   = "FindingsFailed"   // findings it did not take, or did not resolve

	DimensionTarget   = "Target"
	TargetSecurityHub = "securityhub"
)
