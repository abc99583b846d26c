package policy_test

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/vpce-guard/vpce-guard/lambda/policy"
)

var (
	soundnessPairs = flag.Int("soundness.pairs", 100_000, "how many (compliant policy, request) pairs TestCheckSoundness evaluates")
	soundnessSeed  = flag.Uint64("soundness.seed", 20251129, "seed of TestCheckSoundness")
)

// TestCheckSoundness generates policies and requests from small vocabularies,
// so that they collide often, and asserts what Check promises: when it calls a
// policy compliant with a template, no request is allowed by the policy and
// denied by the template. Evaluate is the oracle.
//
//	go test ./lambda/policy -run CheckSoundness -soundness.pairs=10000000 -soundness.seed=7
func TestCheckSoundness(t *testing.T) {
	t.Parallel()
	seed := *soundnessSeed
	t.Logf("seed %d (rerun with -soundness.seed=%d)", seed, seed)
	g := &policyGenerator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}

	templates := parseSoundnessTemplates(t)

	type tally struct{ policies, compliant int }
	byKind := map[string]*tally{}
	byTemplate := map[string]*tally{}
	var policies, compliant, unparsable, pairs, compliantPairs, skipped, impossible, witnessed, failures, unsoundPolicies int
	var promises obligations
	// Each compliant policy brings 64 pairs; the cap only stops a generator
	// that has stopped producing compliant policies from looping forever.
	maxPolicies := *soundnessPairs/4 + 1000
	for compliantPairs < *soundnessPairs && policies < maxPolicies {
		ti := g.weighted(soundnessTemplateWeights)
		tmpl, tdoc := soundnessTemplates[ti], templates[ti]
		kind, spec := g.policy(tmpl.spec)
		raw := spec.json()
		doc, err := policy.Parse(raw)
		if err != nil {
			unparsable++ // e.g. a mutation that set both Action and NotAction; rare
			continue
		}
		policies++
		verdict := policy.Check(doc, tdoc, policy.Subset)
		if verdict.Compliant != (len(verdict.Reasons) == 0) {
			t.Fatalf("verdict %+v: Compliant must mean no reasons", verdict)
		}
		for _, by := range []struct {
			m    map[string]*tally
			name string
		}{{byKind, kind}, {byTemplate, tmpl.name}} {
			m, name := by.m, by.name
			if m[name] == nil {
				m[name] = &tally{}
			}
			m[name].policies++
			if verdict.Compliant {
				m[name].compliant++
			}
		}
		// A compliant verdict is what is being tested; the few requests on
		// the others only measure how often a non-compliant verdict is real.
		requests := 8
		if verdict.Compliant {
			compliant++
			requests = 64
		}
		found, unsound := false, false
		var asked []policy.Request
		for range requests {
			req := g.request(spec, tmpl.spec)
			asked = append(asked, req)
			if !policy.Possible(req) {
				impossible++ // AWS never authorizes the action on such a resource
				continue
			}
			allowed, err1 := doc.Evaluate(req)
			inTemplate, err2 := tdoc.Evaluate(req)
			if err1 != nil || err2 != nil {
				for _, err := range []error{err1, err2} {
					if err != nil && !errors.Is(err, policy.ErrUnsupportedOperator) {
						t.Fatalf("Evaluate: %v", err)
					}
				}
				skipped++ // an operator Evaluate does not know decides nothing
				continue
			}
			pairs++
			if verdict.Compliant {
				compliantPairs++
			}
			if !allowed.Allowed || inTemplate.Allowed {
				continue
			}
			found = true
			if !verdict.Compliant {
				continue
			}
			failures++
			if unsound {
				continue // one request per policy is enough to show it
			}
			unsound = true
			if unsoundPolicies++; unsoundPolicies <= 5 {
				ctx, _ := json.Marshal(req.Context)
				t.Errorf("UNSOUND: Check calls the policy compliant with template %q, but the policy allows a request the template denies\n"+
					"policy:   %s\nrequest:  principal=%q action=%q resource=%q context=%s\npolicy:   %v\ntemplate: %v",
					tmpl.name, raw, req.Principal, req.Action, req.Resource, ctx, allowed, inTemplate)
			}
		}
		if found && !verdict.Compliant {
			witnessed++
		}
		if !verdict.Compliant {
			promises.checkNonCompliant(t, doc, tdoc, verdict, asked, "policy:   "+string(raw)+"\ntemplate: "+string(tmpl.json))
		}
	}

	t.Logf("%d policies (%d more did not parse), %d compliant (%.1f%%); %d (policy, request) pairs, %d of them on compliant policies; %d requests skipped for an unsupported operator, %d for an action on a resource type it is never authorized on",
		policies, unparsable, compliant, percent(compliant, policies), pairs, compliantPairs, skipped, impossible)
	t.Logf("%d of %d non-compliant verdicts (%.1f%%) were confirmed by a generated request; %d (%.1f%%) carry a witness of their own, every one a counterexample; %d lack one where the check must find it",
		witnessed, policies-compliant, percent(witnessed, policies-compliant), promises.proven, percent(promises.proven, policies-compliant), promises.incomplete)
	t.Logf("narrow rewrites: %d, each within the template and the old policy; %d templates not expressible as bounds on the policy", promises.narrowed, promises.notNarrowable)
	for _, m := range []map[string]*tally{byKind, byTemplate} {
		names := make([]string, 0, len(m))
		for name := range m {
			names = append(names, name)
		}
		sort.Strings(names)
		var parts []string
		for _, name := range names {
			parts = append(parts, fmt.Sprintf("%s %d/%d", name, m[name].compliant, m[name].policies))
		}
		t.Logf("compliant: %s", strings.Join(parts, ", "))
	}
	if failures > 0 {
		t.Errorf("%d unsound (policy, request) pairs in all, from %d policies", failures, unsoundPolicies)
	}
	if compliantPairs < *soundnessPairs {
		t.Errorf("only %d pairs on compliant policies after %d policies, want %d", compliantPairs, policies, *soundnessPairs)
	}
	// A property test where nothing is compliant proves nothing.
	if share := percent(compliant, policies); share < 20 {
		t.Errorf("only %.1f%% of the policies are compliant; the generator must produce at least 20%%", share)
	}
}

