package policytemplates

import (
	"slices"
	"strings"
)

// Services guarded by a template, by the short names Options.Services takes.
const (
	ServiceLogs   = "logs"
	ServiceEvents = "events"
)

// endpoint is what an endpoint service name's last part says: the service
// it reaches and, when it is not the service's usual one, its template.
type endpoint struct {
	service  string
	template string // "" for the service's usual template
}

// endpointServices maps the last part of an endpoint service name to what it
// reaches. The README's table says where each name comes from.
//   - stream-logs serves StartLiveTail and GetLogObject, which act on log
//     groups like the rest of CloudWatch Logs.
//   - syslog-logs takes syslog messages, which arrive with no identity and
//     are authorized as logs:PutLogEvents on the configured log group: a
//     condition on the principal would deny them all.
//   - eventsv2 serves the Custom Event Bus, whose actions share the events:
//     prefix and act on resources of their own (event-busv2, event-sourcev2,
//     subscriber): the events template has both kinds, so that one policy
//     fits both endpoints.
var endpointServices = map[string]endpoint{
	"logs":             {service: ServiceLogs},
	"logs-fips":        {service: ServiceLogs},
	"stream-logs":      {service: ServiceLogs},
	"stream-logs-fips": {service: ServiceLogs},
	"syslog-logs":      {service: ServiceLogs, template: Syslog},
	"events":           {service: ServiceEvents, template: Events},
	"events-fips":      {service: ServiceEvents, template: Events},
	"eventsv2":         {service: ServiceEvents, template: Events},
	"eventsv2-fips":    {service: ServiceEvents, template: Events},
}

// EndpointNames are the last parts of the endpoint service names of
// service, such as logs-fips, sorted: what an event pattern matches on.
func EndpointNames(service string) []string {
	var names []string
	for name, e := range endpointServices {
		if e.service == service {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// EndpointServiceNames are the full endpoint service names that opts guards
// in region, such as com.amazonaws.eu-west-1.logs, sorted: what a listing of
// the region's endpoints filters on. China's regions also have the
// cn.com.amazonaws. form. None for a name that is not a region.
func EndpointServiceNames(region string, opts Options) []string {
	if !regionPattern.MatchString(region) {
		return nil
	}
	prefixes := []string{"com.amazonaws."}
	if strings.HasPrefix(region, "cn-") {
		prefixes = append(prefixes, "cn.com.amazonaws.")
	}
	var names []string
	for name, e := range endpointServices {
		if len(opts.Services) > 0 && !slices.Contains(opts.Services, e.service) {
			continue
		}
		for _, prefix := range prefixes {
			names = append(names, prefix+region+"."+name)
		}
	}
	slices.Sort(names)
	return names
}

// Options choose which endpoints TemplateFor guards, and with what.
type Options struct {
	// Services to guard, by short name (of Services()); empty guards all
	// of them, and a name not in Services() guards nothing.
	Services []string
	// StrictLogs guards CloudWatch Logs endpoints with logs-strict instead
	// of logs.
	StrictLogs bool
}

// Services are the short names of the services the templates guard, sorted:
// what Options.Services may name.
func Services() []string {
	var services []string
	for _, e := range endpointServices {
		services = append(services, e.service)
	}
	slices.Sort(services)
	return slices.Compact(services)
}

// TemplateFor returns the template guarding the endpoint service serviceName,
// such as com.amazonaws.eu-west-1.logs, and the region in the name. ok is
// false for a service without a template or one that opts leaves out.
// China regions accept both the com.amazonaws. and cn.com.amazonaws. forms.
func TemplateFor(serviceName string, opts Options) (name, region string, ok bool) {
	rest, found := strings.CutPrefix(serviceName, "com.amazonaws.")
	if !found {
		if rest, found = strings.CutPrefix(serviceName, "cn.com.amazonaws."); !found {
			return "", "", false
		}
		if !strings.HasPrefix(rest, "cn-") {
			return "", "", false
		}
	}
	region, endpoint, found := strings.Cut(rest, ".")
	if !found || !regionPattern.MatchString(region) {
		return "", "", false
	}
	e, known := endpointServices[endpoint]
	if !known || (len(opts.Services) > 0 && !slices.Contains(opts.Services, e.service)) {
		return "", "", false
	}
	switch {
	case e.template != "":
		return e.template, region, true
	case opts.StrictLogs:
		return LogsStrict, region, true
	default:
		return Logs, region, true
	}
}
