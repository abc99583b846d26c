package policytemplates_test

import (
	"slices"
	"testing"

	"github.com/vpce-guard/vpce-guard/policytemplates"
)

func TestTemplateFor(t *testing.T) {
	t.Parallel()
	all := policytemplates.Options{}
	strict := policytemplates.Options{StrictLogs: true}
	onlyEvents := policytemplates.Options{Services: []string{policytemplates.ServiceEvents}}
	tests := []struct {
		service    string
		opts       policytemplates.Options
		wantName   string
		wantRegion string
	}{
		{"com.amazonaws.eu-west-1.logs", all, "logs", "eu-west-1"},
		{"com.amazonaws.us-east-1.logs-fips", all, "logs", "us-east-1"},
		{"com.amazonaws.ca-central-1.logs-fips", all, "logs", "ca-central-1"},
		{"com.amazonaws.us-gov-west-1.logs-fips", all, "logs", "us-gov-west-1"},
		{"com.amazonaws.eu-west-1.stream-logs", all, "logs", "eu-west-1"},
		{"com.amazonaws.us-west-2.stream-logs-fips", all, "logs", "us-west-2"},
		{"com.amazonaws.eu-west-1.logs", strict, "logs-strict", "eu-west-1"},
		{"com.amazonaws.us-east-2.logs-fips", strict, "logs-strict", "us-east-2"},
		{"com.amazonaws.eu-west-1.events", all, "events", "eu-west-1"},
		{"com.amazonaws.us-west-1.events-fips", strict, "events", "us-west-1"},
		{"com.amazonaws.eu-west-1.eventsv2", all, "events", "eu-west-1"},
		{"com.amazonaws.us-east-1.eventsv2-fips", onlyEvents, "events", "us-east-1"},
		{"com.amazonaws.eu-west-1.syslog-logs", all, "syslog", "eu-west-1"},
		{"com.amazonaws.eu-west-1.syslog-logs", strict, "syslog", "eu-west-1"},
		{"com.amazonaws.eu-west-1.syslog-logs", onlyEvents, "", ""},
		{"com.amazonaws.eu-west-1.eventsv2", policytemplates.Options{Services: []string{policytemplates.ServiceLogs}}, "", ""},
		{"com.amazonaws.eu-west-1.syslog-logs-fips", all, "", ""},
		{"com.amazonaws.cn-north-1.logs", all, "logs", "cn-north-1"},
		{"cn.com.amazonaws.cn-northwest-1.logs", strict, "logs-strict", "cn-northwest-1"},
		{"cn.com.amazonaws.cn-north-1.events", all, "events", "cn-north-1"},
		{"com.amazonaws.eu-west-1.events", onlyEvents, "events", "eu-west-1"},

		{"com.amazonaws.eu-west-1.logs", onlyEvents, "", ""},
		{"cn.com.amazonaws.eu-west-1.logs", all, "", ""},
		{"com.amazonaws.eu-west-1.s3", all, "", ""},
		{"com.amazonaws.eu-west-1.monitoring", all, "", ""},
		{"com.amazonaws.eu-west-1.logs.extra", all, "", ""},
		{"com.amazonaws.eu-west-1.", all, "", ""},
		{"com.amazonaws.logs", all, "", ""},
		{"com.amazonaws.EU-WEST-1.logs", all, "", ""},
		{"aws.api.eu-west-1.logs", all, "", ""},
		{"com.amazonaws.vpce.eu-west-1.vpce-svc-0123456789abcdef0", all, "", ""},
		{"", all, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			t.Parallel()
			name, region, ok := policytemplates.TemplateFor(tt.service, tt.opts)
			wantOK := tt.wantName != ""
			if name != tt.wantName || region != tt.wantRegion || ok != wantOK {
				t.Errorf("TemplateFor(%q, %+v) = %q, %q, %v; want %q, %q, %v",
					tt.service, tt.opts, name, region, ok, tt.wantName, tt.wantRegion, wantOK)
			}
		})
	}
}

func TestServices(t *testing.T) {
	t.Parallel()
	if got, want := policytemplates.Services(), []string{policytemplates.ServiceEvents, policytemplates.ServiceLogs}; !slices.Equal(got, want) {
		t.Errorf("Services() = %q, want %q", got, want)
	}
}

func TestEndpointNames(t *testing.T) {
	t.Parallel()
	for service, want := range map[string][]string{
		policytemplates.ServiceLogs:   {"logs", "logs-fips", "stream-logs", "stream-logs-fips", "syslog-logs"},
		policytemplates.ServiceEvents: {"events", "events-fips", "eventsv2", "eventsv2-fips"},
		"s3":                          nil,
	} {
		if got := policytemplates.EndpointNames(service); !slices.Equal(got, want) {
			t.Errorf("EndpointNames(%q) = %q, want %q", service, got, want)
		}
		// Every name has a template.
		for _, name := range want {
			if _, _, ok := policytemplates.TemplateFor("com.amazonaws.eu-west-1."+name, policytemplates.Options{}); !ok {
				t.Errorf("%s has no template", name)
			}
		}
	}
}