func parseSoundnessTemplates(t *testing.T) []*policy.Document {
	templates := make([]*policy.Document, len(soundnessTemplates))
	for i, tt := range soundnessTemplates {
		doc, err := policy.Parse(tt.json)
		if err != nil {
			t.Fatalf("template %s: %v", tt.name, err)
		}
		templates[i] = doc
	}
	return templates
}

func percent(a, b int) float64 { return 100 * float64(a) / float64(max(b, 1)) }

// Templates, as specs so that the generator can narrow them.

type soundnessTemplate struct {
	name string
	spec policySpec
	json []byte
}

const (
	accountOwn      = "111122223333"
	accountForeign  = "444455556666"
	ownLogGroupsARN = "arn:aws:logs:eu-west-1:111122223333:log-group:*"
)

func templateAllow(resources ...string) stmtSpec {
	return stmtSpec{Effect: "Allow", PrincipalKey: "Principal", Principal: "*", ActionKey: "Action", Actions: []string{"logs:*"}, ResourceKey: "Resource", Resources: resources}
}

func templateDeny(actions ...string) stmtSpec {
	return stmtSpec{Effect: "Deny", PrincipalKey: "Principal", Principal: "*", ActionKey: "Action", Actions: actions, ResourceKey: "Resource", Resources: []string{"*"}}
}

var soundnessTemplates = func() []soundnessTemplate {
	withCondition := templateAllow(ownLogGroupsARN)
	withCondition.Conditions = conditionSet{{"StringEquals", "aws:PrincipalAccount", []string{accountOwn}}}
	namedPrincipal := templateAllow(ownLogGroupsARN)
	namedPrincipal.Principal = map[string]any{"AWS": accountOwn}
	ownAccountDeny := stmtSpec{Effect: "Deny", PrincipalKey: "Principal", Principal: "*", ActionKey: "Action", Actions: []string{"logs:*"},
		ResourceKey: "NotResource", Resources: []string{"arn:aws:logs:*:${aws:PrincipalAccount}:*"}}
	list := []soundnessTemplate{
		{name: "default", spec: policySpec{Version: policy.Version2012, Statements: []stmtSpec{templateAllow(ownLogGroupsARN)}}},
		{name: "patterns", spec: policySpec{Version: policy.Version2012, Statements: []stmtSpec{templateAllow(
			"arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/*",
			"arn:aws:logs:eu-west-1:111122223333:log-group:app-*",
			"arn:aws:logs:eu-west-1:111122223333:log-group:logs-test-allowed",
			"arn:aws:logs:eu-west-1:111122223333:log-group:logs-test-allowed:*")}}},
		{name: "strict", spec: policySpec{Version: policy.Version2012, Statements: []stmtSpec{templateAllow(ownLogGroupsARN),
			templateDeny("logs:PutAccountPolicy", "logs:PutDestination", "logs:PutSubscriptionFilter"),
			templateDeny("logs:CreateExportTask", "logs:PutIntegration"),
			templateDeny("logs:AssociateKmsKey")}}},
		{name: "mid-part", spec: policySpec{Version: policy.Version2012, Statements: []stmtSpec{templateAllow("arn:aws:logs:eu-west-1:111122223333:log-group:app-*-prod")}}},
		{name: "condition", spec: policySpec{Version: policy.Version2012, Statements: []stmtSpec{withCondition}}},
		{name: "named-principal", spec: policySpec{Version: policy.Version2012, Statements: []stmtSpec{namedPrincipal}}},
		// Less usual shapes, to reach the corners of Check: a Deny of
		// everything outside the caller's own account, and a template whose
		// ${...} is plain text because it has no Version.
		{name: "own-account-deny", spec: policySpec{Version: policy.Version2012, Statements: []stmtSpec{templateAllow(ownLogGroupsARN), ownAccountDeny}}},
		{name: "no-version", spec: policySpec{Statements: []stmtSpec{templateAllow(
			"arn:aws:logs:eu-west-1:111122223333:log-group:app-*",
			"arn:aws:logs:eu-west-1:111122223333:log-group:${aws:username}")}}},
	}
	for i := range list {
		list[i].json = list[i].spec.json()
	}
	return list
}()

