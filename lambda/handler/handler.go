package handler

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/vpce-guard/vpce-guard/lambda/cloudtrail"
	"github.com/vpce-guard/vpce-guard/lambda/metrics"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
)

// Handler handles the events of one Lambda function. Create it once at cold
// start; it is safe for concurrent use.
type Handler struct {
	remediator *remediate.Remediator
	log        *slog.Logger
	metrics    *metrics.Writer
}

// New returns a Handler that logs to log and writes EMF metrics to metricsOut
// (standard output in Lambda).
func New(r *remediate.Remediator, log *slog.Logger, metricsOut io.Writer) *Handler {
	return &Handler{
		remediator: r,
		log:        log,
		metrics:    metrics.NewWriter(metricsOut, metrics.Namespace, nil),
	}
}

// RemediationError is returned when endpoints could not be handled even after
// the SDK's retries. Lambda reports its type name as the errorType.
type RemediationError struct{ Err error }

func (e *RemediationError) Error() string { return "vpce-guard: " + e.Err.Error() }
func (e *RemediationError) Unwrap() error { return e.Err }

// Handle handles an EventBridge event (a CloudTrail API call or a scheduled
// sweep), a CloudTrail record or a CloudTrail log file, and returns one outcome
// per endpoint.
func (h *Handler) Handle(ctx context.Context, event json.RawMessage) ([]remediate.Outcome, error) {
	calls, err := cloudtrail.Decode(event)
	malformed := 0
	if err != nil {
		malformed = 1
		h.log.LogAttrs(ctx, slog.LevelError, "malformed event dropped",
			slog.String("error", err.Error()),
			slog.Int("bytes", len(event)),
			slog.Int("callsDecoded", len(calls)),
			slog.String("excerpt", excerpt(event, 512)))
	}

	outcomes := []remediate.Outcome{} // the response is [] rather than null
	var errs []error
	for _, call := range calls {
		for _, w := range call.Warnings {
			h.log.LogAttrs(ctx, slog.LevelWarn, "event warning",
				slog.String("eventId", call.EventID), slog.String("eventName", call.EventName), slog.String("warning", w))
		}
		out, err := h.remediator.HandleCall(ctx, call)
		outcomes = append(outcomes, out...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, o := range outcomes {
		h.logOutcome(ctx, o)
	}
	if err := h.writeMetrics(outcomes, malformed); err != nil {
		h.log.LogAttrs(ctx, slog.LevelWarn, "metrics not written", slog.String("error", err.Error()))
	}
	if len(errs) > 0 {
		return outcomes, &RemediationError{Err: errors.Join(errs...)}
	}
	return outcomes, nil
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
	if len(o.Notes) > 0 {
		attrs = append(attrs, slog.Any("notes", o.Notes))
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
