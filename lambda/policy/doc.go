// Package policy reads IAM policy documents as AWS accepts them for VPC
// endpoints, evaluates requests against them, and checks that a policy grants
// nothing beyond a template.
//
// Parse once, then Check or Evaluate as often as needed. Check is sound: it
// calls a policy compliant only when every request the policy allows is also
// allowed by the template; when it cannot prove that, the verdict is
// non-compliant and every reason names the statement and what escapes.
//
// Statements are numbered from 1 in every message, in the order they appear.
package policy
