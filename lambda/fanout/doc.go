// Package fanout is the organization's sweep: it lists the member accounts
// (AWS Organizations, the configured organizational units and the OUs nested
// in them, or a configured list of accounts) and hands one unit of work per
// account and region to an SQS queue, whose event source mapping feeds the
// function one unit at a time. A unit sweeps one account and region; one
// that cannot finish before its deadline queues its own continuation.
//
// The fan-out is AWS's: SQS holds the units, retries a failed one and moves
// it to the failure queue after a few tries, alone; Lambda's event source
// mapping bounds how many run at once.
package fanout
