package cli_test

import (
	"maps"
	"strings"
	"testing"
)

// policiesToFix are the corpus's policies and the non-compliant ones here,
// each with the flags of its template.
func policiesToFix(t *testing.T) map[string]corpusPolicy {
	t.Helper()
	out := corpusPolicies(t)
	for name, text := range nonCompliant {
		out[name] = corpusPolicy{flags: endpointFlags, policy: text}
	}
	out["classic.json"] = corpusPolicy{flags: endpointFlags, policy: classic}
	out["narrower-than-groups.json"] = corpusPolicy{flags: append([]string{"--log-group", "logs-test-allowed"}, endpointFlags...), policy: sharedGroups}
	return out
}

// A narrow rewrite is within the template, and within the old policy.
func TestFixNarrowStaysWithin(t *testing.T) {
	t.Parallel()
	for name, p := range policiesToFix(t) {
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			t.Parallel()
			fsys := p.files("old.json")
			code, stdout, stderr := runIn(t, fsys, "", append([]string{"fix", "--rewrite", "narrow", "old.json"}, p.flags...)...)
			switch code {
			case 0:
				if stdout != "" {
					t.Errorf("compliant, yet printed %q", stdout)
				}
				if code, out, _ := runIn(t, fsys, "", append([]string{"check", "old.json"}, p.flags...)...); code != 0 {
					t.Errorf("fix found it compliant, check did not (exit %d): %s", code, out)
				}
				return
			case 1:
			default:
				t.Fatalf("exit %d: %s", code, stderr)
			}
			fsys["new.json"] = stdout
			if code, out, _ := runIn(t, fsys, "", append([]string{"check", "new.json"}, p.flags...)...); code != 0 {
				t.Errorf("the rewrite is not compliant (exit %d):\n%s\n%s", code, out, stdout)
			}
			code, out, _ := runIn(t, fsys, "", "check", "--template", "old.json", "new.json")
			widens := !strings.Contains(stderr, "the written policy allows nothing that old.json did not")
			if (code != 0) != widens {
				t.Errorf("check --template old.json new.json: exit %d, yet fix says of what it widens:\n%s\ncheck says:\n%s", code, stderr, out)
			}
			if widens && !strings.Contains(stderr, "narrow rewrite not written") {
				t.Errorf("a narrow rewrite widened the policy:\n%s", stderr)
			}
		})
	}
}

// fix prints nothing for a compliant policy, and exits 0.
func TestFixCompliantPrintsNothing(t *testing.T) {
	t.Parallel()
	compliant := 0
	for name, p := range policiesToFix(t) {
		fsys := p.files("old.json")
		if code, _, _ := runIn(t, fsys, "", append([]string{"check", "old.json"}, p.flags...)...); code != 0 {
			continue // the other fix tests have it
		}
		compliant++
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			t.Parallel()
			for _, how := range []string{"template", "narrow"} {
				code, stdout, stderr := runIn(t, fsys, "", append([]string{"fix", "--rewrite", how, "old.json"}, p.flags...)...)
				if code != 0 || stdout != "" || strings.Contains(stderr, "rewritten") {
					t.Errorf("--rewrite %s: exit %d, stdout %q, stderr %q; want 0 and nothing", how, code, stdout, stderr)
				}
			}
		})
	}
	if compliant == 0 {
		t.Fatal("no compliant policy among those to fix: the test would check nothing")
	}
}

func TestFix(t *testing.T) {
	t.Parallel()
	fsys := withFiles(nonCompliant)
	template := render(t, fsys, endpointFlags...)
	groups := append([]string{"--log-group", "logs-test-allowed"}, endpointFlags...)
	fsys["shared.json"] = sharedGroups
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // all of standard output, unless empty
		stderr []string
	}{
		{"the template, by default", append([]string{"open.json"}, endpointFlags...), 1, template,
			[]string{"vpce-guard fix: open.json rewritten to the logs template\n", "the written policy allows nothing that open.json did not\n"}},
		{"the template, widening", append([]string{"shared.json", "--rewrite", "template"}, groups...), 1, render(t, fsys, groups...),
			[]string{"rewritten to the logs template\n", "the written policy allows what shared.json did not (it denies each request below):\n- statement 1 (\"AllowOwnLogGroups\")",
				"\n  vpce-guard simulate --policy shared.json --action logs:"}},
		{"narrow", append([]string{"shared.json", "--rewrite", "narrow"}, groups...), 1, "",
			[]string{"shared.json rewritten narrow: its own statements, within the bounds of the logs template\n", "allows nothing that shared.json did not"}},
		{"narrow, when the policy holds all the template does", append([]string{"open.json", "--rewrite", "narrow"}, endpointFlags...), 1, template,
			[]string{"rewritten to the logs template\n", "vpce-guard fix: narrow rewrite: the policy allows all the template does, so the template is written, the same access\n"}},
		{"a policy file as the template", []string{"--template", "classic.json", "open.json"}, 1, classic,
			[]string{"open.json rewritten to classic.json\n"}},
		{"narrow, exact", append([]string{"shared.json", "--rewrite", "narrow", "--mode", "exact"}, groups...), 1, "",
			[]string{"rewritten narrow", "in exact mode a narrow rewrite is not the template either"}},
		{"compliant, exact", append([]string{"classic.json", "--mode", "exact"}, endpointFlags...), 1, template, nil},
		{"a bad rewrite", append([]string{"open.json", "--rewrite", "wide"}, endpointFlags...), 2, "", []string{`--rewrite "wide": want template (write the template) or narrow`}},
		{"a bad mode", append([]string{"open.json", "--mode", "loose"}, endpointFlags...), 2, "", []string{"--mode"}},
		{"a template file beside the flags that render one", append([]string{"--template", "classic.json", "--log-group", "app-*", "open.json"}, endpointFlags...), 1, classic,
			[]string{"note: --template classic.json is the template as it is; --account, --log-group, --region, which fill a built-in one, are not used", "open.json rewritten to classic.json\n"}},
		{"a bad policy", append([]string{"broken.json"}, endpointFlags...), 2, "", []string{"broken.json: invalid policy"}},
		{"no policy", endpointFlags, 2, "", []string{"exactly one POLICY_FILE"}},
		{"no service", []string{"open.json"}, 2, "", []string{"--service is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runIn(t, maps.Clone(fsys), "", append([]string{"fix"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			if tt.stdout != "" && stdout != tt.stdout && stdout != tt.stdout+"\n" {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout, tt.stdout)
			}
			if tt.code == 2 && stdout != "" {
				t.Errorf("bad input printed to stdout: %q", stdout)
			}
			for _, want := range tt.stderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr:\n%s\ndoes not contain %q", stderr, want)
				}
			}
		})
	}
}
