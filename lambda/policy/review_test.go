package policy_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vpce-guard/vpce-guard/lambda/policy"
	"github.com/vpce-guard/vpce-guard/policytemplates"
)

// reviewCase is one finding of an adversarial review of the engine: a
// policy, a template (a rendered one by name, or JSON), and what Check,
// Evaluate or the witnesses must do that they did not.
type reviewCase struct {
	name     string
	policy   string
	template string // a template name (rendered for reviewParams), or JSON
	// notCompliant: Check must not call the policy compliant; escapes, when
	// set, is a request AWS lets through the policy and not the template,
	// which Evaluate must read so.
	notCompliant bool
	escapes      *policy.Request
	// denied: a request the policy does not allow as AWS reads it.
	denied *policy.Request
	// witnesses: every witness must be a counterexample (Evaluate) and a
	// request AWS can make: a Logs ARN with a region, an account and a
	// name in each of its parts.
	witnesses bool
	// noWitness: nothing the policy allows escapes as AWS reads it, so no
	// witness may claim a request does.
	noWitness bool
	// bounded: the policy needs more work than the check's budget, which
	// it must say it ran out of (its documented bound) instead of doing it.
	bounded bool
}

var reviewParams = policytemplates.Params{Region: "eu-west-1", AccountID: "111122223333", LogGroupPatterns: []string{"app-*"}}

const reviewOrg = "o-a1b2c3d4e5"

var reviewCases = []reviewCase{
	{
		// soundness, a request that names no resource: logs:ListAnomalies
		// requires no resource type (its detector is an optional filter),
		// so a call without one is authorized on "*", which the policy's
		// Allow on * grants and its Deny on arn:* does not take back; the
		// template allows only log groups. Read as reaching only its
		// detectors' ARNs, the action looked taken back by the Deny.
		name: "soundness/no-resource-named",
		policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:ListAnomalies","Resource":"*"},
			{"Effect":"Deny","Principal":"*","Action":"*","Resource":"arn:*"}]}`,
		template:     policytemplates.Logs,
		notCompliant: true,
		escapes:      &policy.Request{Principal: "arn:aws:iam::111122223333:user/alice", Action: "logs:ListAnomalies", Resource: "*"},
		witnesses:    true,
	},
	{
		// soundness, policy variables in conditions: AWS replaces
		// ${aws:username} in a string condition with the caller's name
		// (IAM, condition operators: string operators, "Policy variables -
		// Supported"), so the Allow holds for alice's requests whose tag
		// owner is alice, and the Deny (values starting with '$') never
		// applies to them. Read as text, the Allow's value starts with '$'
		// and the Deny seems to take the whole Allow back: Check called a
		// policy that allows every Logs request compliant. iam-simulate:
		// the request below is Allowed by the policy, ImplicitlyDenied by
		// the template.
		name: "soundness/variable-in-condition",
		policy: `{"Version":"2012-10-17","Statement":[
		  {"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/owner":"${aws:username}"}}},
		  {"Effect":"Deny","Principal":"*","Action":"*","Resource":"*","Condition":{"StringLike":{"aws:PrincipalTag/owner":"$*"}}}]}`,
		template:     policytemplates.Logs,
		notCompliant: true,
		escapes: &policy.Request{Principal: "arn:aws:iam::111122223333:user/alice", Action: "logs:PutLogEvents",
			Resource: "arn:aws:logs:us-east-1:999999999999:log-group:evil:log-stream:s",
			Context:  map[string][]string{"aws:PrincipalTag/owner": {"alice"}, "aws:username": {"alice"}}},
	},
	{
		// witness, policy variables in conditions: the policy requires
		// aws:PrincipalOrgID to be the value of aws:ResourceOrgID, which it
		// pins to the organization, so it is within the organization
		// template. Read as text, a context whose aws:PrincipalOrgID is the
		// literal "${aws:ResourceOrgID}" was a witness (Proof witness);
		// iam-simulate: ImplicitlyDenied by the policy, no counterexample.
		name: "witness/variable-in-condition",
		policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:*",
		  "Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:app-*",
		  "Condition":{"StringEquals":{"aws:PrincipalOrgID":"${aws:ResourceOrgID}","aws:ResourceOrgID":"` + reviewOrg + `"}}}]}`,
		template:  "org:" + policytemplates.Logs,
		witnesses: true,
		denied: &policy.Request{Principal: "arn:aws:iam::111122223333:role/app", Action: "logs:PutLogEvents",
			Resource: "arn:aws:logs:eu-west-1:111122223333:log-group:app-x:log-stream:s",
			Context:  map[string][]string{"aws:PrincipalOrgID": {"${aws:ResourceOrgID}"}, "aws:ResourceOrgID": {reviewOrg}}},
	},
	{
		// witness, ARN parts left empty: the verdict is right (a '*' ending
		// an ARN part matches past colons, so the policy reaches log
		// streams of a log group named destination in any account), but
		// the witness named arn:aws:logs:::log-group:destination:log-stream: ,
		// a log stream without a name in no region of no account, which AWS
		// never authorizes (log stream names have at least one character);
		// iam-simulate refuses it (no.resource.types).
		name:      "witness/empty-arn-parts",
		policy:    `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:PutLogEvents","Resource":"arn:aws:logs:*:*:destination:*"}]}`,
		template:  policytemplates.LogsStrict,
		witnesses: true,
	},
	{
		// witness and completeness, a name AWS never gives: no log group
		// ARN matches arn:aws:logs:*:*:destination:* unless its name holds
		// a colon, which log group names never do ([.\-_/#A-Za-z0-9]+), so
		// the policy lets no CreateExportTask through. Check calls it
		// non-compliant, a condition-free verdict it holds complete, with
		// the witness arn:aws:logs:::log-group:destination: (no region, no
		// account, a name ending in a colon); iam-simulate refuses it
		// (no.resource.types). Calling it compliant would assume that AWS
		// never authorizes a name it does not give; the check stays
		// non-compliant, which is sound, and shows no request: unproven.
		name:         "witness/no-request-aws-makes",
		policy:       `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:CreateExportTask","Resource":"arn:aws:logs:*:*:destination:*"}]}`,
		template:     policytemplates.LogsStrict,
		notCompliant: true,
		noWitness:    true,
	},
	{
		// witness, an action without resource types: the Service
		// Authorization Reference lists none for logs:PutIntegration; for
		// such an action a policy must specify all resources ("*"), and a
		// statement naming a resource that is not valid for the action
		// does not apply to it (Service Authorization Reference, the
		// actions table), so this one never grants it.
		// Check reads the action as authorized on any resource, which keeps
		// it sound, but then offers PutIntegration on that destination ARN
		// as a witness (Proof witness); iam-simulate refuses the request
		// (must.use.wildcard).
		name:      "witness/action-without-resource-types",
		policy:    `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:PutIntegration","Resource":"arn:aws:logs:eu-west-1:111122223333:destination:x"}]}`,
		template:  policytemplates.LogsStrict,
		noWitness: true,
	},
	{
		// witness, a name left empty: app-* holds log streams, but the
		// witness named one without a name (log-group:app-:log-stream:);
		// iam-simulate refuses it (no.resource.types).
		name: "witness/empty-log-stream-name",
		policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:*",
		  "Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:app-*","Condition":{"StringEquals":{"aws:ResourceOrgID":"` + reviewOrg + `"}}}]}`,
		template:  "org:" + policytemplates.Logs,
		witnesses: true,
	},
	{
		// cost, StringLike containment: whether the Allow's 28 values (330
		// characters each) fall within the Deny's 29 patterns is decided
		// pattern by pattern, with no bound: about 2 s for this policy of
		// 19,468 characters (BenchmarkReviewCost), a hundred times the
		// budget's 16 ms, and the work grows with the square of the policy.
		name:     "cost/like-implication",
		policy:   likeImplicationPolicy(28, 330),
		template: policytemplates.LogsStrict,
		bounded:  true,
	},
	{
		// cost, the witness's context: valuesFor tries thousands of
		// candidate values, each against every pattern of every clause,
		// compiled anew each time: 0.8 s and 208 MB for this policy of
		// 20,339 characters, outside the budget.
		name:     "cost/witness-context",
		policy:   witnessContextPolicy(1000),
		template: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:app-*","Condition":{"StringEquals":{"aws:PrincipalTag/t":"x"}}}]}`,
		bounded:  true,
	},
}

