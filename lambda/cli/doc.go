// Package cli is the vpce-guard command line: check, render and simulate work
// offline on policy files; replay and audit talk to EC2. Each command returns
// its exit status: 0 for success (compliant, allowed), 1 for a negative answer
// (non-compliant, denied), 2 for bad input or usage.
package cli
