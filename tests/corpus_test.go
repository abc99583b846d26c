package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vpce-guard/vpce-guard/lambda/policy"
	"github.com/vpce-guard/vpce-guard/policytemplates"
	"github.com/vpce-guard/vpce-guard/tests/oracle"
)

// A corpus case is one file in testdata/corpus: a policy, the template it is
// checked against, and the verdict expected, with words each reason (and
// note) must hold.
type corpusCase struct {
	Comment  string          `json:"comment"`
	Template corpusTemplate  `json:"template"`
	Mode     string          `json:"mode"`
	Policy   json.RawMessage `json:"policy"`
	Want     struct {
		Compliant bool     `json:"compliant"`
		Reasons   []string `json:"reasons"` // each must appear in some reason
		Notes     []string `json:"notes"`   // each must appear in some note
	} `json:"want"`
}

// corpusTemplate is a built-in template rendered with its parameters, or,
// where a case needs a template of its own (one with conditions, say), a
// policy given whole with the services its endpoint carries.
type corpusTemplate struct {
	Name         string          `json:"name"`
	Account      string          `json:"account"`
	Region       string          `json:"region"`
	LogGroups    []string        `json:"logGroups"`
	Accounts     []string        `json:"accounts"`     // the accounts form
	Organization string          `json:"organization"` // the organization form
	Policy       json.RawMessage `json:"policy"`
	Carries      []string        `json:"carries"` // with policy
}

// loadedCase is a corpus case read and checked as the function checks an
// endpoint: against the template, for the services it carries.
type loadedCase struct {
	name string
	corpusCase
	policyJSON, templateJSON []byte
	policy, template         *policy.Document
	verdict                  policy.Verdict
}

func loadCorpus(t *testing.T) []loadedCase {
	t.Helper()
	files, err := filepath.Glob("testdata/corpus/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files: %v", err)
	}
	var out []loadedCase
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		c := loadedCase{name: name}
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c.corpusCase); err != nil {
			t.Fatalf("corpus file %s: %v", name, err)
		}
		mode := policy.Subset
		if c.Mode != "" {
			if mode, err = policy.ParseMode(c.Mode); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		if (c.Template.Policy != nil) == (c.Template.Name != "") || c.Template.Policy == nil && c.Template.Carries != nil {
			t.Fatalf("%s: a template is a name with its parameters, or a policy with its carries", name)
		}
		carries := c.Template.Carries
		if c.Template.Policy != nil {
			c.templateJSON = c.Template.Policy
		} else {
			p := policytemplates.Params{Region: c.Template.Region, AccountID: c.Template.Account,
				LogGroupPatterns: c.Template.LogGroups, Accounts: c.Template.Accounts, OrganizationID: c.Template.Organization}
			if c.templateJSON, err = policytemplates.Render(c.Template.Name, p); err != nil {
				t.Fatalf("%s: Render(%s, %+v): %v", name, c.Template.Name, p, err)
			}
			if carries, err = policytemplates.Carries(c.Template.Name); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		if c.template, err = policy.Parse(c.templateJSON); err != nil {
			t.Fatalf("%s: template: %v", name, err)
		}
		c.policyJSON = c.Policy
		if c.policy, err = policy.Parse(c.policyJSON); err != nil {
			t.Fatalf("%s: policy: %v", name, err)
		}
		c.verdict = policy.Check(c.policy, c.template, mode, carries...)
		out = append(out, c)
	}
	return out
}

func TestCorpus(t *testing.T) {
	t.Parallel()
	for _, c := range loadCorpus(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			v := c.verdict
			t.Logf("compliant %v, proof %q, %d witnesses, %d notes", v.Compliant, v.Proof, len(v.Witnesses), len(v.Notes))
			if v.Compliant != c.Want.Compliant {
				t.Fatalf("compliant = %v, want %v (%s); reasons %q", v.Compliant, c.Want.Compliant, c.Comment, v.Reasons)
			}
			for _, want := range c.Want.Reasons {
				if all := strings.Join(v.Reasons, "\n"); !strings.Contains(all, want) {
					t.Errorf("no reason contains %q; reasons:\n%s", want, all)
				}
			}
			for _, want := range c.Want.Notes {
				if all := strings.Join(v.Notes, "\n"); !strings.Contains(all, want) {
					t.Errorf("no note contains %q; notes:\n%s", want, all)
				}
			}
			if !v.Compliant && len(c.Want.Reasons) == 0 {
				t.Errorf("a non-compliant corpus case must say which reason it expects")
			}
		})
	}
}

