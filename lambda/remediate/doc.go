// Package remediate is vpce-guard's use case: given a decoded CloudTrail call or a
// sweep request, look up each VPC endpoint's current state, check its policy
// against the template for its service, account and region, and put the template
// back when the policy grants more.
//
// The endpoint's current state is the truth, not the event: an event can be minutes
// old or replayed a year later. So every endpoint is described exactly once per
// event, and written at most once. A compliant policy is never written, which is
// what keeps vpce-guard from reacting to its own writes in a loop: the
// ModifyVpcEndpoint event of its own rewrite finds the template, which is
// compliant, and ends there.
//
// Every endpoint gets an [Outcome], also when it is skipped or fails, so that one
// bad endpoint never hides the others. Errors from AWS that survived the SDK's
// retries are also returned, joined, once every endpoint of the call was handled,
// so that the caller can fail the invocation and let Lambda retry it.
//
// The package knows EC2 only through the small [EC2] interface, and neither logs
// nor emits metrics: the caller reports the outcomes.
package remediate
