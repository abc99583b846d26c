// Package cli is the vpce-guard command line: check, fix, render and simulate
// work offline on policy files; replay and audit talk to EC2. Each command
// returns its exit status: 0 for success (compliant, allowed), 1 for a negative
// answer (non-compliant, denied), 2 for bad input or usage.
//
// check holds a policy to a built-in template or to another policy file, and
// proves a non-compliant verdict with requests that simulate replays; fix
// prints the policy the function would write instead, 1 when it prints one.
//
// For replay and audit, 0 means every endpoint ended compliant, rewritten,
// exempt or out of scope; 1 that a dry run left non-compliant endpoints as they
// are; 2 that some input could not be read or an AWS call failed, which wins
// over 1. Their outcomes are JSON Lines on standard output, one per endpoint,
// and problems go to standard error.
package cli
