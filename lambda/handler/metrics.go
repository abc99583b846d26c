package handler

import (
	"strings"

	"github.com/vpce-guard/vpce-guard/lambda/metrics"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
)

// Service dimension values besides an AWS service's short name.
const (
	serviceNone  = "none"  // no endpoint: a malformed event or a call skipped as a whole
	serviceOther = "other" // a service name that is not com.amazonaws.REGION.NAME
)

// writeMetrics writes one endpoint's EMF record, as soon as it is done: all
// seven metrics, zeros included, so that alarms see data points rather than
// gaps, and a sweep stopped by Lambda has reported everything it did.
func (h *Handler) writeMetrics(o remediate.Outcome) error {
	checked := o.Verdict == remediate.Compliant || o.Verdict == remediate.NonCompliant
	return h.write(serviceDimension(o.ServiceName), counts{
		checked:      checked,
		nonCompliant: o.Verdict == remediate.NonCompliant,
		rewritten:    o.Action == remediate.Rewritten,
		exempt:       o.Verdict == remediate.Exempt,
		failed:       o.Error != "",
		again:        o.Action == remediate.Rewritten && o.RewrittenBefore != "",
		notRecorded:  o.Action == remediate.Rewritten && o.RecordError != "",
	})
}

// writeMalformed counts a malformed event as an error of no service.
func (h *Handler) writeMalformed() error {
	return h.write(serviceNone, counts{failed: true})
}

type counts struct {
	checked, nonCompliant, rewritten, exempt, failed bool
	again, notRecorded                               bool
}

func (h *Handler) write(service string, c counts) error {
	return h.metrics.Write(
		[]metrics.Dimension{{Name: metrics.DimensionService, Value: service}},
		[]metrics.Value{
			{Name: metrics.EndpointsChecked, Value: one(c.checked), Unit: metrics.UnitCount},
			{Name: metrics.NonCompliant, Value: one(c.nonCompliant), Unit: metrics.UnitCount},
			{Name: metrics.Rewritten, Value: one(c.rewritten), Unit: metrics.UnitCount},
			{Name: metrics.Exempt, Value: one(c.exempt), Unit: metrics.UnitCount},
			{Name: metrics.Errors, Value: one(c.failed), Unit: metrics.UnitCount},
			{Name: metrics.RewrittenAgain, Value: one(c.again), Unit: metrics.UnitCount},
			{Name: metrics.RewritesNotRecorded, Value: one(c.notRecorded), Unit: metrics.UnitCount},
		})
}

func one(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// serviceDimension shortens com.amazonaws.eu-west-1.logs to logs: the function
// runs in one region, and the short name keeps the dimension's values few.
func serviceDimension(serviceName string) string {
	if serviceName == "" {
		return serviceNone
	}
	rest, ok := strings.CutPrefix(serviceName, "com.amazonaws.")
	if !ok {
		rest, ok = strings.CutPrefix(serviceName, "cn.com.amazonaws.")
	}
	if !ok {
		return serviceOther
	}
	_, name, ok := strings.Cut(rest, ".")
	if !ok || name == "" || strings.Contains(name, ".") {
		return serviceOther // e.g. com.amazonaws.vpce.eu-west-1.vpce-svc-0123: one per endpoint service
	}
	return name
}