// likeImplicationPolicy allows logs:* on app-* for n tag values, each a
// run of length digits, and takes back the template's Denies for n
// patterns that hold none of them and one, a*, that holds them all: within
// logs-strict.
func likeImplicationPolicy(n, length int) string {
	var values, patterns []string
	for i := range n {
		values = append(values, fmt.Sprintf("a%0*d", length, i))
		patterns = append(patterns, fmt.Sprintf("*?%0*db", length, i))
	}
	patterns = append(patterns, "a*")
	denied := []string{"logs:PutAccountPolicy", "logs:PutDestination", "logs:PutSubscriptionFilter", "logs:AssociateSourceToS3TableIntegration",
		"logs:CreateExportTask", "logs:CreateScheduledQuery", "logs:IntegrateWithS3Table", "logs:PutIntegration", "logs:UpdateScheduledQuery",
		"logs:CreateDelivery", "logs:PutDeliveryDestination", "logs:PutDeliverySource", "logs:UpdateDeliveryConfiguration", "logs:AssociateKmsKey"}
	return reviewJSON(
		map[string]any{"Effect": "Allow", "Principal": "*", "Action": "logs:*", "Resource": "arn:aws:logs:eu-west-1:111122223333:log-group:app-*",
			"Condition": map[string]any{"StringLike": map[string]any{"aws:PrincipalTag/t": values}}},
		map[string]any{"Effect": "Deny", "Principal": "*", "Action": denied, "Resource": "*",
			"Condition": map[string]any{"StringLike": map[string]any{"aws:PrincipalTag/t": patterns}}})
}

