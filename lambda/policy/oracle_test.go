package policy_test

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vpce-guard/vpce-guard/lambda/policy"
	"github.com/vpce-guard/vpce-guard/tests/oracle"
)

var (
	oraclePairs = flag.Int("oracle.pairs", 20_000, "how many (policy, request) pairs each part of TestOracle asks the independent IAM evaluator")
	oracleSeed  = flag.Uint64("oracle.seed", 20261202, "seed of TestOracle")
)

// TestOracle holds the engine to an IAM evaluator written by others,
// iam-simulate (tests/oracle), reading each document as a VPC endpoint
// policy. The policies and requests come from the property test's
// generators, which include Unicode, '?', colons, account principals of
// every form and condition keys in mixed case.
//
//	go test ./lambda/policy -run TestOracle -v -timeout 3h -oracle.pairs=1000000
//
// agreement: for random (policy, request) pairs, Evaluate and iam-simulate
// decide alike, except in the readings where iam-simulate departs from AWS's
// documentation (knownDifferences, and the table in tests/README.md).
//
// soundness: whenever Check calls a policy compliant with a template, every
// generated request iam-simulate lets through the policy, it lets through the
// template too. This one has no exception.
func TestOracle(t *testing.T) {
	o := oracle.Start(t)
	seed := *oracleSeed
	t.Logf("seed %d (rerun with -oracle.seed=%d)", seed, seed)
	templates := parseSoundnessTemplates(t)
	t.Run("agreement", func(t *testing.T) {
		g := &policyGenerator{rng: rand.New(rand.NewPCG(seed, 1))}
		oracleAgreement(t, o, g, templates)
	})
	t.Run("soundness", func(t *testing.T) {
		g := &policyGenerator{rng: rand.New(rand.NewPCG(seed, 2))}
		oracleSoundness(t, o, g, templates)
	})
}

// oracleCase is one question, and how Evaluate is to read it.
type oracleCase struct {
	policyJSON       []byte
	doc              *policy.Document
	request          policy.Request
	starsCrossColons bool
}

func (c oracleCase) question() oracle.Question {
	return oracle.Question{Policy: c.policyJSON, Principal: c.request.Principal, Action: c.request.Action,
		Resource: c.request.Resource, Context: c.request.Context}
}

const oracleBatch = 2000

func oracleAgreement(t *testing.T, o *oracle.Oracle, g *policyGenerator, templates []*policy.Document) {
	var asked, compared, refused, unsupported, allowed int
	known := map[string]int{}
	refusals := map[string]int{}
	var unexplained []string
	for asked < *oraclePairs {
		var batch []oracleCase
		for len(batch) < oracleBatch {
			tmpl := soundnessTemplates[g.weighted(soundnessTemplateWeights)]
			_, spec := g.policy(tmpl.spec)
			raw := spec.json()
			doc, err := policy.Parse(raw)
			if err != nil {
				continue
			}
			for range 4 {
				batch = append(batch, oracleCase{policyJSON: raw, doc: doc, request: g.oracleRequest(spec, tmpl.spec)})
			}
		}
		answers := askOracle(t, o, batch)
		asked += len(batch)
		for i, a := range answers {
			c := batch[i]
			if a.Decision == "error" {
				refused++
				refusals[refusalKind(a.Error)]++
				continue
			}
			c.request.Context = withoutKeys(c.request.Context, a.IgnoredContextKeys)
			ours, err := c.doc.Evaluate(c.request)
			if errors.Is(err, policy.ErrUnsupportedOperator) {
				// iam-simulate reads operator names without case; IAM and
				// Evaluate do not. Documented in tests/README.md.
				unsupported++
				continue
			}
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			compared++
			if a.Allowed() {
				allowed++
			}
			if ours.Allowed == a.Allowed() {
				continue
			}
			if why := knownDifference(c, a.Allowed()); why != "" {
				known[why]++
				continue
			}
			if len(unexplained) < 10 {
				ctx, _ := json.Marshal(c.request.Context)
				unexplained = append(unexplained, fmt.Sprintf("Evaluate %v, iam-simulate %s\npolicy:  %+q\nrequest: principal=%q action=%q resource=%+q context=%+q",
					ours, a.Decision, c.policyJSON, c.request.Principal, c.request.Action, c.request.Resource, ctx))
			}
			known["unexplained"]++
		}
	}
	t.Logf("%d pairs asked: %d compared (%d allowed by iam-simulate), %d refused by iam-simulate %v, %d with an operator name in another case",
		asked, compared, allowed, refused, refusals, unsupported)
	for _, why := range slices.Sorted(maps.Keys(known)) {
		t.Logf("%6d disagreements: %s", known[why], why)
	}
	for _, u := range unexplained {
		t.Errorf("DISAGREEMENT: %s", u)
	}
	if compared < asked/2 || allowed < compared/10 {
		t.Errorf("only %d of %d pairs compared, %d of them allowed: the generator must make questions both sides answer", compared, asked, allowed)
	}
}

