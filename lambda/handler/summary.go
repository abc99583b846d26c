package handler

import (
	"log/slog"
	"unicode/utf8"

	"github.com/vpce-guard/vpce-guard/lambda/findings"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
)

// MaxFailuresListed is how many failed endpoints a Summary names; the
// outcomes in the log name them all.
const MaxFailuresListed = 20

// maxErrorBytes shortens each listed error, so that a Summary stays small
// whatever the errors say.
const maxErrorBytes = 512

// Summary is the function's response: what the invocation came to, counted,
// rather than every outcome (those are logged one line each, and a sweep's
// would outgrow Lambda's 6 MB response limit).
type Summary struct {
	Outcomes int                       `json:"outcomes"`
	Verdicts map[remediate.Verdict]int `json:"verdicts"`
	Actions  map[remediate.Action]int  `json:"actions"`
	// Errors counts the endpoints that failed, and a malformed event.
	Errors int `json:"errors"`
	// Failed names the first MaxFailuresListed endpoints that failed.
	Failed []Failure `json:"failed"`
	// FailedNotListed counts the failed endpoints Failed leaves out.
	FailedNotListed int `json:"failedNotListed,omitempty"`
	// Malformed is set when the event could not be read (and was dropped).
	Malformed bool `json:"malformed,omitempty"`
	// Stopped is set when the invocation stopped before its deadline with
	// endpoints left unchecked or unwritten; Unlisted when a sweep also
	// left pages of endpoints unlisted.
	Stopped  bool `json:"stoppedBeforeDeadline,omitempty"`
	Unlisted bool `json:"pagesLeftUnlisted,omitempty"`
	// Units counts the sweep units queued: by an organization's sweep, or a
	// unit's continuation.
	Units int `json:"unitsQueued,omitempty"`
	// Findings counts the Security Hub findings, when the function reports
	// to Security Hub.
	Findings *FindingsCount `json:"findings,omitempty"`
}

// FindingsCount is what the findings of an invocation came to.
type FindingsCount struct {
	Imported int `json:"imported"`
	Failed   int `json:"failed"`
}

// Failure is an endpoint that failed, and why.
type Failure struct {
	EndpointID string `json:"endpointId"`
	Error      string `json:"error"`
}

func newSummary() *Summary {
	return &Summary{Verdicts: map[remediate.Verdict]int{}, Actions: map[remediate.Action]int{}, Failed: []Failure{}}
}

func (s *Summary) add(o remediate.Outcome) {
	s.Outcomes++
	s.Verdicts[o.Verdict]++
	s.Actions[o.Action]++
	if o.Error == "" {
		return
	}
	s.Errors++
	if len(s.Failed) == MaxFailuresListed {
		s.FailedNotListed++
		return
	}
	s.Failed = append(s.Failed, Failure{EndpointID: o.EndpointID, Error: shorten(o.Error, maxErrorBytes)})
}

func (s *Summary) addFindings(c findings.Counts) {
	if s.Findings == nil {
		s.Findings = &FindingsCount{}
	}
	s.Findings.Imported += c.Imported
	s.Findings.Failed += c.Failed
}

func (s *Summary) attrs() []slog.Attr {
	attrs := []slog.Attr{
		slog.Int("outcomes", s.Outcomes),
		slog.Any("verdicts", s.Verdicts),
		slog.Any("actions", s.Actions),
		slog.Int("errors", s.Errors),
		slog.Any("failed", s.Failed),
		slog.Int("failedNotListed", s.FailedNotListed),
		slog.Bool("malformed", s.Malformed),
		slog.Bool("stoppedBeforeDeadline", s.Stopped),
		slog.Bool("pagesLeftUnlisted", s.Unlisted),
		slog.Int("unitsQueued", s.Units),
	}
	if s.Findings != nil {
		attrs = append(attrs, slog.Int("findingsImported", s.Findings.Imported), slog.Int("findingsFailed", s.Findings.Failed))
	}
	return attrs
}

// shorten cuts s to at most n bytes, on a character boundary, marking the cut.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
