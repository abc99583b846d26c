package cli_test

import (
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/vpce-guard/vpce-guard/lambda/cli"
	"github.com/vpce-guard/vpce-guard/lambda/policy"
	"github.com/vpce-guard/vpce-guard/policytemplates"
)

var endpointFlags = []string{"--service", "logs", "--account", "111122223333", "--region", "eu-west-1"}

// hostile puts the shell's special characters, line breaks, a terminal
// escape and a forged command line where a witness and a reason copy them:
// a resource pattern, a condition key and a condition value of the policy.
const hostile = `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:PutLogEvents",
	"Resource":"arn:aws:logs:eu-west-1:999999999999:log-group:it's $(echo INJECTED >&2)\n` + "`echo INJECTED >&2`" + `;|&<>\n  vpce-guard simulate $(echo INJECTED >&2)\n*",
	"Condition":{"StringEquals":{"aws:PrincipalTag/$(echo INJECTED >&2)":"a'b\"c\n\u001b[2J\u202ed; echo INJECTED >&2"}}}]}`

// nonCompliant are policies that let through what the logs template does
// not, in the ways a witness must show.
var nonCompliant = map[string]string{
	"open.json":         fullAccess,
	"shared.json":       sharedGroups,
	"vpc-only.json":     vpcOnly,
	"org.json":          orgStatement,
	"hostile.json":      hostile,
	"named-caller.json": `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:role/admin"},"Action":"logs:GetLogEvents","Resource":"arn:aws:logs:eu-west-1:444455556666:log-group:*"}]}`,
	"not-resource.json": `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:*","NotResource":"arn:aws:logs:eu-west-1:111122223333:log-group:secret*"}]}`,
	"service.json":      `{"Statement":[{"Effect":"Allow","Principal":{"Service":"logs.amazonaws.com"},"Action":"logs:GetLogEvents","Resource":"arn:aws:logs:eu-west-1:444455556666:log-group:*"}]}`,
	"ip-condition.json": `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"StringLike":{"aws:PrincipalArn":["arn:aws:iam::*:role/ops-*"]}}}]}`,
}

func withFiles(extra map[string]string) map[string]string {
	fsys := maps.Clone(files)
	maps.Copy(fsys, extra)
	return fsys
}

// render renders the logs template for endpointFlags, through the command.
func render(t *testing.T, fsys map[string]string, flags ...string) string {
	t.Helper()
	code, stdout, stderr := runIn(t, fsys, "", append([]string{"render"}, flags...)...)
	if code != 0 {
		t.Fatalf("render: exit %d: %s", code, stderr)
	}
	return stdout
}

type verdictOut struct {
	Compliant bool             `json:"compliant"`
	Proof     string           `json:"proof"`
	Reasons   []string         `json:"reasons"`
	Witnesses []policy.Witness `json:"witnesses"`
	Notes     []string         `json:"notes"`
}

