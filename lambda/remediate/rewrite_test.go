package remediate_test

import (
	"context"
	"strings"
	"testing"

	"github.com/vpce-guard/vpce-guard/internal/fakeec2"
	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/lambda/policy"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
	"github.com/vpce-guard/vpce-guard/policytemplates"
)

// onlyAppGroups is broader than the logs template in one way (a log group
// of another account) and narrower in another (one action, app-* groups
// only): the template rewrite gives back every other action and log group
// of the account, the narrow one does not.
const onlyAppGroups = `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:PutLogEvents",
	"Resource":["arn:aws:logs:eu-west-1:111122223333:log-group:app-*","arn:aws:logs:eu-west-1:444455556666:log-group:drop:*"]}]}`

func mustParse(t *testing.T, text string) *policy.Document {
	t.Helper()
	doc, err := policy.Parse([]byte(text))
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	return doc
}

// Each rewrite holds to what the outcome says about it: the written policy
// is compliant (its own Modify event causes no write), a narrow one is no
// broader than the old policy, and a template one lists what it widens,
// each with a request the written policy allows and the old one denies.
func TestRewriteModes(t *testing.T) {
	t.Parallel()
	template := mustParse(t, render(t, policytemplates.Logs, region))
	carries, err := policytemplates.Carries(policytemplates.Logs)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, policy, rewrite string
		wantHow               string // what is written
		wantWidens            bool   // the written policy grants something the old one did not
		wantFallback          string // a part of the fallback reason, "" for none
	}{
		{"template rewrite gives back what the owner had narrowed", onlyAppGroups, config.RewriteTemplate, config.RewriteTemplate, true, ""},
		{"narrow rewrite keeps it narrowed", onlyAppGroups, config.RewriteNarrow, config.RewriteNarrow, false, ""},
		{"narrow rewrite of full access is the template", fullAccess, config.RewriteNarrow, config.RewriteTemplate, false, "allows all the template does"},
		{"narrow rewrite without a policy is the template", "", config.RewriteNarrow, config.RewriteTemplate, false, "no policy to keep"},
		{"template rewrite of full access widens nothing", fullAccess, config.RewriteTemplate, config.RewriteTemplate, false, ""},
		{"template rewrite within the old policy widens nothing", foreignGroups, config.RewriteTemplate, config.RewriteTemplate, false, ""},
		{"narrow rewrite of a broader policy is the template", foreignGroups, config.RewriteNarrow, config.RewriteTemplate, false, "allows all the template does"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ec2 := fakeec2.New(fakeec2.Endpoint(endpointID, logs, account, tt.policy))
			cfg := defaults(t)
			cfg.Rewrite = tt.rewrite
			outcomes, err := handle(remediate.New(ec2, region, cfg), context.Background(), modifyCall(endpointID))
			if err != nil || len(outcomes) != 1 {
				t.Fatalf("%+v, %v", outcomes, err)
			}
			o := outcomes[0]
			if o.Action != remediate.Rewritten || o.Rewrite != tt.wantHow {
				t.Fatalf("action %s, rewrite %q; want rewritten, %q: %+v", o.Action, o.Rewrite, tt.wantHow, o)
			}
			if !strings.Contains(o.RewriteFallback, tt.wantFallback) || (tt.wantFallback == "") != (o.RewriteFallback == "") {
				t.Errorf("fallback %q, want one with %q", o.RewriteFallback, tt.wantFallback)
			}
			written := ec2.Policy(endpointID)
			if written != o.PolicyAfterText {
				t.Errorf("the outcome says it wrote\n%s\nthe endpoint has\n%s", o.PolicyAfterText, written)
			}
			doc := mustParse(t, written)
			if v := policy.Check(doc, template, policy.Subset, carries...); !v.Compliant {
				t.Errorf("the written policy is not compliant: %q", v.Reasons)
			}
			if o.Widens == nil {
				t.Fatal("a rewritten outcome without widens")
			}
			if got := len(*o.Widens) > 0; got != tt.wantWidens {
				t.Errorf("widens %+v, want some: %v", *o.Widens, tt.wantWidens)
			}
			if tt.policy == "" {
				return
			}
			old := mustParse(t, tt.policy)
			if v := policy.Check(doc, old, policy.Subset, carries...); v.Compliant == tt.wantWidens {
				t.Errorf("written policy within the old one: %v, want %v (%q)", v.Compliant, !tt.wantWidens, v.Reasons)
			}
			for _, w := range *o.Widens {
				if w.Witness == nil {
					continue
				}
				byNew, _ := doc.Evaluate(w.Witness.Request())
				byOld, _ := old.Evaluate(w.Witness.Request())
				if !byNew.Allowed || byOld.Allowed {
					t.Errorf("widening %q: its witness %+v is allowed by the written policy: %v, by the old: %v", w.Reason, w.Witness, byNew.Allowed, byOld.Allowed)
				}
			}
		})
	}
}

// A verdict's proof and witnesses reach the outcome: a policy that lets
// another account's log groups through names a request that proves it, and
// one that cannot be read is unproven.
func TestOutcomeCarriesTheProof(t *testing.T) {
	t.Parallel()
	ec2 := fakeec2.New(
		fakeec2.Endpoint("vpce-00000000000000001", logs, account, foreignGroups),
		fakeec2.Endpoint("vpce-00000000000000002", logs, account, ""),
		fakeec2.Endpoint("vpce-00000000000000003", logs, account, `{"Statement":[{"Effect":"Permit"}]}`),
	)
	cfg := defaults(t)
	cfg.DryRun = true
	outcomes, err := handle(remediate.New(ec2, region, cfg), context.Background(),
		modifyCall("vpce-00000000000000001", "vpce-00000000000000002", "vpce-00000000000000003"))
	if err != nil || len(outcomes) != 3 {
		t.Fatalf("%+v, %v", outcomes, err)
	}
	template := mustParse(t, render(t, policytemplates.Logs, region))
	for i, want := range []policy.Proof{policy.ProofWitness, policy.ProofWitness, policy.ProofUnproven} {
		o := outcomes[i]
		if o.Verdict != remediate.NonCompliant || o.Proof != want {
			t.Errorf("%s: verdict %s, proof %q; want noncompliant, %q", o.EndpointID, o.Verdict, o.Proof, want)
		}
		if (want == policy.ProofWitness) != (len(o.Witnesses) > 0) {
			t.Errorf("%s: proof %q with witnesses %+v", o.EndpointID, o.Proof, o.Witnesses)
		}
		for _, w := range o.Witnesses {
			if d, _ := template.Evaluate(w.Request()); d.Allowed {
				t.Errorf("%s: witness %+v is allowed by the template", o.EndpointID, w)
			}
		}
	}
	w := outcomes[0].Witnesses[0]
	if !strings.HasPrefix(w.Resource, "arn:aws:logs:") || strings.Contains(w.Resource, ":111122223333:") && strings.Contains(w.Resource, region) {
		t.Errorf("the witness for another account's log groups names %q", w.Resource)
	}
}
