package handler

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vpce-guard/vpce-guard/lambda/cloudtrail"
	"github.com/vpce-guard/vpce-guard/lambda/fanout"
	"github.com/vpce-guard/vpce-guard/lambda/findings"
	"github.com/vpce-guard/vpce-guard/lambda/metrics"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
)

// Handler handles the events of one Lambda function. Create it once at cold
// start; it is safe for concurrent use.
type Handler struct {
	remediator *remediate.Remediator
	log        *slog.Logger
	metrics    *metrics.Writer
	clock      remediate.Clock
	sweep      *OrgSweep
	findings   *findings.Publisher
}

// Options are what a Handler works with.
type Options struct {
	Remediator *remediate.Remediator
	Log        *slog.Logger
	// Metrics receives the EMF lines (standard output in Lambda).
	Metrics io.Writer
	// Clock tells the time; nil means the system's. Tests set it.
	Clock remediate.Clock
	// Sweep is set in an organization's hub that sweeps: a scheduled event
	// then hands out one unit per member account and region.
	Sweep *OrgSweep
	// Findings, when set, reports every checked endpoint to Security Hub.
	Findings *findings.Publisher
}

// OrgSweep is where an organization's sweep finds the accounts and puts the
// units.
type OrgSweep struct {
	Organizations fanout.Organizations
	Queue         fanout.Queue
	QueueURL      string
	Targets       fanout.Targets
}

// New returns a Handler that logs to log and writes EMF metrics to metricsOut
// (standard output in Lambda).
func New(r *remediate.Remediator, log *slog.Logger, metricsOut io.Writer) *Handler {
	return NewWith(Options{Remediator: r, Log: log, Metrics: metricsOut})
}

// NewWith returns a Handler for o.
func NewWith(o Options) *Handler {
	clock := o.Clock
	if clock == nil {
		clock = remediate.SystemClock
	}
	return &Handler{
		remediator: o.Remediator,
		log:        o.Log,
		metrics:    metrics.NewWriter(o.Metrics, metrics.Namespace, nil),
		clock:      clock,
		sweep:      o.Sweep,
		findings:   o.Findings,
	}
}

// RemediationError is returned when endpoints could not be handled even after
// the SDK's retries, or were left unchecked to end before the deadline. Lambda
// reports its type name as the errorType.
type RemediationError struct{ Err error }

func (e *RemediationError) Error() string { return "vpce-guard: " + e.Err.Error() }
func (e *RemediationError) Unwrap() error { return e.Err }

// The margin kept before the invocation's deadline: no endpoint is checked and
// no AWS call started once less is left, so that the outcomes, the metrics and
// the response are written before Lambda stops the function. A tenth of the
// invocation's time, and at least a second.
const (
	DeadlineMarginDivisor = 10
	MinDeadlineMargin     = time.Second
)

// Cutoff is when an invocation that started at start and must end by
// deadline stops starting work.
func Cutoff(start, deadline time.Time) time.Time {
	return deadline.Add(-max(MinDeadlineMargin, deadline.Sub(start)/DeadlineMarginDivisor))
}

// FindingsDeadline is when the Security Hub calls of an invocation are given
// up: half-way through the margin after its cutoff, where the last findings
// are imported, which leaves the other half to the summary.
func FindingsDeadline(cutoff, deadline time.Time) time.Time {
	return cutoff.Add(deadline.Sub(cutoff) / 2)
}

// Handle handles an EventBridge event (a CloudTrail API call or a scheduled
// sweep), a CloudTrail record or a CloudTrail log file. Each endpoint's
// outcome is logged, and its metrics written, as soon as the endpoint is
// done; the response sums them up.
//
// The invocation fails with a RemediationError when an endpoint an event
// names could not be handled, so that Lambda retries the event. A sweep fails
// only when it cannot list the endpoints: an endpoint that fails is reported
// (outcome, Errors metric) and tried again by the next sweep, which also
// covers what a sweep stopped at its cutoff did not reach.
func (h *Handler) Handle(ctx context.Context, event json.RawMessage) (*Summary, error) {
	run := remediate.Run{Clock: h.clock}
	if deadline, ok := ctx.Deadline(); ok {
		run.Cutoff = Cutoff(h.clock.Now(), deadline)
	}
	summary := newSummary()
	run.Record = func(o remediate.Outcome) {
		h.logOutcome(ctx, o)
		if err := h.writeMetrics(o); err != nil {
			h.log.LogAttrs(ctx, slog.LevelWarn, "metrics not written", slog.String("error", err.Error()))
		}
		summary.add(o)
	}
	runIn, flush := h.withFindings(ctx, run, summary)

	var errs []error
	if messages, err := fanout.ParseSQSEvent(event); err == nil {
		errs = h.sweepUnits(ctx, messages, runIn, summary)
	} else {
		errs = h.handleCalls(ctx, event, runIn, summary)
	}
	flush()
	h.log.LogAttrs(ctx, slog.LevelInfo, "invocation summary", summary.attrs()...)
	if len(errs) > 0 {
		return summary, &RemediationError{Err: errors.Join(errs...)}
	}
	return summary, nil
}

