package config

// What wakes the function: CloudTrail's record of an EC2 API call, as
// EventBridge delivers it, and the sweep's schedule. The deployment's rules
// match these and the function's decoder reads them, so both take them from
// here.
const (
	EventSource      = "aws.ec2"                     // EventBridge source of EC2's CloudTrail records
	EventDetailType  = "AWS API Call via CloudTrail" // their detail-type
	CloudTrailSource = "ec2.amazonaws.com"           // the record's eventSource
	EventCreate      = "CreateVpcEndpoint"
	EventModify      = "ModifyVpcEndpoint"

	ScheduleSource     = "aws.events"      // EventBridge source of a scheduled event
	ScheduleDetailType = "Scheduled Event" // its detail-type
)
