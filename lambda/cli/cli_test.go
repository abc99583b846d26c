package cli_test

import (
	"bytes"
	"context"
	"io/fs"
	"strings"
	"testing"

	"github.com/vpce-guard/vpce-guard/lambda/cli"
)

const (
	allowedStream = "arn:aws:logs:eu-west-1:111122223333:log-group:logs-test-allowed:log-stream:s1"
	deniedStream  = "arn:aws:logs:eu-west-1:111122223333:log-group:logs-test-denied:log-stream:s1"
	classic       = `{"Version":"2012-10-17","Statement":[{"Sid":"OnlyAllowed","Effect":"Allow","Principal":"*",
		"Action":["logs:CreateLogStream","logs:PutLogEvents"],
		"Resource":["arn:aws:logs:eu-west-1:111122223333:log-group:logs-test-allowed","arn:aws:logs:eu-west-1:111122223333:log-group:logs-test-allowed:*"]}]}`
	oddOperator = `{"Statement":{"Effect":"Allow","Principal":"*","Action":"logs:PutLogEvents","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:*","Condition":{"StringSoundsLike":{"aws:SourceVpc":"vpc-1"}}}}`
	vpcOnly     = `{"Statement":{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpc":"vpc-1"}}}}`
	fullAccess  = `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`
)

var files = map[string]string{
	"classic.json": classic,
	"open.json":    fullAccess,
	"broken.json":  `{"Statement":[{"Effect":"Permit","Principal":"*","Action":"*","Resource":"*"}]}`,
}

func run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runIn(t, files, stdin, args...)
}

// runIn runs the command line args with the files of fsys, by name.
func runIn(t *testing.T, fsys map[string]string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := cli.Env{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut,
		ReadFile: func(name string) ([]byte, error) {
			if s, ok := fsys[name]; ok {
				return []byte(s), nil
			}
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		},
	}
	code = cli.Run(context.Background(), env, args)
	return code, out.String(), errOut.String()
}

// sharedGroups reaches another account's log groups, as an endpoint shared
// across accounts must.
const sharedGroups = `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:PutLogEvents","Resource":"arn:aws:logs:eu-west-1:444455556666:log-group:*"}]}`

// orgStatement is the organization form's first statement alone.
const orgStatement = `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"arn:aws:logs:eu-west-1:*:log-group:*",
	"Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-a1b2c3d4e5","aws:ResourceOrgID":"o-a1b2c3d4e5"}}}]}`

