package policytemplates

import (
	"fmt"
	"slices"
	"strings"
)

// Services guarded by a template, by the short names Options.Services takes.
const (
	ServiceLogs   = "logs"
	ServiceEvents = "events"
)

// endpointServices maps the last part of an endpoint service name to the
// service it reaches. stream-logs serves StartLiveTail and GetLogObject,
// which act on log groups like the rest of CloudWatch Logs.
var endpointServices = map[string]string{
	"logs":             ServiceLogs,
	"logs-fips":        ServiceLogs,
	"stream-logs":      ServiceLogs,
	"stream-logs-fips": ServiceLogs,
	"events":           ServiceEvents,
	"events-fips":      ServiceEvents,
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
	for endpoint, service := range endpointServices {
		if len(opts.Services) > 0 && !slices.Contains(opts.Services, service) {
			continue
		}
		for _, prefix := range prefixes {
			names = append(names, prefix+region+"."+endpoint)
		}
	}
	slices.Sort(names)
	return names
}

// Options choose which endpoints TemplateFor guards, and with what.
type Options struct {
	// Services to guard, by short name (ServiceLogs, ServiceEvents); empty
	// guards all of them.
	Services []string
	// StrictLogs guards CloudWatch Logs endpoints with logs-strict instead
	// of logs.
	StrictLogs bool
}

// Validate reports a service name in o.Services that TemplateFor does not know,
// which would otherwise leave that service unguarded without a word.
func (o Options) Validate() error {
	for _, s := range o.Services {
		if s != ServiceLogs && s != ServiceEvents {
			return fmt.Errorf("unknown service %q in Options.Services (known: %s, %s)", s, ServiceEvents, ServiceLogs)
		}
	}
	return nil
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
	service, known := endpointServices[endpoint]
	if !known || (len(opts.Services) > 0 && !slices.Contains(opts.Services, service)) {
		return "", "", false
	}
	switch {
	case service == ServiceEvents:
		return Events, region, true
	case opts.StrictLogs:
		return LogsStrict, region, true
	default:
		return Logs, region, true
	}
}