// checkJSON runs check --json and reads the one object it prints, holding it
// to its shape: these members and no others, no null.
func checkJSON(t *testing.T, fsys map[string]string, args ...string) (int, verdictOut) {
	t.Helper()
	code, stdout, stderr := runIn(t, fsys, "", append([]string{"check", "--json"}, args...)...)
	if code == 2 {
		t.Fatalf("check --json %v: exit 2: %s", args, stderr)
	}
	if stderr != "" {
		t.Errorf("check --json wrote to standard error: %q", stderr)
	}
	if strings.Count(stdout, "\n") != 1 || !strings.HasSuffix(stdout, "\n") {
		t.Errorf("check --json printed more or less than one line: %q", stdout)
	}
	var shape map[string]any
	if err := json.Unmarshal([]byte(stdout), &shape); err != nil {
		t.Fatalf("check --json printed %q: %v", stdout, err)
	}
	if got, want := slices.Sorted(maps.Keys(shape)), []string{"compliant", "notes", "proof", "reasons", "witnesses"}; !slices.Equal(got, want) {
		t.Errorf("members %v, want %v", got, want)
	}
	for _, list := range []string{"reasons", "witnesses", "notes"} {
		if _, ok := shape[list].([]any); !ok {
			t.Errorf("%s is %#v, want a list", list, shape[list])
		}
	}
	witnesses, _ := shape["witnesses"].([]any)
	for i, w := range witnesses {
		m, _ := w.(map[string]any)
		if got, want := slices.Sorted(maps.Keys(m)), []string{"action", "context", "principal", "resource"}; !slices.Equal(got, want) {
			t.Errorf("witness %d has members %v, want %v", i, got, want)
		}
		context, ok := m["context"].(map[string]any)
		if !ok {
			t.Errorf("witness %d context is %#v, want an object", i, m["context"])
		}
		for key, values := range context {
			if _, ok := values.([]any); !ok {
				t.Errorf("witness %d context %q is %#v, want a list", i, key, values)
			}
		}
	}
	var v verdictOut
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		t.Fatal(err)
	}
	if (code == 0) != v.Compliant {
		t.Errorf("exit %d for compliant %v", code, v.Compliant)
	}
	return code, v
}