func oracleSoundness(t *testing.T, o *oracle.Oracle, g *policyGenerator, templates []*policy.Document) {
	var policies, compliant, asked, throughPolicy, refused int
	for asked < *oraclePairs {
		var batch, templateBatch []oracleCase
		for len(batch) < oracleBatch {
			ti := g.weighted(soundnessTemplateWeights)
			tmpl := soundnessTemplates[ti]
			_, spec := g.policy(tmpl.spec)
			raw := spec.json()
			doc, err := policy.Parse(raw)
			if err != nil {
				continue
			}
			policies++
			if !policy.Check(doc, templates[ti], policy.Subset).Compliant {
				continue
			}
			compliant++
			for range 16 {
				r := g.oracleRequest(spec, spec) // aimed at what the policy allows
				if !policy.Possible(r) {
					continue // AWS never authorizes the action on such a resource
				}
				batch = append(batch, oracleCase{policyJSON: raw, doc: doc, request: r})
				templateBatch = append(templateBatch, oracleCase{policyJSON: tmpl.json, doc: templates[ti], request: r})
			}
		}
		answers := askOracle(t, o, batch)
		asked += len(batch)
		var through, throughTemplate []oracleCase
		for i, a := range answers {
			switch {
			case a.Decision == "error":
				refused++
			case a.Allowed():
				through, throughTemplate = append(through, batch[i]), append(throughTemplate, templateBatch[i])
			}
		}
		throughPolicy += len(through)
		for i, a := range askOracle(t, o, throughTemplate) {
			if !a.Allowed() {
				c := through[i]
				ctx, _ := json.Marshal(c.request.Context)
				t.Errorf("UNSOUND by iam-simulate: Check calls the policy compliant, iam-simulate lets the request through it and %s it by the template\npolicy:   %s\ntemplate: %s\nrequest:  principal=%q action=%q resource=%q context=%s",
					a.Decision, c.policyJSON, throughTemplate[i].policyJSON, c.request.Principal, c.request.Action, c.request.Resource, ctx)
			}
		}
	}
	t.Logf("%d policies, %d compliant; %d requests on compliant policies asked, %d refused by iam-simulate, %d allowed through the policy and asked of the template",
		policies, compliant, asked, refused, throughPolicy)
	if throughPolicy < asked/10 {
		t.Errorf("only %d of %d requests on compliant policies got through them: the test must ask the template about many", throughPolicy, asked)
	}
}

func askOracle(t *testing.T, o *oracle.Oracle, cases []oracleCase) []oracle.Answer {
	t.Helper()
	questions := make([]oracle.Question, len(cases))
	for i, c := range cases {
		questions[i] = c.question()
	}
	answers, err := o.Ask(questions)
	if err != nil {
		t.Fatal(err)
	}
	return answers
}

// refusalKind groups iam-simulate's refusals by their message, without the details.
func refusalKind(e string) string {
	if i := strings.Index(e, `"message":"`); i >= 0 {
		rest := e[i+len(`"message":"`):]
		return rest[:strings.IndexByte(rest, '"')]
	}
	return e
}

