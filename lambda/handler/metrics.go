package handler

import (
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/vpce-guard/vpce-guard/lambda/metrics"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
)

// The metric names, in namespace metrics.Namespace, with the dimension Service.
const (
	MetricEndpointsChecked = "EndpointsChecked" // endpoints whose policy was checked
	MetricNonCompliant     = "NonCompliant"     // of which broader than the template
	MetricRewritten        = "Rewritten"        // of which rewritten
	MetricExempt           = "Exempt"           // endpoints left alone for their tag
	MetricErrors           = "Errors"           // endpoints that failed, and malformed events
	DimensionService       = "Service"
)

// Service dimension values besides an AWS service's short name.
const (
	serviceNone  = "none"  // no endpoint: a malformed event or a call skipped as a whole
	serviceOther = "other" // a service name that is not com.amazonaws.REGION.NAME
)

type counts struct{ checked, nonCompliant, rewritten, exempt, errors int }

// writeMetrics writes one EMF record per service seen, with all five metrics,
// zeros included, so that alarms see data points rather than gaps.
func (h *Handler) writeMetrics(outcomes []remediate.Outcome, malformed int) error {
	byService := map[string]*counts{}
	get := func(service string) *counts {
		c, ok := byService[service]
		if !ok {
			c = &counts{}
			byService[service] = c
		}
		return c
	}
	if malformed > 0 {
		get(serviceNone).errors += malformed
	}
	for _, o := range outcomes {
		c := get(serviceDimension(o.ServiceName))
		if o.Verdict == remediate.Compliant || o.Verdict == remediate.NonCompliant {
			c.checked++
		}
		if o.Verdict == remediate.NonCompliant {
			c.nonCompliant++
		}
		if o.Action == remediate.Rewritten {
			c.rewritten++
		}
		if o.Verdict == remediate.Exempt {
			c.exempt++
		}
		if o.Error != "" {
			c.errors++
		}
	}
	var errs []error
	for _, service := range slices.Sorted(maps.Keys(byService)) {
		c := byService[service]
		errs = append(errs, h.metrics.Write(
			[]metrics.Dimension{{Name: DimensionService, Value: service}},
			[]metrics.Value{
				{Name: MetricEndpointsChecked, Value: float64(c.checked), Unit: metrics.UnitCount},
				{Name: MetricNonCompliant, Value: float64(c.nonCompliant), Unit: metrics.UnitCount},
				{Name: MetricRewritten, Value: float64(c.rewritten), Unit: metrics.UnitCount},
				{Name: MetricExempt, Value: float64(c.exempt), Unit: metrics.UnitCount},
				{Name: MetricErrors, Value: float64(c.errors), Unit: metrics.UnitCount},
			}))
	}
	return errors.Join(errs...)
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
