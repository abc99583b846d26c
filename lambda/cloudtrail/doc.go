// Package cloudtrail turns the events that can wake vpce-guard into [Call] values: what an
// EC2 API call did, who made it, and which VPC endpoints it touched.
//
// It reads four shapes of JSON, telling them apart by their fields:
//   - an EventBridge event "AWS API Call via CloudTrail" from aws.ec2, the record in its detail;
//   - a CloudTrail record on its own;
//   - a CloudTrail log file as delivered to S3, {"Records": [...]}, plain or gzip
//     (recognised by its magic bytes), read as a stream so memory stays bounded by one record;
//   - an EventBridge "Scheduled Event" from aws.events, which asks for a sweep of every endpoint.
//
// A JSON array of records or events, and several JSON values in a row, are read too, so test
// fixtures and exported event lists need no reshaping.
//
// EC2 logs its calls in an XML-derived form that the decoder has to put up with: request
// keys wrapped and PascalCase, response keys camelCase, a list of one as an object, an empty
// list as "", scalars that change type between records. Only CreateVpcEndpoint and
// ModifyVpcEndpoint calls that succeeded yield endpoint IDs; every other call comes back
// with a [Call.SkipReason] so it can be logged and left alone.
//
// The package makes no AWS calls: an event can be stale, so callers look up the endpoint's
// current state before acting on it.
package cloudtrail