func withoutKeys(ctx map[string][]string, ignored []string) map[string][]string {
	if len(ignored) == 0 {
		return ctx
	}
	out := maps.Clone(ctx)
	for _, k := range ignored {
		delete(out, k)
	}
	return out
}

// The requests iam-simulate evaluates: an action of the resource's type (it
// refuses others), an ARN caller of this partition or another, and one value
// for each single-valued key.
var (
	oracleCallers = []string{
		"arn:aws:iam::111122223333:role/app",
		"arn:aws:sts::111122223333:assumed-role/app/session",
		"arn:aws:iam::111122223333:user/alice",
		"arn:aws:iam::111122223333:root",
		"arn:aws:sts::444455556666:assumed-role/app/session",
		"arn:aws:iam::444455556666:user/mallory",
		"arn:aws-cn:iam::111122223333:role/app",
	}
	oracleActionsByType = map[string][]string{
		"log-group":   {"logs:CreateExportTask", "logs:PutSubscriptionFilter", "logs:AssociateKmsKey", "logs:DeleteLogGroup", "logs:createexporttask"},
		"log-stream":  {"logs:PutLogEvents", "logs:CreateLogStream", "logs:GetLogEvents", "LOGS:PutLogEvents"},
		"destination": {"logs:PutDestination", "logs:PutSubscriptionFilter"},
	}
)

// resourceType names the Logs resource type of an ARN, or "" for none.
func resourceType(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "logs" || strings.ContainsAny(arn, "*?$") {
		return ""
	}
	switch {
	case strings.HasPrefix(parts[5], "log-group:") && strings.Contains(parts[5], ":log-stream:"):
		return "log-stream"
	case strings.HasPrefix(parts[5], "log-group:"):
		return "log-group"
	case strings.HasPrefix(parts[5], "destination:"):
		return "destination"
	}
	return ""
}

func (g *policyGenerator) oracleRequest(p, template policySpec) policy.Request {
	r := policy.Request{Principal: pickFrom(g, oracleCallers)}
	if g.chance(0.7) {
		spec := p
		if g.chance(0.3) {
			spec = template
		}
		if len(spec.Statements) > 0 {
			r.Resource = g.instance(pickFrom(g, pickFrom(g, spec.Statements).Resources))
		}
	}
	for resourceType(r.Resource) == "" {
		r.Resource = pickFrom(g, vocabRequestResources)
	}
	r.Action = pickFrom(g, oracleActionsByType[resourceType(r.Resource)])
	r.Context = g.requestContext(r.Principal)
	return r
}

// knownDifference names the readings of iam-simulate that explain a
// disagreement, or "" when none do. Each is a place where iam-simulate reads
// IAM otherwise than AWS documents it (tests/README.md quotes the documentation);
// Evaluate agrees once the case is read iam-simulate's way. A disagreement
// may need two of them, such as a root ARN of another partition naming the
// caller of a statement with an operator in lower case.
//
// Read iam-simulate's way, a statement Evaluate skipped may come to decide
// the request with an operator it does not know (iam-simulate accepts some
// that IAM rejects); then Evaluate cannot answer, and the case is counted
// as undecided under that reading.
func knownDifference(c oracleCase, simulated bool) string {
	undecided := ""
	for set := 1; set < 1<<len(knownDifferences); set++ {
		changed := c
		var names []string
		for i, d := range knownDifferences {
			if set&(1<<i) != 0 {
				changed = d.read(changed)
				names = append(names, d.name)
			}
		}
		switch agrees, err := changed.agrees(simulated); {
		case err == nil && agrees:
			return strings.Join(names, " + ")
		case errors.Is(err, policy.ErrUnsupportedOperator) && undecided == "":
			undecided = "undecided: an unknown operator decides under " + strings.Join(names, " + ")
		}
	}
	return undecided
}

