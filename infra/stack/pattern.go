package stack

import (
	"slices"

	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/policytemplates"
)

// ServiceNameSuffixes are the endpoint service name endings of services,
// such as .logs for com.amazonaws.eu-west-1.logs. A suffix covers every
// region and China's cn.com.amazonaws. form, and keeps the pattern well under
// EventBridge's default limit of 2,048 characters.
func ServiceNameSuffixes(services []string) []string {
	var suffixes []string
	for _, service := range services {
		for _, name := range policytemplates.EndpointNames(service) {
			suffixes = append(suffixes, "."+name)
		}
	}
	slices.Sort(suffixes)
	return suffixes
}

// EventDetail is the "detail" part of the event rule's pattern: successful
// CreateVpcEndpoint calls for a guarded service and successful
// ModifyVpcEndpoint calls, both unless made by selfRoleARN (by anyone when it
// is nil: an organization's hub bus, whose member rules left vpce-guard's own
// calls out already).
//
// Only Create carries the service name; a Modify names the endpoint alone, so
// every Modify is let through and the function skips other services after one
// Describe. The function's own calls are left out by the role ARN that
// CloudTrail records as sessionContext.sessionIssuer.arn. An IAM user or the
// root user has no session issuer, and anything-but never matches a missing
// field, so "not this role" is written as two alternatives: another role, or
// no role at all. EventBridge has one $or per object, hence the four branches.
func EventDetail(services []string, selfRoleARN any) map[string]any {
	calls := []map[string]any{
		{
			"eventName": []any{config.EventCreate},
			"requestParameters": map[string]any{
				"CreateVpcEndpointRequest": map[string]any{
					"ServiceName": suffixes(ServiceNameSuffixes(services)),
				},
			},
		},
		{"eventName": []any{config.EventModify}},
	}
	callers := []map[string]any{{}}
	if selfRoleARN != nil {
		callers = []map[string]any{
			issuerARN(map[string]any{"anything-but": selfRoleARN}),
			issuerARN(map[string]any{"exists": false}),
		}
	}
	var branches []any
	for _, call := range calls {
		for _, caller := range callers {
			branch := map[string]any{}
			for k, v := range call {
				branch[k] = v
			}
			for k, v := range caller {
				branch[k] = v
			}
			branches = append(branches, branch)
		}
	}
	return map[string]any{
		"eventSource": []any{config.CloudTrailSource},
		// A failed call changed nothing; a trail records it with an errorCode.
		"errorCode": []any{map[string]any{"exists": false}},
		"$or":       branches,
	}
}

func issuerARN(matcher map[string]any) map[string]any {
	return map[string]any{
		"userIdentity": map[string]any{
			"sessionContext": map[string]any{
				"sessionIssuer": map[string]any{
					"arn": []any{matcher},
				},
			},
		},
	}
}

func suffixes(suffixes []string) []any {
	out := make([]any, len(suffixes))
	for i, suffix := range suffixes {
		out[i] = map[string]any{"suffix": suffix}
	}
	return out
}
