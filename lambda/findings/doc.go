// Package findings reports each checked VPC endpoint to AWS Security Hub as
// an AWS Security Finding Format (ASFF) finding, imported with
// BatchImportFindings under the account's default product ARN.
//
// [FromOutcome] turns an outcome into a finding and does nothing else; a
// [Publisher] batches the findings of one invocation ([Batch]), imports them
// a hundred at a time, and resolves those of rewritten endpoints with
// BatchUpdateFindings, because Security Hub ignores the workflow an import
// gives an existing finding.
//
// Security Hub is a report, not part of the remediation: every failure is
// logged and counted, and none is returned, so that an account without
// Security Hub, a missing permission or throttling never keeps an endpoint
// from being rewritten or an invocation from succeeding.
package findings