var soundnessTemplateWeights = []int{5, 3, 4, 2, 2, 2, 1, 1}

// policySpec is a policy as the generator builds it, before it becomes JSON.
type policySpec struct {
	Version    string
	Statements []stmtSpec
}

type stmtSpec struct {
	Effect       string
	PrincipalKey string // "Principal", "NotPrincipal" or "" for none
	Principal    any
	ActionKey    string // "Action" or "NotAction"
	Actions      []string
	ResourceKey  string // "Resource" or "NotResource"
	Resources    []string
	Conditions   conditionSet
}

type conditionSpec struct {
	Operator, Key string
	Values        []string
}

type conditionSet []conditionSpec

func (p policySpec) json() []byte {
	doc := map[string]any{}
	if p.Version != "" {
		doc["Version"] = p.Version
	}
	statements := []any{}
	for _, st := range p.Statements {
		m := map[string]any{"Effect": st.Effect, st.ActionKey: st.Actions, st.ResourceKey: st.Resources}
		if st.PrincipalKey != "" {
			m[st.PrincipalKey] = st.Principal
		}
		if len(st.Conditions) > 0 {
			block := map[string]map[string][]string{}
			for _, c := range st.Conditions {
				if block[c.Operator] == nil {
					block[c.Operator] = map[string][]string{}
				}
				block[c.Operator][c.Key] = c.Values
			}
			m["Condition"] = block
		}
		statements = append(statements, m)
	}
	doc["Statement"] = statements
	out, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return out
}

func (p policySpec) clone() policySpec {
	out := policySpec{Version: p.Version}
	for _, st := range p.Statements {
		st.Actions = append([]string(nil), st.Actions...)
		st.Resources = append([]string(nil), st.Resources...)
		st.Conditions = append(conditionSet(nil), st.Conditions...)
		out.Statements = append(out.Statements, st)
	}
	return out
}

// add appends a condition unless the operator already names the key in some
// case, which Parse rejects.
func (cs conditionSet) add(c conditionSpec) conditionSet {
	for _, have := range cs {
		if have.Operator == c.Operator && strings.EqualFold(have.Key, c.Key) {
			return cs
		}
	}
	return append(cs, c)
}

// Vocabularies.

