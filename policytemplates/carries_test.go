package policytemplates_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/vpce-guard/vpce-guard/lambda/policy"
	"github.com/vpce-guard/vpce-guard/policytemplates"
)

// Every template declares what its endpoints carry; every action it allows
// is of those services, whose resource types the check knows.
func TestCarries(t *testing.T) {
	t.Parallel()
	for _, name := range policytemplates.Names() {
		carries, err := policytemplates.Carries(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, c := range carries {
			if !slices.Contains(policy.KnownServices(), c) {
				t.Errorf("%s carries %q, whose actions the check does not know (%q)", name, c, policy.KnownServices())
			}
		}
		for _, org := range []string{"", "o-a1b2c3d4e5"} {
			rendered, err := policytemplates.Render(name, policytemplates.Params{Region: "eu-west-1", AccountID: "111122223333", OrganizationID: org})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(rendered), "{{") {
				t.Errorf("%s: a marker is left in the rendered policy:\n%s", name, rendered)
			}
			doc, err := policy.Parse(rendered)
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range doc.Statements() {
				for _, a := range st.Action.Values {
					service, _, _ := strings.Cut(a, ":")
					if st.Effect == policy.Allow && (st.Action.Not || !slices.Contains(carries, service)) {
						t.Errorf("%s %s: %s allows %q, outside what it carries (%q)", name, org, st.Sid, a, carries)
					}
				}
			}
		}
	}
	if _, err := policytemplates.Carries("s3"); !errors.Is(err, policytemplates.ErrUnknownTemplate) {
		t.Errorf("an unknown template: %v", err)
	}
}
