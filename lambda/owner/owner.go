// Package owner tells who manages a VPC endpoint, when its tags or the call
// that changed it say so. A rewrite that undoes a change made by
// infrastructure as code does not last: the next deployment from that source
// puts the broad policy back, and the two fight for ever. The fix belongs at
// the source, and an outcome that names it tells the reader where to go.
//
// The package only reads what it is given; it makes no AWS call.
package owner

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/vpce-guard/vpce-guard/lambda/cloudtrail"
)

// StackNameTag is the tag CloudFormation puts on every resource of a stack
// that takes tags, with the stack's name.
const StackNameTag = "aws:cloudformation:stack-name"

// cloudFormationService is the invokedBy of calls CloudFormation makes for a
// stack, with the caller's or the stack's service role's credentials.
const cloudFormationService = "cloudformation.amazonaws.com"

// Pipeline is the Tool of an owner known only as a deployment pipeline.
const Pipeline = "a deployment pipeline"

// maxNameBytes bounds a name taken from a tag or an ARN, which anyone who can
// tag the endpoint or name a role chooses.
const maxNameBytes = 128

// Owner is what manages an endpoint, and what said so.
type Owner struct {
	Tool     string `json:"tool"`           // CloudFormation, Terraform, Pulumi... or Pipeline
	Name     string `json:"name,omitempty"` // the stack's name, or the role or user that made the call
	Evidence string `json:"evidence"`       // e.g. "tag aws:cloudformation:stack-name"
}

// Reason is the sentence an outcome adds for an endpoint that o manages and
// whose policy is broader than its template.
func (o Owner) Reason() string {
	what := o.Tool
	if o.Name != "" {
		what = fmt.Sprintf("%s %q", o.Tool, o.Name)
	}
	return fmt.Sprintf("the endpoint is managed by %s (%s): fix its policy at that source, or the next deployment from it puts the broad policy back", what, o.Evidence)
}

// tools are the names, as they appear lower-cased in user agents, role and
// session names, of the tools that deploy infrastructure as code.
// OpenTofu comes first: it runs Terraform's AWS provider, which names itself
// in the user agent too.
var tools = []struct{ keyword, tool string }{
	{"opentofu", "OpenTofu"},
	{"tofu", "OpenTofu"},
	{"terraform", "Terraform"},
	{"pulumi", "Pulumi"},
	{"crossplane", "Crossplane"},
	{"ansible", "Ansible"},
	{"atlantis", "Terraform (Atlantis)"},
	{"spacelift", "Spacelift"},
}

// pipelines are words that name a deployment pipeline in a role or user name.
var pipelines = []string{"pipeline", "codebuild", "github", "gitlab", "jenkins", "circleci", "buildkite", "bitbucket", "azuredevops", "deploy", "cicd"}

// Find names the owner of an endpoint from its tags and, when a call changed
// it, from that call's caller (nil for a sweep). The endpoint's own tags come
// first: they hold for every change, while a caller only tells who made this
// one. ok is false when nothing says.
func Find(tags map[string]string, caller *cloudtrail.Caller) (Owner, bool) {
	if stack := tags[StackNameTag]; stack != "" {
		return Owner{Tool: "CloudFormation", Name: bounded(stack), Evidence: "tag " + StackNameTag}, true
	}
	// Sorted, so that two such tags give the same answer every time.
	for _, key := range slices.Sorted(maps.Keys(tags)) {
		if value := tags[key]; isManagedByKey(key) && strings.TrimSpace(value) != "" {
			tool, ok := toolIn(value)
			if !ok {
				tool = bounded(strings.TrimSpace(value))
			}
			return Owner{Tool: tool, Evidence: "tag " + bounded(key)}, true
		}
	}
	if caller == nil {
		return Owner{}, false
	}
	if caller.InvokedBy == cloudFormationService {
		return Owner{Tool: "CloudFormation", Evidence: "the call was made by " + cloudFormationService}, true
	}
	if tool, ok := toolIn(caller.UserAgent); ok {
		return Owner{Tool: tool, Evidence: "the caller's user agent"}, true
	}
	for _, n := range callerNames(*caller) {
		if tool, ok := toolIn(n.name); ok {
			return Owner{Tool: tool, Name: bounded(n.name), Evidence: "the caller's " + n.kind}, true
		}
		if isPipeline(n.name) {
			return Owner{Tool: Pipeline, Name: bounded(n.name), Evidence: "the caller's " + n.kind}, true
		}
	}
	return Owner{}, false
}

// isManagedByKey reports the usual spellings of a "managed by" tag:
// ManagedBy, managed-by, managed_by, Managed By.
func isManagedByKey(key string) bool {
	folded := strings.Map(func(r rune) rune {
		switch r {
		case '-', '_', ' ', ':', '.':
			return -1
		}
		return r
	}, strings.ToLower(key))
	return folded == "managedby"
}

func toolIn(s string) (string, bool) {
	lower := strings.ToLower(s)
	for _, t := range tools {
		if strings.Contains(lower, t.keyword) {
			return t.tool, true
		}
	}
	return "", false
}

func isPipeline(s string) bool {
	lower := strings.NewReplacer("-", "", "_", "").Replace(strings.ToLower(s))
	for _, word := range pipelines {
		if strings.Contains(lower, word) {
			return true
		}
	}
	return false
}

type callerName struct{ kind, name string }

// callerNames are the names a caller's ARNs carry: an assumed role's name and
// session name, or an IAM user's name.
func callerNames(c cloudtrail.Caller) []callerName {
	var names []callerName
	if role := lastPart(c.SessionIssuerARN, ":role/"); role != "" {
		names = append(names, callerName{"role name", role})
	}
	if rest, ok := afterResource(c.ARN, ":assumed-role/"); ok {
		if _, session, ok := strings.Cut(rest, "/"); ok && session != "" {
			names = append(names, callerName{"session name", session})
		}
	}
	if user := lastPart(c.ARN, ":user/"); user != "" {
		names = append(names, callerName{"user name", user})
	}
	return names
}

// lastPart is the last path segment of arn's resource after marker
// (":role/" or ":user/"), which drops the path: "" when arn has no marker.
func lastPart(arn, marker string) string {
	rest, ok := afterResource(arn, marker)
	if !ok {
		return ""
	}
	return rest[strings.LastIndex(rest, "/")+1:]
}

func afterResource(arn, marker string) (string, bool) {
	i := strings.Index(arn, marker)
	if i < 0 {
		return "", false
	}
	return arn[i+len(marker):], true
}

// bounded shortens s to maxNameBytes, on a rune boundary.
func bounded(s string) string {
	if len(s) <= maxNameBytes {
		return s
	}
	cut := maxNameBytes
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
