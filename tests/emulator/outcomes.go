package emulator

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/vpce-guard/vpce-guard/lambda/remediate"
)

// LoggedOutcomes decodes the outcome lines of a function's log, in the
// function's JSON log format ("message") or slog's ("msg").
func LoggedOutcomes(t testing.TB, log string) []remediate.Outcome {
	t.Helper()
	outcomes, err := ParseOutcomes(log)
	if err != nil {
		t.Fatal(err)
	}
	return outcomes
}

// ParseOutcomes is LoggedOutcomes for another goroutine than the test's.
func ParseOutcomes(log string) ([]remediate.Outcome, error) {
	var outcomes []remediate.Outcome
	for line := range strings.SplitSeq(log, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue // the RIE's own lines
		}
		var o struct {
			Message string `json:"message"`
			Msg     string `json:"msg"`
			remediate.Outcome
		}
		if err := json.Unmarshal([]byte(line), &o); err != nil {
			return nil, fmt.Errorf("a log line that is not JSON: %q: %v", line, err)
		}
		if cmp.Or(o.Message, o.Msg) == "outcome" {
			outcomes = append(outcomes, o.Outcome)
		}
	}
	return outcomes, nil
}
