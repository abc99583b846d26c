// Package tests holds the tests that cross packages: templates checked by the
// policy engine, a corpus of policies with expected verdicts, and (later)
// replayed CloudTrail events. testdata/ holds their inputs.
package tests
