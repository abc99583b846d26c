package policytemplates_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vpce-guard/vpce-guard/policytemplates"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata that differ")

// A region and account for each partition the golden files cover.
var goldenParams = []policytemplates.Params{
	{Partition: "aws", Region: "eu-west-1", AccountID: "111122223333"},
	{Partition: "aws-cn", Region: "cn-north-1", AccountID: "111122223333"},
	{Partition: "aws-us-gov", Region: "us-gov-west-1", AccountID: "111122223333"},
}

var examplePatterns = []string{"/aws/lambda/*", "app-*", "logs-test-allowed"}

func TestNames(t *testing.T) {
	t.Parallel()
	want := []string{"events", "logs", "logs-strict", "syslog"}
	if got := policytemplates.Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
}

func TestRenderGolden(t *testing.T) {
	t.Parallel()
	type goldenCase struct {
		template, file string
		params         policytemplates.Params
	}
	var cases []goldenCase
	for _, name := range policytemplates.Names() {
		for _, p := range goldenParams {
			cases = append(cases, goldenCase{name, name + "_" + p.Partition + ".json", p})
		}
	}
	for _, name := range []string{policytemplates.Logs, policytemplates.LogsStrict} {
		p := goldenParams[0]
		p.LogGroupPatterns = examplePatterns
		cases = append(cases, goldenCase{name, name + "_" + p.Partition + "_patterns.json", p})
	}
	for _, name := range policytemplates.Names() {
		accounts := goldenParams[0]
		accounts.Accounts = []string{"444455556666", accounts.AccountID, "777788889999"}
		cases = append(cases, goldenCase{name, name + "_" + accounts.Partition + "_accounts.json", accounts})
		org := goldenParams[0]
		org.OrganizationID = "o-a1b2c3d4e5"
		cases = append(cases, goldenCase{name, name + "_" + org.Partition + "_organization.json", org})
	}
	tagged := goldenParams[0]
	tagged.OrganizationID, tagged.TagException = "o-a1b2c3d4e5", true
	cases = append(cases, goldenCase{policytemplates.Logs, "logs_aws_organization_tag_exception.json", tagged})

	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			policy, err := policytemplates.Render(tc.template, tc.params)
			if err != nil {
				t.Fatal(err)
			}
			got := append(policy, '\n')
			path := filepath.Join("testdata", tc.file)
			want, err := os.ReadFile(path)
			if err != nil && !*update {
				t.Fatal(err)
			}
			if bytes.Equal(got, want) {
				return
			}
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("updated %s", path)
				return
			}
			t.Errorf("Render(%q, %+v) differs from %s (go test -update rewrites it)\n%s",
				tc.template, tc.params, path, firstDifference(want, got))
		})
	}
}

// The organization forms of logs-strict and logs are one step apart, as the
// account forms are: the same Allows, and logs-strict's Denies.
func TestOrganizationFormsFollowTheAccountForms(t *testing.T) {
	t.Parallel()
	statements := func(name string, p policytemplates.Params) []map[string]any {
		t.Helper()
		data, err := policytemplates.Render(name, p)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct{ Statement []map[string]any }
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		return doc.Statement
	}
	p := goldenParams[0]
	strictDenies := statements(policytemplates.LogsStrict, p)[1:]
	p.OrganizationID, p.TagException = "o-a1b2c3d4e5", true
	want := append(statements(policytemplates.Logs, p), strictDenies...)
	if got := statements(policytemplates.LogsStrict, p); !reflect.DeepEqual(got, want) {
		t.Errorf("organization logs-strict:\n%v\nwant organization logs and logs-strict's Denies:\n%v", got, want)
	}
	for _, name := range policytemplates.Names() {
		for _, st := range statements(name, p) {
			if st["Effect"] != "Allow" {
				continue
			}
			c := fmt.Sprint(st["Condition"])
			// Syslog messages carry no identity: the resource's organization
			// is the only side a condition can hold.
			if name == policytemplates.Syslog && strings.Contains(c, "aws:ResourceOrgID") {
				continue
			}
			if !strings.Contains(c, "aws:PrincipalOrgID") && !strings.Contains(c, "aws:PrincipalIsAWSService") {
				t.Errorf("%s: an Allow of the organization form without an organization condition: %v", name, st)
			}
		}
	}
	// EventBridge gives no action aws:ResourceOrgID: the events form keeps
	// to the configured accounts' resources and must not condition on it.
	for _, st := range statements(policytemplates.Events, p) {
		if strings.Contains(fmt.Sprint(st), "ResourceOrgID") || strings.Contains(fmt.Sprint(st), "ResourceAccount") {
			t.Errorf("events: %v conditions on a key EventBridge never sets", st)
		}
	}
}

// firstDifference describes the first line where want and got differ.
func firstDifference(want, got []byte) string {
	wantLines := strings.Split(string(want), "\n")
	gotLines := strings.Split(string(got), "\n")
	for i := 0; i < max(len(wantLines), len(gotLines)); i++ {
		var w, g string
		if i < len(wantLines) {
			w = wantLines[i]
		}
		if i < len(gotLines) {
			g = gotLines[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, w, g)
		}
	}
	return "no line differs"
}

