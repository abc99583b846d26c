package handler

import (
	"cmp"
	"context"
	"log/slog"

	"github.com/vpce-guard/vpce-guard/lambda/findings"
	"github.com/vpce-guard/vpce-guard/lambda/metrics"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
)

// withFindings has the outcomes also become Security Hub findings, when the
// function reports to Security Hub: runIn(region) is run for a call whose
// endpoints are looked up in region (a finding belongs to that region's
// Security Hub, which the outcome does not always name), and flush imports
// what is left; call it once every call is done. The findings' calls end at
// FindingsDeadline, so that a slow Security Hub cannot keep the summary from
// being written.
func (h *Handler) withFindings(ctx context.Context, run remediate.Run, summary *Summary) (runIn func(region string) remediate.Run, flush func()) {
	if h.findings == nil {
		return func(string) remediate.Run { return run }, func() {}
	}
	summary.Findings = &FindingsCount{}
	findingsCtx, cancel := ctx, context.CancelFunc(func() {})
	if deadline, ok := ctx.Deadline(); ok {
		findingsCtx, cancel = context.WithDeadline(ctx, FindingsDeadline(run.Cutoff, deadline))
	}
	batch := h.findings.Start(h.clock.Now, func(c findings.Counts) {
		summary.addFindings(c)
		if err := h.writeFindingsMetrics(c); err != nil {
			h.log.LogAttrs(ctx, slog.LevelWarn, "metrics not written", slog.String("error", err.Error()))
		}
	})
	runIn = func(region string) remediate.Run {
		r := run
		r.Record = func(o remediate.Outcome) {
			run.Record(o)
			batch.Add(findingsCtx, cmp.Or(region, o.Region), o)
		}
		return r
	}
	flush = func() {
		defer cancel()
		batch.Flush(findingsCtx)
	}
	return runIn, flush
}

// writeFindingsMetrics writes the counts of one import.
func (h *Handler) writeFindingsMetrics(c findings.Counts) error {
	return h.metrics.Write(
		[]metrics.Dimension{{Name: metrics.DimensionTarget, Value: metrics.TargetSecurityHub}},
		[]metrics.Value{
			{Name: metrics.FindingsImported, Value: float64(c.Imported), Unit: metrics.UnitCount},
			{Name: metrics.FindingsFailed, Value: float64(c.Failed), Unit: metrics.UnitCount},
		})
}
