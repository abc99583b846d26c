package cli

import (
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/vpce-guard/vpce-guard/policytemplates"
)

// templateFlags are the flags check and render share to pick and fill a template.
type templateFlags struct {
	service, account, region, partition string
	logGroups, accounts                 stringList
	organization                        string
	tagException                        bool
}

func (t *templateFlags) register(flags *flag.FlagSet) {
	flags.StringVar(&t.service, "service", "", "the template: logs, logs-strict or events, or an endpoint service name such as com.amazonaws.eu-west-1.logs")
	flags.StringVar(&t.account, "account", "", "the account ID that owns the endpoint (12 digits)")
	flags.StringVar(&t.region, "region", "", "the endpoint's region, e.g. eu-west-1")
	flags.StringVar(&t.partition, "partition", "", "the ARN partition (default: from the region: aws, aws-cn or aws-us-gov)")
	flags.Var(&t.logGroups, "log-group", "a log-group name pattern to allow (repeatable; default: every log group of the account)")
	flags.Var(&t.accounts, "also-account", "another account whose resources the template allows (repeatable): the accounts form, for shared endpoints")
	flags.StringVar(&t.organization, "organization", "", "an organization ID, o-…: the organization form, its principals on its resources")
	flags.BoolVar(&t.tagException, "tag-exception", false, "with --organization: add AWS's data-perimeter exception for identities tagged dp:exclude:resource=true")
}

// render picks the template and renders it.
func (t *templateFlags) render() (name string, rendered []byte, err error) {
	if t.service == "" {
		return "", nil, fmt.Errorf("--service is required (one of %s)", strings.Join(policytemplates.Names(), ", "))
	}
	name = t.service
	if !slices.Contains(policytemplates.Names(), name) {
		var ok bool
		name, _, ok = policytemplates.TemplateFor(t.service, policytemplates.Options{})
		if !ok {
			return "", nil, fmt.Errorf("--service %q: no template for it (templates: %s; or an endpoint service name of Logs or Events)",
				t.service, strings.Join(policytemplates.Names(), ", "))
		}
	}
	rendered, err = policytemplates.Render(name, policytemplates.Params{
		Partition: t.partition, Region: t.region, AccountID: t.account, LogGroupPatterns: t.logGroups,
		Accounts: t.accounts, OrganizationID: t.organization, TagException: t.tagException,
	})
	return name, rendered, err
}
