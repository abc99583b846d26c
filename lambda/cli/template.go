package cli

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/vpce-guard/vpce-guard/lambda/policy"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
	"github.com/vpce-guard/vpce-guard/policytemplates"
)

// templateFlags are the flags check, fix and render share to pick and fill a
// template; check and fix also take a policy file in its place (--template).
type templateFlags struct {
	service, account, region, partition string
	logGroups, accounts                 stringList
	organization                        string
	tagException                        bool
	file                                string // --template
}

// renderingFlags fill a built-in template, so they change nothing beside
// --template; they are accepted there, for the tools that always pass them.
var renderingFlags = []string{"account", "region", "partition", "log-group", "also-account", "organization", "tag-exception"}

func (t *templateFlags) register(flags *flag.FlagSet) {
	flags.StringVar(&t.service, "service", "", serviceUsage())
	flags.StringVar(&t.account, "account", "", "the account ID that owns the endpoint (12 digits)")
	flags.StringVar(&t.region, "region", "", "the endpoint's region, e.g. eu-west-1")
	flags.StringVar(&t.partition, "partition", "", fmt.Sprintf("the ARN partition, one of %s (default: the region's)", orList(policytemplates.Partitions())))
	flags.Var(&t.logGroups, "log-group", "a log-group name pattern to allow (repeatable; default: every log group of the account)")
	flags.Var(&t.accounts, "also-account", "another account whose resources the template allows (repeatable): the accounts form, for shared endpoints")
	flags.StringVar(&t.organization, "organization", "", "an organization ID, o-…: the organization form, its principals on its resources")
	flags.BoolVar(&t.tagException, "tag-exception", false, "with --organization: add AWS's data-perimeter exception for identities tagged dp:exclude:resource=true")
}

// registerFile adds --template, which check and fix take and render does not.
func (t *templateFlags) registerFile(flags *flag.FlagSet) {
	flags.StringVar(&t.file, "template", "", fmt.Sprintf("a policy file to hold the policy to instead of a built-in template (- for standard input); "+
		"--%s fill a built-in one and, beside it, are not used; --service, optional, says which services' actions the endpoint carries (default: every action counts)",
		strings.Join(renderingFlags, ", --")))
}

// serviceUsage lists what --service takes, from the templates themselves.
func serviceUsage() string {
	var endpoints []string
	for _, service := range policytemplates.Services() {
		endpoints = append(endpoints, fmt.Sprintf("%s: %s", service, strings.Join(policytemplates.EndpointNames(service), ", ")))
	}
	return fmt.Sprintf("the template (%s), or the endpoint service name com.amazonaws.REGION.NAME of a service one guards (%s)",
		orList(policytemplates.Names()), strings.Join(endpoints, "; "))
}

// orList writes a, b or c.
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// templateName is the template --service names, by its name or by an
// endpoint service name.
func (t *templateFlags) templateName() (string, error) {
	if t.service == "" {
		return "", fmt.Errorf("--service is required (one of %s)", strings.Join(policytemplates.Names(), ", "))
	}
	if slices.Contains(policytemplates.Names(), t.service) {
		return t.service, nil
	}
	name, _, ok := policytemplates.TemplateFor(t.service, policytemplates.Options{})
	if !ok {
		return "", fmt.Errorf("--service %q: no template for it (templates: %s; or an endpoint service name of %s)",
			t.service, strings.Join(policytemplates.Names(), ", "), orList(policytemplates.Services()))
	}
	return name, nil
}

// render picks the template and renders it.
func (t *templateFlags) render() (name string, rendered []byte, err error) {
	if name, err = t.templateName(); err != nil {
		return "", nil, err
	}
	rendered, err = policytemplates.Render(name, policytemplates.Params{
		Partition: t.partition, Region: t.region, AccountID: t.account, LogGroupPatterns: t.logGroups,
		Accounts: t.accounts, OrganizationID: t.organization, TagException: t.tagException,
	})
	return name, rendered, err
}

// reference is what check and fix hold a policy to: a built-in template,
// rendered as the function renders it, or a policy file given with --template.
type reference struct {
	remediate.Template
	title string // "the logs template", or the file's name
}

// reference reads the template the flags name. policyFile is the policy's
// own file, which cannot share standard input with the template.
func (t *templateFlags) reference(env Env, flags *flag.FlagSet, policyFile string) (reference, error) {
	if t.file == "" {
		name, rendered, err := t.render()
		if err != nil {
			return reference{}, err
		}
		doc, err := policy.Parse(rendered)
		if err != nil { // a bug in a template, not in the user's input
			return reference{}, fmt.Errorf("template %s: %w", name, err)
		}
		carries, err := policytemplates.Carries(name)
		if err != nil { // tested for every template; a bug too
			return reference{}, err
		}
		return reference{remediate.Template{Text: string(rendered), Doc: doc, Carries: carries}, fmt.Sprintf("the %s template", name)}, nil
	}
	var rendering []string
	flags.Visit(func(f *flag.Flag) {
		if slices.Contains(renderingFlags, f.Name) {
			rendering = append(rendering, "--"+f.Name)
		}
	})
	if len(rendering) > 0 {
		fmt.Fprintf(env.Stderr, "vpce-guard %s: note: --template %s is the template as it is; %s, which fill a built-in one, are not used\n",
			flags.Name(), printable(t.file), strings.Join(rendering, ", "))
	}
	if t.file == "-" && policyFile == "-" {
		return reference{}, errors.New("the template and the policy cannot both be standard input")
	}
	var carries []string
	if t.service != "" {
		name, err := t.templateName()
		if err != nil {
			return reference{}, err
		}
		if carries, err = policytemplates.Carries(name); err != nil {
			return reference{}, err
		}
	}
	data, err := readInput(env, t.file)
	if err != nil {
		return reference{}, fmt.Errorf("--template: %w", err)
	}
	doc, err := policy.Parse(data)
	if err != nil {
		return reference{}, fmt.Errorf("--template %s: %w", t.file, err)
	}
	return reference{remediate.Template{Text: string(data), Doc: doc, Carries: carries}, t.file}, nil
}