// TestRenderedPoliciesFitEndpoints checks every template in every partition
// against what an endpoint policy needs and what vpce-guard promises: each
// Allow names only resources of the endpoint's account and region.
func TestRenderedPoliciesFitEndpoints(t *testing.T) {
	t.Parallel()
	sidPattern := regexp.MustCompile(`^[A-Za-z0-9]+$`)
	for _, name := range policytemplates.Names() {
		for _, base := range goldenParams {
			for _, patterns := range [][]string{nil, examplePatterns} {
				p := base
				p.LogGroupPatterns = patterns
				t.Run(fmt.Sprintf("%s %s %d patterns", name, p.Partition, len(patterns)), func(t *testing.T) {
					t.Parallel()
					policy, err := policytemplates.Render(name, p)
					if err != nil {
						t.Fatal(err)
					}
					if n := len([]rune(string(policy))); n > policytemplates.MaxPolicyLength {
						t.Errorf("policy has %d characters, over %d", n, policytemplates.MaxPolicyLength)
					}
					if bytes.Contains(policy, []byte("{{")) {
						t.Errorf("placeholder left in policy:\n%s", policy)
					}
					doc := decodePolicy(t, policy)
					if doc.Version != "2012-10-17" {
						t.Errorf("Version = %q", doc.Version)
					}
					if len(doc.Statement) == 0 {
						t.Fatal("no statements")
					}
					ownPrefix := fmt.Sprintf("arn:%s:%s:%s:%s:", p.Partition, serviceOf(name), p.Region, p.AccountID)
					sids := map[string]bool{}
					for i, s := range doc.Statement {
						if !sidPattern.MatchString(s.Sid) || sids[s.Sid] {
							t.Errorf("statement %d: Sid %q missing, not alphanumeric or repeated", i, s.Sid)
						}
						sids[s.Sid] = true
						if s.Principal != "*" {
							t.Errorf("statement %s: Principal = %v, want \"*\"", s.Sid, s.Principal)
						}
						if len(s.Action) == 0 || len(s.Resource) == 0 {
							t.Errorf("statement %s: empty Action or Resource", s.Sid)
						}
						for _, a := range s.Action {
							if !strings.HasPrefix(a, serviceOf(name)+":") {
								t.Errorf("statement %s: action %q of another service", s.Sid, a)
							}
						}
						switch s.Effect {
						case "Allow":
							for _, r := range s.Resource {
								if !strings.HasPrefix(r, ownPrefix) {
									t.Errorf("statement %s allows %q, outside %s*", s.Sid, r, ownPrefix)
								}
							}
						case "Deny":
							if !slices.Equal(s.Resource, []string{"*"}) {
								t.Errorf("statement %s denies on %q, want \"*\"", s.Sid, s.Resource)
							}
						default:
							t.Errorf("statement %d: Effect = %q", i, s.Effect)
						}
					}
				})
			}
		}
	}
}

func serviceOf(template string) string {
	if template == policytemplates.Events {
		return "events"
	}
	return "logs"
}

type policyDoc struct {
	Version   string
	Statement []statement
}

type statement struct {
	Sid, Effect string
	Principal   any
	Action      stringOrList
	Resource    stringOrList
}

// stringOrList reads an IAM element that may be one string or a list of them.
type stringOrList []string

func (s *stringOrList) UnmarshalJSON(data []byte) error {
	var one string
	if err := json.Unmarshal(data, &one); err == nil {
		*s = []string{one}
		return nil
	}
	return json.Unmarshal(data, (*[]string)(s))
}

func decodePolicy(t *testing.T, policy []byte) policyDoc {
	t.Helper()
	var doc policyDoc
	dec := json.NewDecoder(bytes.NewReader(policy))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("rendered policy does not decode: %v\n%s", err, policy)
	}
	return doc
}

func TestLogsStrictExtendsLogs(t *testing.T) {
	t.Parallel()
	p := policytemplates.Params{Region: "eu-west-1", AccountID: "111122223333", LogGroupPatterns: examplePatterns}
	logs, err := policytemplates.Render(policytemplates.Logs, p)
	if err != nil {
		t.Fatal(err)
	}
	strict, err := policytemplates.Render(policytemplates.LogsStrict, p)
	if err != nil {
		t.Fatal(err)
	}
	base, extended := decodePolicy(t, logs), decodePolicy(t, strict)
	n := len(base.Statement)
	if len(extended.Statement) <= n {
		t.Fatalf("logs-strict has %d statements, logs %d", len(extended.Statement), n)
	}
	if fmt.Sprint(extended.Statement[:n]) != fmt.Sprint(base.Statement) {
		t.Errorf("logs-strict does not start with the statements of logs:\n%v\n%v", extended.Statement[:n], base.Statement)
	}
	for _, s := range extended.Statement[n:] {
		if s.Effect != "Deny" {
			t.Errorf("logs-strict adds statement %s with Effect %s, want Deny", s.Sid, s.Effect)
		}
	}
}