var (
	vocabPrincipals = []struct {
		key   string
		value any
	}{
		{"Principal", "*"},
		{"Principal", map[string]any{"AWS": "*"}},
		{"Principal", map[string]any{"AWS": accountOwn}},
		{"Principal", map[string]any{"AWS": accountForeign}},
		{"Principal", map[string]any{"AWS": "arn:aws:iam::111122223333:root"}},
		{"Principal", map[string]any{"AWS": "arn:aws:iam::111122223333:role/app"}},
		{"Principal", map[string]any{"AWS": "arn:aws:iam::444455556666:role/app"}},
		{"Principal", map[string]any{"AWS": []string{accountOwn, "arn:aws:iam::444455556666:user/mallory"}}},
		{"Principal", map[string]any{"Service": "logs.amazonaws.com"}},
		{"NotPrincipal", map[string]any{"AWS": accountForeign}},
		{"NotPrincipal", map[string]any{"AWS": "arn:aws:iam::111122223333:role/app"}},
		{"", nil},
		// Account principals IAM does not document as a whole account.
		{"Principal", map[string]any{"AWS": "arn:aws-cn:iam::111122223333:root"}},
		{"Principal", map[string]any{"AWS": "arn:aws:iam:eu-west-1:111122223333:root"}},
		{"Principal", map[string]any{"AWS": "arn:bogus:iam::111122223333:root"}},
		{"Principal", map[string]any{"AWS": "arn:aws:iam::444455556666:root"}},
	}
	vocabActions = []string{
		"*", "logs:*", "logs:Put*", "LOGS:PutLogEvents", "logs:PutLogEvents", "logs:CreateExportTask", "ec2:*",
		"logs:?utLogEvents", "logs:Create*", "logs:CreateLogStream", "logs:PutSubscriptionFilter", "logs:*Export*",
		"logs:Describe*", "*:*", "logs:putlogevents", "logs:AssociateKmsKey",
	}
	// Narrower actions, for narrowed copies of a template that allows logs:*.
	vocabLogsActions = []string{
		"logs:PutLogEvents", "logs:CreateLogStream", "logs:Put*", "LOGS:PutLogEvents", "logs:?utLogEvents",
		"logs:Create*", "logs:Describe*", "logs:*", "logs:CreateExportTask", "logs:PutSubscriptionFilter",
	}
	vocabResources = []string{
		"*",
		ownLogGroupsARN,
		"arn:aws:logs:eu-west-1:111122223333:log-group:app-*",
		"arn:aws:logs:eu-west-1:111122223333:log-group:app-*-prod",
		"arn:aws:logs:eu-west-1:111122223333:log-group:app-*:*",
		"arn:aws:logs:eu-west-1:111122223333:log-group:logs-test-allowed",
		"arn:aws:logs:eu-west-1:111122223333:log-group:logs-test-allowed:*",
		"arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/*",
		"arn:aws:logs:eu-west-1:111122223333:log-group:*-prod",
		"arn:aws:logs:eu-west-1:111122223333:*",
		"arn:aws:logs:*:111122223333:log-group:*",
		"arn:aws:logs:eu-west-?:111122223333:log-group:*",
		"arn:aws:logs:eu-west-1:44445555666?:log-group:*",
		"arn:aws:logs:eu-west-1:444455556666:log-group:*",
		"arn:aws:logs:eu-west-1:*:log-group:*",
		"arn:aws:logs:*:*:*",
		"arn:aws:logs:eu-west-1:${aws:PrincipalAccount}:log-group:*",
		"arn:aws:logs:*:${aws:PrincipalAccount}:*",
		"arn:aws:logs:eu-west-1:111122223333:log-group:${aws:username}",
		"arn:aws:logs:eu-west-1:111122223333:log-group:${*}",
		"arn:aws:logs:eu-west-1:111122223333:destination:*",
		"arn:aws:*:eu-west-1:111122223333:*",
		"arn:aws:s3:::*",
		// ? is one character, and the narrow reading keeps it off colons.
		"arn:aws:logs:eu-west-1:111122223333:log-group:app-??",
		"arn:aws:logs:eu-west-1:111122223333:log-group:app-?:*",
		"arn:aws:logs:eu-west-1:111122223333:log-group:é?",
		"arn:aws:logs:eu-west-1:111122223333:log-group:app-é*",
		"arn:aws:logs:eu-west-1:111122223333:log-group:app-??:log-stream:*",
	}
	vocabConditions = []conditionSpec{
		{"StringEquals", "aws:PrincipalAccount", []string{accountOwn}},
		{"StringEquals", "aws:PrincipalAccount", []string{accountOwn, accountForeign}},
		{"StringEquals", "aws:principalaccount", []string{accountForeign}},
		{"stringequals", "aws:PrincipalAccount", []string{accountOwn}},
		{"StringNotEquals", "aws:PrincipalAccount", []string{accountForeign}},
		{"StringNotEquals", "aws:PrincipalAccount", []string{accountOwn}},
		{"StringEqualsIfExists", "aws:SourceVpc", []string{"vpc-111"}},
		{"StringNotEqualsIfExists", "aws:SourceVpc", []string{"vpc-222"}},
		{"StringLike", "aws:SourceVpc", []string{"vpc-*"}},
		{"StringLike", "AWS:SourceVpc", []string{"vpc-1?1"}},
		{"Bool", "aws:SecureTransport", []string{"true"}},
		{"Bool", "aws:SecureTransport", []string{"false"}},
		{"Null", "aws:SourceVpc", []string{"false"}},
		{"Null", "aws:SourceVpc", []string{"true"}},
		{"ForAnyValue:StringEquals", "aws:TagKeys", []string{"team"}},
		{"ForAllValues:StringEquals", "aws:TagKeys", []string{"team", "env"}},
		{"ForAnyValue:StringNotEquals", "aws:PrincipalAccount", []string{accountOwn}},
		{"StringEqualsIgnoreCase", "aws:username", []string{"APP-X"}},
		{"StringSoundsLike", "aws:SourceVpc", []string{"vpc-111"}}, // unknown to Evaluate
		// Keys in mixed case, and keys that fold to ASCII only under Unicode rules.
		{"StringEquals", "AWS:SourceVPC", []string{"vpc-111"}},
		{"StringEquals", "aws:ſourceVpc", []string{"vpc-111"}},
		{"ForAnyValue:StringEquals", "aws:Tag\u212aeys", []string{"team"}},
		{"stringEquals", "aws:SourceVpc", []string{"vpc-111"}},
	}
	vocabCallers = []string{
		accountOwn, accountForeign,
		"arn:aws:iam::111122223333:root",
		"arn:aws:iam::111122223333:role/app",
		"arn:aws:sts::111122223333:assumed-role/app/session",
		"arn:aws:iam::111122223333:user/alice",
		"arn:aws:sts::444455556666:assumed-role/app/session",
		"arn:aws:iam::444455556666:user/mallory",
		"logs.amazonaws.com",
		"",
		"arn:aws-cn:iam::111122223333:role/app",
	}
	vocabRequestActions = []string{
		"logs:PutLogEvents", "logs:CreateLogStream", "logs:CreateExportTask", "logs:PutSubscriptionFilter",
		"logs:PutDestination", "logs:AssociateKmsKey", "logs:DescribeLogGroups", "logs:GetLogEvents",
		"logs:putlogevents", "LOGS:PUTLOGEVENTS", "logs:PutIntegration", "ec2:DescribeInstances", "s3:GetObject",
	}
	vocabRequestResources = []string{
		"arn:aws:logs:eu-west-1:111122223333:log-group:x",
		"arn:aws:logs:eu-west-1:111122223333:log-group:app-x",
		"arn:aws:logs:eu-west-1:111122223333:log-group:app-x-prod",
		"arn:aws:logs:eu-west-1:111122223333:log-group:app-x:log-stream:y-prod",
		"arn:aws:logs:eu-west-1:111122223333:log-group:app-x:*",
		"arn:aws:logs:eu-west-1:111122223333:log-group:logs-test-allowed",
		"arn:aws:logs:eu-west-1:111122223333:log-group:logs-test-allowed:log-stream:s",
		"arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/f",
		"arn:aws:logs:eu-west-1:111122223333:log-group:${*}",
		"arn:aws:logs:eu-west-1:111122223333:log-group:alice",
		"arn:aws:logs:eu-west-1:444455556666:log-group:x",
		"arn:aws:logs:eu-west-1:444455556666:log-group:app-x-prod",
		"arn:aws:logs:us-east-1:111122223333:log-group:x",
		"arn:aws:logs:us-east-1:444455556666:log-group:x:log-stream:y",
		"arn:aws:logs:eu-west-1:444455556666:destination:d",
		"arn:aws:logs:eu-west-1:111122223333:destination:d",
		"arn:aws:s3:::bucket/key",
		"arn:aws:logs:eu-west-1:111122223333:log-group:app-é",
		"arn:aws:logs:eu-west-1:111122223333:log-group:app-éé",
		"arn:aws:logs:eu-west-1:111122223333:log-group:app-😀",
		"arn:aws:logs:eu-west-1:111122223333:log-group:app-a:",
		"arn:aws:logs:eu-west-1:111122223333:log-group:app-ab:log-stream:s",
	}
	// Fillers for '*' and '?' when a request resource is made from a pattern.
	vocabStarFillers  = []string{"", "x", "app-x", "x:log-stream:y", ":", "-prod", accountForeign, "eu-west-1", "é", "😀"}
	vocabQuestionFill = []string{"1", "x", ":", "6", "é", "😀"}
)

