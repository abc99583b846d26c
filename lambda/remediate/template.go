package remediate

import (
	"fmt"
	"sync"

	"github.com/vpce-guard/vpce-guard/lambda/policy"
	"github.com/vpce-guard/vpce-guard/policytemplates"
)

// template is a rendered and parsed template, ready to check policies
// against. Its text is kept as a string, converted once: every outcome of a
// sweep refers to it, so a copy per endpoint would grow with the sweep.
type template struct {
	Template
	hash string
	// withoutPolicy is the verdict on an endpoint without a policy, the
	// same for every such endpoint: what AWS's full-access policy lets
	// through, with its witnesses.
	withoutPolicy policy.Verdict
}

type templateKey struct{ name, region, account string }

// templates renders each (template, region, account) once: a sweep checks
// hundreds of endpoints of one account against the same template, and a warm
// Lambda keeps the cache between invocations. One function serves one region and
// a handful of accounts, so the cache stays small.
type templates struct {
	params policytemplates.Params // all but the region, partition and account
	mode   policy.Mode
	mu     sync.Mutex
	cache  map[templateKey]*template
}

func (t *templates) get(name, region, account string) (*template, error) {
	key := templateKey{name, region, account}
	t.mu.Lock()
	defer t.mu.Unlock()
	if tpl, ok := t.cache[key]; ok {
		return tpl, nil
	}
	p := t.params
	p.Partition, p.Region, p.AccountID = policytemplates.PartitionForRegion(region), region, account
	text, err := policytemplates.Render(name, p)
	if err != nil {
		return nil, fmt.Errorf("render template %s for account %q in %s: %w", name, account, region, err)
	}
	doc, err := policy.Parse(text)
	if err != nil { // the templates are tested to parse; this is a bug
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	carries, err := policytemplates.Carries(name)
	if err != nil { // tested for every template; this is a bug too
		return nil, err
	}
	tpl := &template{Template: Template{Text: string(text), Doc: doc, Carries: carries}, hash: hashPolicy(doc.Normalize().JSON()),
		withoutPolicy: policy.Check(fullAccess(), doc, t.mode, carries...)}
	if t.cache == nil {
		t.cache = map[templateKey]*template{}
	}
	t.cache[key] = tpl
	return tpl, nil
}

// fullAccess is the policy AWS gives an endpoint created without one.
func fullAccess() *policy.Document {
	return policy.NewDocument(policy.Version2008, "", []policy.Statement{{Effect: policy.Allow,
		Principal: policy.Principal{Present: true, Any: true},
		Action:    policy.Values{Values: []string{"*"}}, Resource: policy.Values{Values: []string{"*"}}}})
}