func TestCheckJSON(t *testing.T) {
	t.Parallel()
	fsys := withFiles(map[string]string{"odd.json": oddOperator, "vpc-only.json": vpcOnly})
	code, v := checkJSON(t, fsys, append(endpointFlags, "classic.json")...)
	if code != 0 || v.Proof != "" || len(v.Reasons)+len(v.Witnesses)+len(v.Notes) != 0 {
		t.Errorf("classic.json: exit %d, %+v; want compliant, and empty lists", code, v)
	}
	code, v = checkJSON(t, fsys, append(endpointFlags, "odd.json")...)
	if code != 0 || len(v.Notes) != 1 || !strings.Contains(v.Notes[0], "StringSoundsLike") {
		t.Errorf("odd.json: exit %d, notes %q; want compliant with a note of the operator", code, v.Notes)
	}
	code, v = checkJSON(t, fsys, append(endpointFlags, "open.json")...)
	if code != 1 || v.Proof != "witness" || len(v.Reasons) == 0 || len(v.Witnesses) == 0 {
		t.Errorf("open.json: exit %d, %+v; want non-compliant with a witness", code, v)
	}
	code, v = checkJSON(t, fsys, append(endpointFlags, "vpc-only.json")...)
	if code != 1 || len(v.Witnesses) == 0 || len(v.Witnesses[0].Context["aws:SourceVpc"]) == 0 {
		t.Errorf("vpc-only.json: exit %d, %+v; want a witness in vpc-1", code, v)
	}
	// Bad input is reported as it always is, with nothing on standard output.
	code, stdout, stderr := run(t, "", append([]string{"check", "--json"}, append(endpointFlags, "broken.json")...)...)
	if code != 2 || stdout != "" || !strings.Contains(stderr, "broken.json") {
		t.Errorf("broken.json: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// The built-in templates' endpoints carry only their own service's
// actions: a statement of another service's lets nothing through them.
func TestCheckCarries(t *testing.T) {
	t.Parallel()
	other := `{"Statement":[` + strings.TrimSuffix(strings.TrimPrefix(classic, `{"Version":"2012-10-17","Statement":[`), "]}") +
		`,{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}`
	fsys := withFiles(map[string]string{"other.json": other})
	code, v := checkJSON(t, fsys, append(endpointFlags, "other.json")...)
	if code != 0 || len(v.Notes) == 0 {
		t.Errorf("s3 beside the logs template: exit %d, %+v; want compliant with a note", code, v)
	}
	// A policy file for a template carries no prefix unless --service says so.
	fsys["template.json"] = render(t, fsys, endpointFlags...)
	if code, _ := checkJSON(t, fsys, "--template", "template.json", "other.json"); code != 1 {
		t.Errorf("s3 beside a template file: exit %d, want 1", code)
	}
	if code, _ := checkJSON(t, fsys, "--template", "template.json", "--service", "logs", "other.json"); code != 0 {
		t.Errorf("s3 beside a template file, --service logs: exit %d, want 0", code)
	}
}

func TestCheckTemplateFile(t *testing.T) {
	t.Parallel()
	fsys := withFiles(map[string]string{"narrow.json": `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:PutLogEvents",
		"Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:logs-test-allowed:*"}]}`})
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"narrower than the reference", []string{"--template", "classic.json", "narrow.json"}, 0, "compliant: narrow.json allows nothing beyond classic.json (subset mode)", ""},
		{"broader than the reference", []string{"--template", "narrow.json", "classic.json"}, 1, "noncompliant: classic.json against narrow.json (subset mode):", ""},
		{"a policy against itself, exact", []string{"narrow.json", "--template", "narrow.json", "--mode", "exact"}, 0, "compliant", ""},
		{"with a service", []string{"--template", "classic.json", "--service", "com.amazonaws.eu-west-1.logs", "narrow.json"}, 0, "compliant", ""},
		{"the template from standard input", []string{"--template", "-", "narrow.json"}, 0, "compliant: narrow.json allows nothing beyond -", ""},
		{"both from standard input", []string{"--template", "-", "-"}, 2, "", "cannot both be standard input"},
		// The contract's flags, passed by tools whatever the template: accepted, not used.
		{"flags that render", []string{"--template", "classic.json", "--log-group", "x", "--account", "111122223333", "narrow.json"}, 0,
			"compliant: narrow.json allows nothing beyond classic.json",
			"note: --template classic.json is the template as it is; --account, --log-group, which fill a built-in one, are not used"},
		{"an unknown service", []string{"--template", "classic.json", "--service", "s3", "narrow.json"}, 2, "", `--service "s3"`},
		{"a bad template file", []string{"--template", "broken.json", "narrow.json"}, 2, "", `--template broken.json: invalid policy: statement 1: Effect: "Permit"`},
		{"a template file that is not JSON", []string{"--template", "half.json", "narrow.json"}, 2, "", "--template half.json: invalid policy: not valid JSON: unexpected end of input at offset 14"},
		{"a missing template file", []string{"--template", "nope.json", "narrow.json"}, 2, "", "nope.json"},
	}
	fsys["half.json"] = `{"Statement":[`
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runIn(t, fsys, classic, append([]string{"check"}, tt.args...)...)
			if code != tt.code || !strings.Contains(stdout, tt.stdout) || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, want %d\nstdout: %q, want %q\nstderr: %q, want %q", code, tt.code, stdout, tt.stdout, stderr, tt.stderr)
			}
			if tt.code == 2 && stdout != "" {
				t.Errorf("bad input printed to stdout: %q", stdout)
			}
		})
	}
}

// Every witness check --json gives replays through simulate: the policy
// allows it, the template denies it.
func TestWitnessesReplay(t *testing.T) {
	t.Parallel()
	fsys := withFiles(nonCompliant)
	fsys["template.json"] = render(t, fsys, endpointFlags...)
	for name := range nonCompliant {
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			t.Parallel()
			code, v := checkJSON(t, fsys, append(endpointFlags, name)...)
			if code != 1 || v.Proof != "witness" || len(v.Witnesses) == 0 {
				t.Fatalf("exit %d, proof %q, %d witnesses; want a non-compliant verdict with witnesses", code, v.Proof, len(v.Witnesses))
			}
			for _, w := range v.Witnesses {
				replay(t, fsys, name, w, 0)
				replay(t, fsys, "template.json", w, 1)
			}
		})
	}
	// And the witnesses of a check against another policy replay against it.
	code, v := checkJSON(t, fsys, "--template", "classic.json", "vpc-only.json")
	if code != 1 || len(v.Witnesses) == 0 {
		t.Fatalf("vpc-only.json against classic.json: exit %d, %d witnesses", code, len(v.Witnesses))
	}
	for _, w := range v.Witnesses {
		replay(t, fsys, "vpc-only.json", w, 0)
		replay(t, fsys, "classic.json", w, 1)
	}
}

