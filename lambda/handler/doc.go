// Package handler is the Lambda function's entry point: it decodes the event,
// hands each call to the remediation, and reports the outcomes as one JSON log
// line each, as CloudWatch metrics and, when asked, as Security Hub findings.
//
// A malformed event is logged at ERROR and dropped, because retrying it cannot
// help. An AWS error that survived the SDK's retries fails the invocation, after
// every other endpoint was handled, so that Lambda's asynchronous retries and the
// on-failure destination take over.
package handler
