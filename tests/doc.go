// Package tests holds the tests that cross packages: templates checked by the
// policy engine, a corpus of policies with expected verdicts, and replayed
// CloudTrail events, faults and sweeps run end to end: the function's real
// binary under the Lambda Runtime Interface Emulator against moto as EC2
// (see the emulator package). testdata/ holds their inputs and golden
// outcomes.
package tests