// replay runs simulate with w against the policy file and wants code.
func replay(t *testing.T, fsys map[string]string, file string, w policy.Witness, want int) {
	t.Helper()
	args := []string{"simulate", "--policy", file, "--action", w.Action, "--resource", w.Resource}
	if w.Principal != "" {
		args = append(args, "--principal", w.Principal)
	}
	for key, values := range w.Context {
		for _, value := range values {
			args = append(args, "--context", key+"="+value)
		}
	}
	code, stdout, stderr := runIn(t, fsys, "", args...)
	if code != want {
		t.Errorf("%v: exit %d, want %d\nstdout: %s\nstderr: %s", args, code, want, stdout, stderr)
	}
}

// The text form prints each witness as a simulate command line that a shell
// reads back as exactly the witness, whatever the policy put in it, and that
// runs nothing else.
func TestCheckPrintsReplayableLines(t *testing.T) {
	t.Parallel()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash to read the lines back")
	}
	fsys := withFiles(nonCompliant)
	fsys["template.json"] = render(t, fsys, endpointFlags...)
	for name := range nonCompliant {
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			t.Parallel()
			_, v := checkJSON(t, fsys, append(endpointFlags, name)...)
			code, stdout, _ := runIn(t, fsys, "", append([]string{"check", name}, endpointFlags...)...)
			if code != 1 || !strings.Contains(stdout, "\nproof: witness: "+name+" allows each request below, the logs template denies it:\n") {
				t.Fatalf("exit %d, stdout %q; want the witness proof", code, stdout)
			}
			var lines []string
			for _, line := range strings.Split(stdout, "\n") {
				if line, ok := strings.CutPrefix(line, "  vpce-guard simulate "); ok {
					lines = append(lines, line)
				}
			}
			if len(lines) != len(v.Witnesses) {
				t.Fatalf("%d command lines for %d witnesses:\n%s", len(lines), len(v.Witnesses), stdout)
			}
			for i, line := range lines {
				if i := strings.IndexFunc(line, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }); i >= 0 {
					t.Errorf("line %q holds a character a terminal does not show as itself", line)
				}
				cmd := exec.Command(bash, "--norc", "--noprofile", "-c", `printf '%s\0' `+line)
				cmd.Dir = t.TempDir()
				var errOut strings.Builder
				cmd.Stderr = &errOut
				out, err := cmd.Output()
				if err != nil || errOut.Len() > 0 {
					t.Fatalf("bash read %q: %v %s", line, err, errOut.String())
				}
				args := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
				if want := cli.SimulateArgs(name, v.Witnesses[i]); !slices.Equal(args, want) {
					t.Errorf("bash reads\n%q\nas %q,\nwant %q", line, args, want)
				}
				if code, _, stderr := runIn(t, fsys, "", append([]string{"simulate"}, args...)...); code != 0 {
					t.Errorf("simulate %q: exit %d: %s", args, code, stderr)
				}
			}
		})
	}
}

// A condition key with an = in it cannot go through --context: the line is
// printed commented out, saying so.
func TestCheckUnreplayableWitness(t *testing.T) {
	t.Parallel()
	fsys := withFiles(map[string]string{"tag.json": `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"*",
		"Condition":{"StringEquals":{"aws:PrincipalTag/a=b":"c"}}}]}`})
	code, stdout, _ := runIn(t, fsys, "", append([]string{"check", "tag.json"}, endpointFlags...)...)
	if code != 1 || !strings.Contains(stdout, "  # vpce-guard simulate --policy tag.json ") ||
		!strings.Contains(stdout, "# not replayable: the condition key aws:PrincipalTag/a=b holds an =") {
		t.Errorf("exit %d, stdout:\n%s\nwant the line commented out", code, stdout)
	}
}

