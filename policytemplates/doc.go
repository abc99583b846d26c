// Package policytemplates holds the VPC endpoint policies that vpce-guard puts
// back on an endpoint, and renders them for one account and region.
//
// A template is an IAM policy in JSON, embedded from templates/NAME.json, whose
// string values may hold these placeholders:
//
//	{{partition}}  the ARN partition: aws, aws-cn, aws-us-gov, ...
//	{{region}}     the endpoint's region, e.g. eu-west-1
//	{{account}}    the endpoint's 12-digit account ID
//	{{logGroup}}   one log-group name pattern; only inside a list element,
//	               which is repeated for each resource the patterns need
//
// Two members are markers that rendering leaves out: "{{carries}}", a member
// of the document, lists the service prefixes of the actions its endpoints
// carry (Carries); "{{ifTagException}}", a member of a statement, keeps the
// statement only with Params.TagException.
//
// The ${...} form is avoided on purpose: IAM reads it as a policy variable.
//
// Rendering parses the template first and substitutes inside string values
// only, so no parameter can change the structure of the policy; the values are
// validated as well (see Params). The output is indented JSON with the members
// in template order, the same bytes for the same input, and never longer than
// the 20,480 characters an endpoint policy may have.
//
// TemplateFor maps an endpoint's service name (com.amazonaws.eu-west-1.logs)
// to the template that guards it.
package policytemplates