func TestRenderLogGroupResources(t *testing.T) {
	t.Parallel()
	const prefix = "arn:aws:logs:eu-west-1:111122223333:log-group:"
	tests := []struct {
		patterns []string
		want     []string // after the prefix
	}{
		{nil, []string{"*"}},
		{[]string{"*"}, []string{"*"}},
		{[]string{"/aws/lambda/*"}, []string{"/aws/lambda/*"}},
		{[]string{"logs-test-allowed"}, []string{"logs-test-allowed", "logs-test-allowed:*"}},
		{[]string{"app-?"}, []string{"app-?", "app-?:*"}},
		{[]string{"b", "a*", "b"}, []string{"b", "b:*", "a*"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.patterns, ","), func(t *testing.T) {
			t.Parallel()
			policy, err := policytemplates.Render(policytemplates.Logs, policytemplates.Params{
				Region: "eu-west-1", AccountID: "111122223333", LogGroupPatterns: tt.patterns,
			})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, w := range tt.want {
				want = append(want, prefix+w)
			}
			if got := decodePolicy(t, policy).Statement[0].Resource; !slices.Equal(got, want) {
				t.Errorf("patterns %q give resources %q, want %q", tt.patterns, got, want)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	t.Parallel()
	valid := policytemplates.Params{Region: "eu-west-1", AccountID: "111122223333"}

	t.Run("unknown template", func(t *testing.T) {
		t.Parallel()
		for _, name := range []string{"", "s3", "LOGS", "logs.json", "../templates/logs", "templates/logs"} {
			_, err := policytemplates.Render(name, valid)
			if !errors.Is(err, policytemplates.ErrUnknownTemplate) {
				t.Errorf("Render(%q) error = %v, want ErrUnknownTemplate", name, err)
				continue
			}
			for _, known := range policytemplates.Names() {
				if !strings.Contains(err.Error(), known) {
					t.Errorf("Render(%q) error %q does not list %q", name, err, known)
				}
			}
		}
	})

	t.Run("invalid params", func(t *testing.T) {
		t.Parallel()
		p := valid
		p.AccountID = "1234"
		_, err := policytemplates.Render(policytemplates.Events, p)
		var pe *policytemplates.ParamError
		if !errors.As(err, &pe) || pe.Field != "AccountID" || pe.Value != "1234" {
			t.Errorf("Render with AccountID 1234: error = %v, want a ParamError for AccountID", err)
		}
	})

	t.Run("invalid forms", func(t *testing.T) {
		t.Parallel()
		for field, p := range map[string]policytemplates.Params{
			"Accounts[1]":    {Region: "eu-west-1", AccountID: "111122223333", Accounts: []string{"444455556666", "4444"}},
			"OrganizationID": {Region: "eu-west-1", AccountID: "111122223333", OrganizationID: "o-ABC"},
			"TagException":   {Region: "eu-west-1", AccountID: "111122223333", TagException: true},
		} {
			_, err := policytemplates.Render(policytemplates.Logs, p)
			var pe *policytemplates.ParamError
			if !errors.As(err, &pe) || pe.Field != field {
				t.Errorf("%+v: error = %v, want a ParamError for %s", p, err, field)
			}
		}
	})

	t.Run("too large", func(t *testing.T) {
		t.Parallel()
		p := valid
		for i := range 40 {
			p.LogGroupPatterns = append(p.LogGroupPatterns, fmt.Sprintf("%03d", i)+strings.Repeat("g", 509))
		}
		for _, name := range []string{policytemplates.Logs, policytemplates.LogsStrict} {
			if _, err := policytemplates.Render(name, p); !errors.Is(err, policytemplates.ErrPolicyTooLarge) {
				t.Errorf("Render(%s, 40 long patterns) error = %v, want ErrPolicyTooLarge", name, err)
			}
		}
		// The events template ignores the patterns, so it still fits.
		if _, err := policytemplates.Render(policytemplates.Events, p); err != nil {
			t.Errorf("Render(events, 40 long patterns) = %v", err)
		}
	})
}

// FuzzRenderLogGroupPattern checks that no pattern can change a policy's
// structure: Render either refuses it or puts it into one ARN.
func FuzzRenderLogGroupPattern(f *testing.F) {
	for _, seed := range []string{"app-*", "logs-test-allowed", `a"b`, "a\\", "{{region}}", "a:*", "ü", "*", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		policy, err := policytemplates.Render(policytemplates.Logs, policytemplates.Params{
			Region: "eu-west-1", AccountID: "111122223333", LogGroupPatterns: []string{pattern},
		})
		if err != nil {
			var pe *policytemplates.ParamError
			if !errors.As(err, &pe) {
				t.Fatalf("pattern %q: error %v is not a ParamError", pattern, err)
			}
			return
		}
		var doc policyDoc
		if err := json.Unmarshal(policy, &doc); err != nil {
			t.Fatalf("pattern %q: invalid JSON: %v", pattern, err)
		}
		resources := doc.Statement[0].Resource
		if len(doc.Statement) != 1 || resources[0] != "arn:aws:logs:eu-west-1:111122223333:log-group:"+pattern {
			t.Fatalf("pattern %q: unexpected policy\n%s", pattern, policy)
		}
	})
}