// TestCorpusStricterAccepted measures what Check promises of the stricter
// policies: every corpus case expected compliant whose documents have no
// condition or policy variable is accepted (none wrongly rejected), and the
// others are counted beside them.
func TestCorpusStricterAccepted(t *testing.T) {
	t.Parallel()
	var plainCases, plainRejected, others, othersRejected int
	for _, c := range loadCorpus(t) {
		if !c.Want.Compliant || c.Mode == string(policy.Exact) {
			continue
		}
		isPlain := plain(c.policy) && plain(c.template)
		if isPlain {
			plainCases++
		} else {
			others++
		}
		if c.verdict.Compliant {
			continue
		}
		if isPlain {
			plainRejected++
			t.Errorf("%s: a stricter policy without conditions wrongly rejected: %q", c.name, c.verdict.Reasons)
		} else {
			othersRejected++
			t.Errorf("%s: a stricter policy with conditions wrongly rejected: %q", c.name, c.verdict.Reasons)
		}
	}
	t.Logf("stricter cases: %d without conditions or variables, %d wrongly rejected; %d with, %d wrongly rejected",
		plainCases, plainRejected, others, othersRejected)
	if plainCases == 0 {
		t.Error("the corpus has no stricter case without conditions")
	}
}

// plain reports whether no statement has a condition or a policy variable:
// where Check is complete.
func plain(d *policy.Document) bool {
	for _, st := range d.Statements() {
		if len(st.Conditions) > 0 || d.Version() == policy.Version2012 && slices.ContainsFunc(st.Resource.Values, func(r string) bool { return strings.Contains(r, "${") }) {
			return false
		}
	}
	return true
}

// TestCorpusWitnesses holds every witness of a non-compliant corpus verdict
// to being a counterexample, by Evaluate and by the independent evaluator
// (tests/oracle): the policy allows it, the template does not. A verdict on
// documents without conditions or policy variables, in Subset mode, must
// carry one.
func TestCorpusWitnesses(t *testing.T) {
	t.Parallel()
	type asked struct {
		c loadedCase
		w policy.Witness
	}
	var questions []oracle.Question
	var cases []asked
	witnessed := 0
	for _, c := range loadCorpus(t) {
		v := c.verdict
		if v.Compliant {
			continue
		}
		if c.Mode != string(policy.Exact) && plain(c.policy) && plain(c.template) && v.Proof != policy.ProofWitness {
			t.Errorf("%s: a non-compliant verdict on documents without conditions or policy variables, without a witness (proof %q): %q", c.name, v.Proof, v.Reasons)
		}
		if len(v.Witnesses) > 0 {
			witnessed++
		}
		for _, w := range v.Witnesses {
			allowed, err1 := c.policy.Evaluate(w.Request())
			inTemplate, err2 := c.template.Evaluate(w.Request())
			if err1 != nil || err2 != nil || !allowed.Allowed || inTemplate.Allowed {
				t.Errorf("%s: witness %+v is not a counterexample by Evaluate: policy %v %v, template %v %v", c.name, w, allowed, err1, inTemplate, err2)
			}
			for _, doc := range [][]byte{c.policyJSON, c.templateJSON} {
				questions = append(questions, oracle.Question{Policy: doc, Principal: w.Principal, Action: w.Action, Resource: w.Resource, Context: w.Context})
			}
			cases = append(cases, asked{c, w})
		}
	}
	if witnessed == 0 {
		t.Fatal("no corpus verdict has a witness")
	}
	o := oracle.Start(t)
	answers, err := o.Ask(questions)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range cases {
		inPolicy, inTemplate := answers[2*i], answers[2*i+1]
		for _, ans := range []oracle.Answer{inPolicy, inTemplate} {
			if ans.Decision == "error" || len(ans.IgnoredContextKeys) > 0 {
				t.Errorf("%s: iam-simulate cannot answer for witness %+v: %s, ignoring %q", a.c.name, a.w, ans.Error, ans.IgnoredContextKeys)
			}
		}
		if !inPolicy.Allowed() || inTemplate.Allowed() {
			t.Errorf("%s: witness %+v is not a counterexample by iam-simulate: policy %s, template %s", a.c.name, a.w, inPolicy.Decision, inTemplate.Decision)
		}
	}
	t.Logf("%d witnesses of %d verdicts confirmed by Evaluate and iam-simulate", len(cases), witnessed)
}