// witnessContextPolicy allows PutLogEvents for n tag patterns and denies
// it for all but the last: what escapes has the last pattern's tag.
func witnessContextPolicy(n int) string {
	var patterns []string
	for i := range n {
		patterns = append(patterns, fmt.Sprintf("*a%04d*", i))
	}
	return reviewJSON(
		map[string]any{"Effect": "Allow", "Principal": "*", "Action": "logs:PutLogEvents", "Resource": "arn:aws:logs:eu-west-1:111122223333:log-group:app-*",
			"Condition": map[string]any{"StringLike": map[string]any{"aws:PrincipalTag/t": patterns}}},
		map[string]any{"Effect": "Deny", "Principal": "*", "Action": "logs:PutLogEvents", "Resource": "*",
			"Condition": map[string]any{"StringLike": map[string]any{"aws:PrincipalTag/t": patterns[:n-1]}}})
}

func reviewJSON(statements ...any) string {
	b, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": statements})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// reviewTemplate renders a template by name ("org:" first for its
// organization form), or parses JSON; with the services it carries.
func reviewTemplate(t testing.TB, spec string) (*policy.Document, []string) {
	t.Helper()
	if strings.HasPrefix(spec, "{") {
		return mustParse(t, spec), []string{"logs"}
	}
	p := reviewParams
	if name, ok := strings.CutPrefix(spec, "org:"); ok {
		spec, p.OrganizationID = name, reviewOrg
	}
	text, err := policytemplates.Render(spec, p)
	if err != nil {
		t.Fatal(err)
	}
	carries, err := policytemplates.Carries(spec)
	if err != nil {
		t.Fatal(err)
	}
	return mustParse(t, string(text)), carries
}

// plausibleResource reports whether a Logs ARN names what AWS can
// authorize: a partition, region and account, and a name in each part of
// its resource (log-group:NAME or log-group:NAME:log-stream:NAME,
// destination:NAME, ...). Other ARNs are taken as they are.
func plausibleResource(arn string) bool {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "logs" {
		return true
	}
	if parts[1] == "" || parts[3] == "" || parts[4] == "" {
		return false
	}
	resource := strings.Split(parts[5], ":")
	if len(resource)%2 != 0 || slices.Contains(resource, "") {
		return false
	}
	return len(resource) == 2 || len(resource) == 4 && resource[0] == "log-group" && resource[2] == "log-stream"
}

func TestReview(t *testing.T) {
	for _, c := range reviewCases {
		t.Run(c.name, func(t *testing.T) {
			p := mustParse(t, c.policy)
			tmpl, carries := reviewTemplate(t, c.template)
			v := policy.Check(p, tmpl, policy.Subset, carries...)
			if c.notCompliant && v.Compliant {
				t.Errorf("Check calls the policy compliant; it lets through what the template does not")
			}
			if r := c.escapes; r != nil {
				allowed, err1 := p.Evaluate(*r)
				inTemplate, err2 := tmpl.Evaluate(*r)
				if err1 != nil || err2 != nil || !allowed.Allowed || inTemplate.Allowed {
					t.Errorf("Evaluate: policy %v %v, template %v %v for %+v: want allowed by the policy only", allowed, err1, inTemplate, err2, *r)
				}
			}
			if r := c.denied; r != nil {
				if d, err := p.Evaluate(*r); err != nil || d.Allowed {
					t.Errorf("Evaluate: policy %v %v for %+v: want denied", d, err, *r)
				}
			}
			if c.witnesses {
				for _, w := range v.Witnesses {
					allowed, err1 := p.Evaluate(w.Request())
					inTemplate, err2 := tmpl.Evaluate(w.Request())
					if err1 != nil || err2 != nil || !allowed.Allowed || inTemplate.Allowed {
						t.Errorf("witness %+v: policy %v %v, template %v %v: not a counterexample", w, allowed, err1, inTemplate, err2)
					}
					if !plausibleResource(w.Resource) {
						t.Errorf("witness %+v: %q is no resource AWS authorizes %s on", w, w.Resource, w.Action)
					}
				}
			}
			if c.noWitness && len(v.Witnesses) > 0 {
				t.Errorf("witnesses %+v: nothing escapes as AWS reads the policy", v.Witnesses)
			}
			if c.bounded && !budgetSpent(v) {
				t.Errorf("the check did all the work this policy takes, beyond its budget (compliant %v, notes %q)", v.Compliant, v.Notes)
			}
		})
	}
}

// BenchmarkReviewCost measures Check on the review's costly policies.
func BenchmarkReviewCost(b *testing.B) {
	for _, c := range reviewCases {
		if !c.bounded {
			continue
		}
		b.Run(c.name, func(b *testing.B) {
			p := benchParse(b, c.policy)
			tmpl, carries := reviewTemplate(b, c.template)
			b.ReportAllocs()
			for b.Loop() {
				policy.Check(p, tmpl, policy.Subset, carries...)
			}
		})
	}
}