func TestCheckUnproven(t *testing.T) {
	t.Parallel()
	// The template in exact mode: a narrower policy differs without granting more.
	code, stdout, _ := run(t, "", append([]string{"check", "--mode", "exact", "classic.json"}, endpointFlags...)...)
	if code != 1 || !strings.Contains(stdout, "\nproof: unproven: ") || strings.Contains(stdout, "vpce-guard simulate") {
		t.Errorf("exit %d, stdout:\n%s\nwant an unproven verdict without command lines", code, stdout)
	}
}

// The help of --service and --partition lists what the templates offer.
func TestTemplateFlagsHelp(t *testing.T) {
	t.Parallel()
	for _, command := range []string{"check", "render", "fix"} {
		_, _, stderr := run(t, "", command, "-h")
		service, partition := flagHelp(stderr, "service"), flagHelp(stderr, "partition")
		want := append(policytemplates.Names(), policytemplates.Services()...)
		for _, s := range policytemplates.Services() {
			want = append(want, policytemplates.EndpointNames(s)...)
		}
		for _, name := range want {
			if !strings.Contains(service, name) {
				t.Errorf("%s -h: --service does not name %s: %q", command, name, service)
			}
		}
		for _, p := range policytemplates.Partitions() {
			if !strings.Contains(partition, p+",") && !strings.Contains(partition, p+" ") {
				t.Errorf("%s -h: --partition does not name %s: %q", command, p, partition)
			}
		}
	}
}

// flagHelp is the text flag.PrintDefaults gives one flag.
func flagHelp(help, name string) string {
	_, rest, _ := strings.Cut(help, "\n  -"+name+" ")
	text, _, _ := strings.Cut(rest, "\n  -")
	return strings.Join(strings.Fields(text), " ")
}

// corpusPolicy is a policy of the tests' corpus, with the flags of the
// template it is checked against there, and that template's text when the
// case gives it whole (read from template.json).
type corpusPolicy struct {
	flags            []string
	policy, template string
}

// files are what the commands of a corpus policy read: the policy as name,
// and its template when the case gives one whole.
func (p corpusPolicy) files(name string) map[string]string {
	fsys := map[string]string{name: p.policy}
	if p.template != "" {
		fsys["template.json"] = p.template
	}
	return fsys
}

func corpusPolicies(t *testing.T) map[string]corpusPolicy {
	t.Helper()
	paths, err := filepath.Glob("../../tests/testdata/corpus/*.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	out := map[string]corpusPolicy{}
	for _, path := range paths {
		var c struct {
			Template struct {
				Name, Account, Region string
				LogGroups             []string
				Accounts              []string
				Organization          string
				Policy                json.RawMessage
				Carries               []string
			}
			Policy json.RawMessage
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &c); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if c.Template.Policy != nil {
			flags := []string{"--template", "template.json"}
			for _, service := range c.Template.Carries {
				flags = append(flags, "--service", service)
			}
			out["corpus-"+filepath.Base(path)] = corpusPolicy{flags: flags, policy: string(c.Policy), template: string(c.Template.Policy)}
			continue
		}
		flags := []string{"--service", c.Template.Name, "--account", c.Template.Account, "--region", c.Template.Region}
		for _, g := range c.Template.LogGroups {
			flags = append(flags, "--log-group", g)
		}
		for _, a := range c.Template.Accounts {
			flags = append(flags, "--also-account", a)
		}
		if c.Template.Organization != "" {
			flags = append(flags, "--organization", c.Template.Organization)
		}
		out["corpus-"+filepath.Base(path)] = corpusPolicy{flags: flags, policy: string(c.Policy)}
	}
	return out
}
