package cli

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
)

// loadConfig reads the same environment variables as the Lambda. The caller
// replaces DryRun, which the commands take from their flags.
func loadConfig(env Env) (config.Config, error) {
	getenv := env.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return config.Config{}, fmt.Errorf("configuration: %w", err)
	}
	if cfg.OrganizationID == config.OrganizationFromAWS {
		return config.Config{}, fmt.Errorf("configuration: %s=%s is for the function; give the organization's ID", config.EnvOrganizationID, config.OrganizationFromAWS)
	}
	return cfg, nil
}

// report prints outcomes as JSON Lines on standard output and problems on
// standard error, and keeps what the exit status depends on.
type report struct {
	env     Env
	command string
	enc     *json.Encoder
	errors  int // bad input and failed AWS calls
	pending int // non-compliant endpoints left as they are (dry run)
}

func newReport(env Env, command string) *report {
	enc := json.NewEncoder(env.Stdout)
	enc.SetEscapeHTML(false) // policies and ARNs read better without \u003c escapes
	return &report{env: env, command: command, enc: enc}
}

// outcome prints one outcome as soon as it is known.
func (r *report) outcome(o remediate.Outcome) {
	if err := r.enc.Encode(o); err != nil {
		r.fail(fmt.Errorf("write outcome: %w", err))
	}
	if o.Verdict == remediate.NonCompliant && o.Action == remediate.WouldRewrite {
		r.pending++
	}
}

// run prints the outcomes of a remediation as they come; the commands have no
// deadline.
func (r *report) run() remediate.Run { return remediate.Run{Record: r.outcome} }

// fail reports a problem on standard error, each line of it (errors.Join puts
// one error on each) prefixed with the command.
func (r *report) fail(err error) {
	r.errors++
	for line := range strings.SplitSeq(err.Error(), "\n") {
		fmt.Fprintf(r.env.Stderr, "vpce-guard %s: %s\n", r.command, line)
	}
}

// status is 2 after any error, else 1 if a dry run left non-compliant
// endpoints, else 0: everything compliant, fixed, exempt or out of scope.
func (r *report) status() int {
	switch {
	case r.errors > 0:
		return ExitError
	case r.pending > 0:
		return ExitNegative
	}
	return ExitOK
}