var knownDifferences = []struct {
	name string
	read func(oracleCase) oracleCase
}{
	{"a * inside an ARN part crosses colons", func(c oracleCase) oracleCase {
		c.starsCrossColons = true
		return c
	}},
	{"a root ARN of any partition names the account", func(c oracleCase) oracleCase {
		return c.withPolicy(rootsAsAccountIDs)
	}},
	{"condition keys fold by Unicode rules", func(c oracleCase) oracleCase {
		return c.withPolicy(unicodeLowerKeys)
	}},
	{"operator names ignore case", func(c oracleCase) oracleCase {
		return c.withPolicy(canonicalOperators)
	}},
	{"variables without a Version", func(c oracleCase) oracleCase {
		c.doc = policy.NewDocument(policy.Version2012, c.doc.ID(), c.doc.Statements())
		return c
	}},
	{"a NotResource entry with a variable without a value excludes its resource type", func(c oracleCase) oracleCase {
		return c.withPolicy(func(st *policy.Statement) {
			if !st.Resource.Not {
				return
			}
			st.Resource.Values = slices.Clone(st.Resource.Values)
			for i, v := range st.Resource.Values {
				if hasUnresolved(v, c.request.Context) {
					st.Resource.Values[i] = wholeResourceType(v)
				}
			}
		})
	}},
	{"? matches a UTF-16 unit, half of a character beyond U+FFFF", func(c oracleCase) oracleCase {
		c.request.Resource = asUTF16Units(c.request.Resource)
		return c
	}},
}

func (c oracleCase) agrees(simulated bool) (bool, error) {
	d, err := policy.EvaluateUnder(c.doc, c.request, c.starsCrossColons, false)
	return err == nil && d.Allowed == simulated, err
}

// withPolicy is the case with each statement of the policy changed by change.
func (c oracleCase) withPolicy(change func(*policy.Statement)) oracleCase {
	statements := c.doc.Statements() // copies
	for i := range statements {
		change(&statements[i])
	}
	c.doc = policy.NewDocument(c.doc.Version(), c.doc.ID(), statements)
	return c
}

// rootsAsAccountIDs writes arn:ANY:iam::ID:root as the bare ID, which names
// the account in any partition.
func rootsAsAccountIDs(st *policy.Statement) {
	for i, e := range st.Principal.AWS {
		parts := strings.Split(e, ":")
		if len(parts) == 6 && parts[0] == "arn" && parts[2] == "iam" && parts[3] == "" && parts[5] == "root" {
			st.Principal.AWS[i] = parts[4]
		}
	}
}

// variableWithoutDefault finds a policy variable without a default value.
var variableWithoutDefault = regexp.MustCompile(`\$\{[^},]*\}`)

// hasUnresolved reports whether the pattern has a variable the context gives no value.
func hasUnresolved(pattern string, ctx map[string][]string) bool {
	for _, variable := range variableWithoutDefault.FindAllString(pattern, -1) {
		key := strings.TrimSpace(variable[2 : len(variable)-1])
		found := false
		for k, v := range ctx {
			found = found || len(v) > 0 && strings.EqualFold(k, key)
		}
		if !found {
			return true
		}
	}
	return false
}

// wholeResourceType keeps an ARN pattern up to its resource type
// ("log-group:") and ends it with a '*'.
func wholeResourceType(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return arn
	}
	resource := parts[5]
	if i := strings.IndexAny(resource, ":/"); i >= 0 {
		resource = resource[:i+1]
	} else {
		resource = ""
	}
	return strings.Join(parts[:5], ":") + ":" + resource + "*"
}

// canonicalOperators spells operator names as IAM does.
func canonicalOperators(st *policy.Statement) {
	for i := range st.Conditions {
		st.Conditions[i].Operator = policy.CanonicalOperator(st.Conditions[i].Operator)
	}
}

// unicodeLowerKeys lower-cases condition keys by Unicode rules, as
// JavaScript's toLowerCase does: the Kelvin sign becomes k.
func unicodeLowerKeys(st *policy.Statement) {
	for i := range st.Conditions {
		st.Conditions[i].Key = strings.ToLower(st.Conditions[i].Key)
	}
}

// asUTF16Units writes each character beyond U+FFFF as two characters, one
// for each of its UTF-16 units (from the private use area, which no pattern
// names), so that a '?' reading one character reads one unit.
func asUTF16Units(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r > 0xFFFF {
			b.WriteString("\ue000\ue001")
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