// handleCalls handles the calls of a CloudTrail event, record or log file,
// or a scheduled sweep.
func (h *Handler) handleCalls(ctx context.Context, event json.RawMessage, runIn func(region string) remediate.Run, summary *Summary) []error {
	calls, err := cloudtrail.Decode(event)
	if err != nil {
		summary.Malformed = true
		summary.Errors++
		h.log.LogAttrs(ctx, slog.LevelError, "malformed event dropped",
			slog.String("error", err.Error()),
			slog.Int("bytes", len(event)),
			slog.Int("callsDecoded", len(calls)),
			slog.String("excerpt", excerpt(event, 512)))
		if err := h.writeMalformed(); err != nil {
			h.log.LogAttrs(ctx, slog.LevelWarn, "metrics not written", slog.String("error", err.Error()))
		}
	}

	var errs []error
	for _, call := range calls {
		for _, w := range call.Warnings {
			h.log.LogAttrs(ctx, slog.LevelWarn, "event warning",
				slog.String("eventId", call.EventID), slog.String("eventName", call.EventName), slog.String("warning", w))
		}
		if call.Sweep && h.sweep != nil {
			if err := h.fanOut(ctx, call, summary); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		res, err := h.remediator.HandleCall(ctx, call, runIn(call.Region))
		h.noteStop(ctx, res, call.EventID, call.Sweep, summary)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// noteStop logs a call the cutoff stopped, and counts it in the summary.
func (h *Handler) noteStop(ctx context.Context, res remediate.Result, eventID string, sweep bool, summary *Summary) {
	summary.Stopped = summary.Stopped || res.Stopped
	summary.Unlisted = summary.Unlisted || res.Unlisted
	if res.Stopped {
		h.log.LogAttrs(ctx, slog.LevelWarn, "stopped before the deadline",
			slog.String("eventId", eventID),
			slog.Bool("sweep", sweep),
			slog.Bool("pagesLeftUnlisted", res.Unlisted),
			slog.Int("outcomesSoFar", summary.Outcomes),
			slog.String("rest", restAfterStop(sweep)))
	}
}

// restAfterStop says who handles what a stopped call did not reach.
func restAfterStop(sweep bool) string {
	if sweep {
		return "the next sweep: it finds the endpoints rewritten now compliant and goes on with the others"
	}
	return "Lambda's retry of this event"
}

// logOutcome writes one line per outcome: hashes at INFO (ERROR when it
// failed), and the policies' full text on a second line at DEBUG.
func (h *Handler) logOutcome(ctx context.Context, o remediate.Outcome) {
	level := slog.LevelInfo
	attrs := []slog.Attr{
		slog.String("endpointId", o.EndpointID),
		slog.String("serviceName", o.ServiceName),
		slog.String("account", o.Account),
		slog.String("region", o.Region),
		slog.String("verdict", string(o.Verdict)),
		slog.String("action", string(o.Action)),
		slog.Any("reasons", o.Reasons),
		slog.String("eventId", o.EventID),
		slog.String("eventName", o.EventName),
		slog.String("caller", o.Caller),
		slog.String("policyBefore", o.PolicyBefore),
		slog.String("policyAfter", o.PolicyAfter),
	}
	if o.OwnCall {
		attrs = append(attrs, slog.Bool("ownCall", true))
	}
	if o.Proof != "" {
		attrs = append(attrs, slog.String("proof", string(o.Proof)))
	}
	if len(o.Witnesses) > 0 {
		attrs = append(attrs, slog.Any("witnesses", o.Witnesses))
	}
	if o.Rewrite != "" {
		attrs = append(attrs, slog.String("rewrite", o.Rewrite))
	}
	if o.RewriteFallback != "" {
		attrs = append(attrs, slog.String("rewriteFallback", o.RewriteFallback))
	}
	if o.Widens != nil {
		attrs = append(attrs, slog.Any("widens", *o.Widens))
	}
	if len(o.Notes) > 0 {
		attrs = append(attrs, slog.Any("notes", o.Notes))
	}
	if o.Owner != nil {
		attrs = append(attrs, slog.Any("owner", o.Owner))
	}
	if o.RewrittenBefore != "" {
		attrs = append(attrs, slog.String("rewrittenBefore", o.RewrittenBefore))
	}
	if o.RecordError != "" {
		level = slog.LevelWarn
		attrs = append(attrs, slog.String("recordError", o.RecordError))
	}
	if o.Error != "" {
		level = slog.LevelError
		attrs = append(attrs, slog.String("error", o.Error))
	}
	h.log.LogAttrs(ctx, level, "outcome", attrs...)

	if o.PolicyBeforeText != "" && h.log.Enabled(ctx, slog.LevelDebug) {
		h.log.LogAttrs(ctx, slog.LevelDebug, "outcome policies",
			slog.String("endpointId", o.EndpointID),
			slog.String("eventId", o.EventID),
			slog.String("policyBeforeText", o.PolicyBeforeText),
			slog.String("policyAfterText", o.PolicyAfterText))
	}
}

// excerpt is the start of a payload, as valid text, for a log line.
func excerpt(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	s := strings.ToValidUTF8(string(b), string(utf8.RuneError))
	if len(b) == n {
		s += "…"
	}
	return s
}