func TestCommands(t *testing.T) {
	t.Parallel()
	account := []string{"--service", "logs", "--account", "111122223333", "--region", "eu-west-1"}
	with := func(args ...string) []string {
		return append(append([]string{}, args[:1]...), append(account, args[1:]...)...)
	}
	tests := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stdout string // a part of standard output
		stderr string // a part of standard error
	}{
		{"no command", "", nil, 2, "", "usage: vpce-guard COMMAND"},
		{"unknown command", "", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"check compliant", "", with("check", "classic.json"), 0, "compliant: classic.json allows nothing beyond the logs template", ""},
		{"check notes an unknown operator", oddOperator, with("check", "-"), 0, "compliant", `note: the policy's statement 1: condition operator "StringSoundsLike" is unknown`},
		{"check file before flags", "", append([]string{"check", "classic.json"}, account...), 0, "compliant", ""},
		{"check non-compliant", "", with("check", "open.json"), 1, "noncompliant: open.json against the logs template (subset mode):\n- statement 1 allows * on *", ""},
		{"check exact", "", with("check", "--mode", "exact", "classic.json"), 1, "is not in the template", ""},
		{"check a shared account's groups", sharedGroups, with("check", "--also-account", "444455556666", "-"), 0, "compliant", ""},
		{"check a shared account's groups, not listed", sharedGroups, with("check", "-"), 1, "444455556666", ""},
		{"check the organization form", orgStatement, with("check", "--organization", "o-a1b2c3d4e5", "-"), 0, "compliant", ""},
		{"check an organization statement against the account form", orgStatement, with("check", "-"), 1, "noncompliant", ""},
		{"render the organization form", "", with("render", "--organization", "o-a1b2c3d4e5"), 0, `"aws:ResourceOrgID": "o-a1b2c3d4e5"`, ""},
		{"render a bad organization", "", with("render", "--organization", "o-X"), 2, "", "OrganizationID"},
		{"check strict", "", append(with("check", "classic.json"), "--service", "logs-strict"), 0, "logs-strict template", ""},
		{"check by endpoint service name", "", append(with("check", "open.json"), "--service", "com.amazonaws.eu-west-1.logs-fips"), 1, "noncompliant", ""},
		{"check standard input", fullAccess, with("check", "-"), 1, "noncompliant: -", ""},
		{"check with log-group patterns", "", with("check", "classic.json", "--log-group", "logs-test-*"), 0, "compliant", ""},
		{"check outside the log-group patterns", "", with("check", "classic.json", "--log-group", "app-*"), 1, "outside arn:aws:logs:eu-west-1:111122223333:log-group:app-*", ""},
		{"check invalid policy", "", with("check", "broken.json"), 2, "", `broken.json: invalid policy: statement 1: Effect: "Permit" is neither Allow nor Deny`},
		{"check missing file", "", with("check", "nope.json"), 2, "", "nope.json"},
		{"check without file", "", with("check"), 2, "", "exactly one POLICY_FILE"},
		{"check bad mode", "", with("check", "--mode", "loose", "classic.json"), 2, "", "--mode"},
		{"check bad account", "", []string{"check", "--service", "logs", "--account", "1234", "--region", "eu-west-1", "classic.json"}, 2, "", "1234"},
		{"check unknown service", "", []string{"check", "--service", "s3", "--account", "111122223333", "--region", "eu-west-1", "classic.json"}, 2, "", `--service "s3": no template`},
		{"check without service", "", []string{"check", "--account", "111122223333", "--region", "eu-west-1", "classic.json"}, 2, "", "--service is required"},
		{"render", "", with("render"), 0, `"arn:aws:logs:eu-west-1:111122223333:log-group:*"`, ""},
		{"render china", "", []string{"render", "--service", "logs", "--account", "111122223333", "--region", "cn-north-1"}, 0, `"arn:aws-cn:logs:cn-north-1:111122223333:log-group:*"`, ""},
		{"render stray argument", "", with("render", "extra"), 2, "", `unexpected argument "extra"`},
		{"simulate allow", "", []string{"simulate", "--policy", "classic.json", "--action", "logs:PutLogEvents", "--resource", allowedStream, "--principal-account", "111122223333"}, 0,
			"Allow by statement 1 (\"OnlyAllowed\")\n", ""},
		{"simulate deny", "", []string{"simulate", "--policy", "classic.json", "--action", "logs:PutLogEvents", "--resource", deniedStream}, 1,
			"Deny (implicit: no statement allows it)\n", ""},
		{"simulate context", vpcOnly, []string{"simulate", "--policy", "-", "--action", "logs:PutLogEvents", "--resource", allowedStream, "--context", "aws:SourceVpc=vpc-1"}, 0, "Allow", ""},
		{"simulate missing flags", "", []string{"simulate", "--policy", "classic.json"}, 2, "", "--policy, --action and --resource are required"},
		{"simulate bad context", "", []string{"simulate", "--policy", "classic.json", "--action", "a:b", "--resource", "*", "--context", "novalue"}, 2, "", "want KEY=VALUE"},
		{"simulate both principals", "", []string{"simulate", "--policy", "classic.json", "--action", "a:b", "--resource", "*", "--principal-account", "1", "--principal", "arn:x"}, 2, "", "not both"},
		{"help", "", []string{"check", "-h"}, 0, "", "usage: vpce-guard check"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := run(t, tt.stdin, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			if !strings.Contains(stdout, tt.stdout) {
				t.Errorf("stdout %q does not contain %q", stdout, tt.stdout)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr, tt.stderr)
			}
			if tt.code == 2 && tt.stderr != "" && stdout != "" {
				t.Errorf("bad input printed to stdout: %q", stdout)
			}
		})
	}
}