type policyGenerator struct{ rng *rand.Rand }

func (g *policyGenerator) chance(p float64) bool { return g.rng.Float64() < p }

func (g *policyGenerator) weighted(weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := g.rng.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

func pickFrom[T any](g *policyGenerator, list []T) T { return list[g.rng.IntN(len(list))] }

// pickSome picks 1..most distinct items.
func pickSome[T any](g *policyGenerator, list []T, most int) []T {
	n := 1 + g.rng.IntN(most)
	var out []T
	for _, i := range g.rng.Perm(len(list))[:min(n, len(list))] {
		out = append(out, list[i])
	}
	return out
}

func (g *policyGenerator) version() string {
	switch g.weighted([]int{7, 2, 1}) {
	case 0:
		return policy.Version2012
	case 1:
		return ""
	default:
		return policy.Version2008
	}
}

// policy returns a generated policy and the name of the way it was made.
func (g *policyGenerator) policy(template policySpec) (string, policySpec) {
	switch g.weighted([]int{5, 3, 3}) {
	case 0:
		return "narrowed", g.narrowed(template)
	case 1:
		p := g.narrowed(template)
		g.mutate(&p)
		return "mutated", p
	default:
		return "random", g.random()
	}
}

// narrowed copies the template and takes things away, which should keep it
// compliant in most cases.
func (g *policyGenerator) narrowed(template policySpec) policySpec {
	p := template.clone()
	if g.chance(0.2) {
		p.Version = g.version()
	}
	var out []stmtSpec
	for _, st := range p.Statements {
		if st.Effect == "Deny" {
			if g.chance(0.3) { // a wider deny takes back at least as much
				st.Actions = append(st.Actions, pickFrom(g, []string{"logs:Create*", "logs:Put*", "logs:Associate*"}))
			}
			out = append(out, st)
			continue
		}
		copies := 1 + g.rng.IntN(2)
		for range copies {
			n := st
			n.Actions = append([]string(nil), st.Actions...)
			n.Resources = append([]string(nil), st.Resources...)
			n.Conditions = append(conditionSet(nil), st.Conditions...)
			if n.ActionKey == "Action" && len(n.Actions) == 1 && n.Actions[0] == "logs:*" && g.chance(0.7) {
				n.Actions = pickSome(g, vocabLogsActions, 3)
			}
			if n.ResourceKey == "Resource" {
				n.Resources = pickSome(g, n.Resources, len(n.Resources))
				for i := range n.Resources {
					if g.chance(0.5) {
						n.Resources[i] = g.narrowPattern(n.Resources[i])
					}
				}
			}
			if n.Principal == "*" && g.chance(0.3) {
				pr := pickFrom(g, vocabPrincipals[2:9])
				n.PrincipalKey, n.Principal = pr.key, pr.value
			}
			for range g.rng.IntN(3) {
				n.Conditions = n.Conditions.add(pickFrom(g, vocabConditions))
			}
			out = append(out, n)
		}
	}
	if g.chance(0.3) {
		d := g.statement()
		d.Effect = "Deny"
		out = append(out, d)
	}
	g.rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	p.Statements = out
	return p
}

// narrowPattern replaces one '*' of a resource pattern by something that
// matches less, mostly.
func (g *policyGenerator) narrowPattern(s string) string {
	stars := []int{}
	for i := range len(s) {
		if s[i] == '*' {
			stars = append(stars, i)
		}
	}
	if len(stars) == 0 {
		return s
	}
	i := pickFrom(g, stars)
	return s[:i] + pickFrom(g, []string{"app-*", "app-x", "app-*-prod", "x:log-stream:*", "", "*-prod", "a?p-*", "${aws:username}"}) + s[i+1:]
}

// mutate makes one change that may widen the policy.
func (g *policyGenerator) mutate(p *policySpec) {
	if len(p.Statements) == 0 {
		p.Statements = append(p.Statements, g.statement())
		return
	}
	i := g.rng.IntN(len(p.Statements))
	st := &p.Statements[i]
	switch g.rng.IntN(10) {
	case 0:
		st.Resources = append(st.Resources, pickFrom(g, vocabResources))
	case 1:
		st.Resources[g.rng.IntN(len(st.Resources))] = pickFrom(g, vocabResources)
	case 2:
		st.Actions = append(st.Actions, pickFrom(g, vocabActions))
	case 3:
		pr := pickFrom(g, vocabPrincipals)
		st.PrincipalKey, st.Principal = pr.key, pr.value
	case 4:
		p.Statements = append(p.Statements[:i], p.Statements[i+1:]...) // may drop a Deny
	case 5:
		if st.ResourceKey == "Resource" {
			st.ResourceKey = "NotResource"
		} else {
			st.ResourceKey = "Resource"
		}
	case 6:
		if st.ActionKey == "Action" {
			st.ActionKey = "NotAction"
		} else {
			st.ActionKey = "Action"
		}
	case 7:
		if len(st.Conditions) > 0 {
			st.Conditions = st.Conditions[1:]
		} else {
			st.Conditions = st.Conditions.add(pickFrom(g, vocabConditions))
		}
	case 8:
		p.Version = g.version()
	default:
		p.Statements = append(p.Statements, g.statement())
	}
}

func (g *policyGenerator) random() policySpec {
	p := policySpec{Version: g.version()}
	for range 1 + g.rng.IntN(3) {
		p.Statements = append(p.Statements, g.statement())
	}
	return p
}

func (g *policyGenerator) statement() stmtSpec {
	st := stmtSpec{Effect: "Allow", ActionKey: "Action", ResourceKey: "Resource"}
	if g.chance(0.25) {
		st.Effect = "Deny"
	}
	pr := pickFrom(g, vocabPrincipals)
	st.PrincipalKey, st.Principal = pr.key, pr.value
	if g.chance(0.15) {
		st.ActionKey = "NotAction"
	}
	st.Actions = pickSome(g, vocabActions, 3)
	if g.chance(0.15) {
		st.ResourceKey = "NotResource"
	}
	st.Resources = pickSome(g, vocabResources, 3)
	for range g.rng.IntN(3) {
		st.Conditions = st.Conditions.add(pickFrom(g, vocabConditions))
	}
	return st
}

// request makes a request aimed at the policy and template: half of the
// resources are instances of their own patterns.
func (g *policyGenerator) request(p, template policySpec) policy.Request {
	caller := pickFrom(g, vocabCallers)
	r := policy.Request{Principal: caller, Action: pickFrom(g, vocabRequestActions)}
	if g.chance(0.5) {
		spec := p
		if g.chance(0.3) {
			spec = template
		}
		if len(spec.Statements) > 0 {
			st := pickFrom(g, spec.Statements)
			r.Resource = g.instance(pickFrom(g, st.Resources))
			if g.chance(0.3) && st.ActionKey == "Action" {
				r.Action = g.instanceAction(pickFrom(g, st.Actions))
			}
		}
	}
	if r.Resource == "" || r.Resource == "*" {
		r.Resource = pickFrom(g, vocabRequestResources)
	}
	r.Context = g.requestContext(caller)
	return r
}

// requestContext fills the condition keys the vocabularies use, each maybe,
// in mixed case, with one value for each single-valued key.
func (g *policyGenerator) requestContext(caller string) map[string][]string {
	ctx := map[string][]string{}
	key := func(k string) string {
		switch g.rng.IntN(5) {
		case 0:
			return strings.ToLower(k)
		case 1:
			return strings.ToUpper(k)
		}
		return k
	}
	if g.chance(0.7) {
		account := accountOfCaller(caller)
		if account == "" || g.chance(0.15) {
			account = pickFrom(g, []string{accountOwn, accountForeign})
		}
		ctx[key("aws:PrincipalAccount")] = []string{account}
	}
	if g.chance(0.5) {
		ctx[key("aws:SourceVpc")] = []string{pickFrom(g, []string{"vpc-111", "vpc-222"})}
	}
	if g.chance(0.5) {
		ctx[key("aws:SecureTransport")] = []string{pickFrom(g, []string{"true", "false"})}
	}
	if g.chance(0.3) {
		ctx[key("aws:TagKeys")] = pickSome(g, []string{"team", "env", "other"}, 2)
	}
	if g.chance(0.3) {
		ctx[key("aws:username")] = []string{pickFrom(g, []string{"alice", "app-x", "x"})}
	}
	return ctx
}

func accountOfCaller(caller string) string {
	if len(caller) == 12 {
		return caller
	}
	if parts := strings.SplitN(caller, ":", 6); len(parts) == 6 {
		return parts[4]
	}
	return ""
}

// instance fills a pattern's wildcards and variables with concrete text.
func (g *policyGenerator) instance(pattern string) string {
	var b strings.Builder
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; {
		case c == '*':
			b.WriteString(pickFrom(g, vocabStarFillers))
		case c == '?':
			b.WriteString(pickFrom(g, vocabQuestionFill))
		case c == '$' && strings.HasPrefix(pattern[i:], "${") && strings.Contains(pattern[i:], "}") && g.chance(0.8):
			end := strings.IndexByte(pattern[i:], '}')
			b.WriteString(pickFrom(g, []string{accountOwn, accountForeign, "alice", "x", "*"}))
			i += end
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func (g *policyGenerator) instanceAction(pattern string) string {
	s := strings.NewReplacer("*", "", "?", "P").Replace(pattern)
	if !strings.Contains(s, ":") || strings.HasSuffix(s, ":") {
		return pickFrom(g, vocabRequestActions)
	}
	return s
}

// Each case is a concrete counterexample: Check must not call the policy
// compliant, because the request is allowed by the policy and denied by the
// template.
func TestCheckSoundnessWitnesses(t *testing.T) {
	t.Parallel()
	const allowOwn = `{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:*"}`
	tests := []struct {
		name, policy, template string
		request                policy.Request
	}{
		{
			// The template's Deny has a NotResource whose only pattern holds a
			// variable; its over-approximation has no patterns left, and
			// escapesFromDenies loops over none, so nothing is required of the policy.
			name:     "template deny with NotResource of a variable",
			policy:   `{"Version":"2012-10-17","Statement":[` + allowOwn + `]}`,
			template: `{"Version":"2012-10-17","Statement":[` + allowOwn + `,{"Effect":"Deny","Principal":"*","Action":"logs:*","NotResource":"arn:aws:logs:*:${aws:PrincipalAccount}:*"}]}`,
			request: policy.Request{Principal: "arn:aws:iam::444455556666:user/mallory", Action: "logs:PutLogEvents",
				Resource: "arn:aws:logs:eu-west-1:111122223333:log-group:x", Context: map[string][]string{"aws:PrincipalAccount": {"444455556666"}}},
		},
		{
			// Same text, different meaning: a ${...} is a variable in the
			// 2012-10-17 policy and plain text in the version-less template,
			// but containsOne takes equal texts as containment.
			name:     "same resource text, policy variable vs template plain text",
			policy:   `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:${aws:username}"}]}`,
			template: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:${aws:username}"}]}`,
			request: policy.Request{Principal: "arn:aws:iam::111122223333:user/alice", Action: "logs:PutLogEvents",
				Resource: "arn:aws:logs:eu-west-1:111122223333:log-group:alice", Context: map[string][]string{"aws:username": {"alice"}}},
		},
		{
			// The other way round: ${*} is a literal '*' in 2012-10-17 and a
			// wildcard between "${" and "}" without a Version.
			name:     "same resource text, policy wildcard vs template escape",
			policy:   `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:${*}"}]}`,
			template: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:${*}"}]}`,
			request: policy.Request{Principal: "111122223333", Action: "logs:PutLogEvents",
				Resource: "arn:aws:logs:eu-west-1:111122223333:log-group:${anything}"},
		},
		{
			// A policy Deny with plain text is taken to cover a template Deny
			// whose equal text is a variable.
			name: "same resource text in the Denies, different versions",
			policy: `{"Statement":[` + allowOwn + `,{"Effect":"Deny","Principal":"*","Action":"logs:*",` +
				`"Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:${aws:username}"}]}`,
			template: `{"Version":"2012-10-17","Statement":[` + allowOwn + `,{"Effect":"Deny","Principal":"*","Action":"logs:*",` +
				`"Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:${aws:username}"}]}`,
			request: policy.Request{Principal: "arn:aws:iam::111122223333:user/alice", Action: "logs:PutLogEvents",
				Resource: "arn:aws:logs:eu-west-1:111122223333:log-group:alice", Context: map[string][]string{"aws:username": {"alice"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, tmpl := mustParseDoc(t, tt.policy), mustParseDoc(t, tt.template)
			allowed, inTemplate := mustBeCounterexample(t, p, tmpl, tt.request)
			if v := policy.Check(p, tmpl, policy.Subset); v.Compliant {
				t.Errorf("UNSOUND: Check calls the policy compliant, but it allows the request (%v) and the template denies it (%v)", allowed, inTemplate)
			}
		})
	}
}

// Exact mode promises equality up to formatting. Two condition operators that
// differ only in case are two conditions (both must hold), yet the normalized
// form merges their values into one list (either may hold); for
// ForAnyValue:StringNotEquals that merge is narrower than the pair, so a policy
// passes as "the template" while allowing more.
func TestCheckEqualityModeWitnesses(t *testing.T) {
	t.Parallel()
	const head = `{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:*",`
	tests := []struct {
		name, policy, template string
		request                policy.Request
		// parseRejects: Parse refuses the policy, which settles the case.
		parseRejects bool
	}{
		{
			name:         "operators in two spellings merged into one",
			parseRejects: true,
			policy:       `{"Version":"2012-10-17","Statement":[` + head + `"Condition":{"ForAnyValue:StringNotEquals":{"aws:TagKeys":"a"},"ForAnyValue:stringNotEquals":{"aws:TagKeys":"b"}}}]}`,
			template:     `{"Version":"2012-10-17","Statement":[` + head + `"Condition":{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["a","b"]}}}]}`,
			request: policy.Request{Principal: "111122223333", Action: "logs:PutLogEvents",
				Resource: "arn:aws:logs:eu-west-1:111122223333:log-group:x", Context: map[string][]string{"aws:TagKeys": {"a", "b"}}},
		},
		{
			// The Version is left out of the comparison, but it changes what
			// ${...} means.
			name:     "versions that read the same text differently",
			policy:   `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:${aws:username}"}]}`,
			template: `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:${aws:username}"}]}`,
			request: policy.Request{Principal: "111122223333", Action: "logs:PutLogEvents",
				Resource: "arn:aws:logs:eu-west-1:111122223333:log-group:alice", Context: map[string][]string{"aws:username": {"alice"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := policy.Parse([]byte(tt.policy))
			if tt.parseRejects {
				if err == nil {
					t.Fatal("Parse accepts the policy; it must reject it, or Check must tell it from the template")
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			tmpl := mustParseDoc(t, tt.template)
			allowed, inTemplate := mustBeCounterexample(t, p, tmpl, tt.request)
			if v := policy.Check(p, tmpl, policy.Exact); v.Compliant {
				t.Errorf("Exact calls the policy the template, but it allows the request (%v) and the template denies it (%v)", allowed, inTemplate)
			}
		})
	}
}

// mustBeCounterexample fails the test unless p allows r and tmpl denies it,
// and returns both decisions.
func mustBeCounterexample(t *testing.T, p, tmpl *policy.Document, r policy.Request) (allowed, inTemplate policy.Decision) {
	t.Helper()
	allowed, err1 := p.Evaluate(r)
	inTemplate, err2 := tmpl.Evaluate(r)
	if err1 != nil || err2 != nil {
		t.Fatalf("Evaluate: %v, %v", err1, err2)
	}
	if !allowed.Allowed || inTemplate.Allowed {
		t.Fatalf("not a counterexample: policy %v, template %v", allowed, inTemplate)
	}
	return allowed, inTemplate
}

func mustParseDoc(t testing.TB, s string) *policy.Document {
	t.Helper()
	doc, err := policy.Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse(%s): %v", s, err)
	}
	return doc
}

// Context keys ignore case, so a request may spell one key twice; Evaluate
// must still give one answer. Folding the keys into a map keeps whichever
// spelling map iteration visits last, so the answer changes from call to call.
func TestEvaluateConditionKeySpelledTwice(t *testing.T) {
	t.Parallel()
	doc := mustParseDoc(t, `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpc":"vpc-1"}}}]}`)
	r := policy.Request{Action: "logs:PutLogEvents", Resource: "arn:aws:logs:eu-west-1:111122223333:log-group:x",
		Context: map[string][]string{"aws:SourceVpc": {"vpc-1"}, "AWS:SOURCEVPC": {"vpc-2"}}}
	seen := map[bool]int{}
	for range 200 {
		d, err := doc.Evaluate(r)
		if err != nil {
			t.Fatal(err)
		}
		seen[d.Allowed]++
	}
	if len(seen) > 1 {
		t.Errorf("the same request was allowed %d times and denied %d times out of 200", seen[true], seen[false])
	}
}
