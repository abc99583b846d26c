package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpce-guard/vpce-guard/lambda/policy"
	"github.com/vpce-guard/vpce-guard/policytemplates"
)

// A corpus case is one file in testdata/corpus: a policy, the template it is
// checked against, and the verdict expected, with words each reason must hold.
type corpusCase struct {
	Comment  string          `json:"comment"`
	Template corpusTemplate  `json:"template"`
	Mode     string          `json:"mode"`
	Policy   json.RawMessage `json:"policy"`
	Want     struct {
		Compliant bool     `json:"compliant"`
		Reasons   []string `json:"reasons"` // each must appear in some reason
	} `json:"want"`
}

type corpusTemplate struct {
	Name         string   `json:"name"`
	Account      string   `json:"account"`
	Region       string   `json:"region"`
	LogGroups    []string `json:"logGroups"`
	Accounts     []string `json:"accounts"`     // the accounts form
	Organization string   `json:"organization"` // the organization form
}

func TestCorpus(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/corpus/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var c corpusCase
			dec := json.NewDecoder(strings.NewReader(string(data)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&c); err != nil {
				t.Fatalf("corpus file: %v", err)
			}
			mode := policy.Subset
			if c.Mode != "" {
				if mode, err = policy.ParseMode(c.Mode); err != nil {
					t.Fatal(err)
				}
			}
			template := render(t, c.Template.Name, policytemplates.Params{Region: c.Template.Region, AccountID: c.Template.Account,
				LogGroupPatterns: c.Template.LogGroups, Accounts: c.Template.Accounts, OrganizationID: c.Template.Organization})
			doc, err := policy.Parse(c.Policy)
			if err != nil {
				t.Fatalf("policy: %v", err)
			}
			v := policy.Check(doc, template, mode)
			if v.Compliant != c.Want.Compliant {
				t.Fatalf("compliant = %v, want %v (%s); reasons %q", v.Compliant, c.Want.Compliant, c.Comment, v.Reasons)
			}
			all := strings.Join(v.Reasons, "\n")
			for _, want := range c.Want.Reasons {
				if !strings.Contains(all, want) {
					t.Errorf("no reason contains %q; reasons:\n%s", want, all)
				}
			}
			if !v.Compliant && len(c.Want.Reasons) == 0 {
				t.Errorf("a non-compliant corpus case must say which reason it expects")
			}
		})
	}
}
