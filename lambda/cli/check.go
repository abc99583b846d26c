package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/vpce-guard/vpce-guard/lambda/policy"
)

const checkSynopsis = "--service logs --account ID --region REGION [--partition P] [--log-group PATTERN]... [--also-account ID]... [--organization o-ID [--tag-exception]] [--mode subset|exact] POLICY_FILE"

func runCheck(_ context.Context, env Env, args []string) int {
	flags := newFlagSet("check", env, checkSynopsis)
	var tf templateFlags
	tf.register(flags)
	modeFlag := flags.String("mode", string(policy.Subset), "subset: allow nothing beyond the template; exact: be the template, up to formatting")
	files, err := parseArgs(flags, args)
	if err != nil {
		return usageError(env, "check", err)
	}
	if len(files) != 1 {
		return usageError(env, "check", errors.New("give exactly one POLICY_FILE (or - for standard input)"))
	}
	mode, err := policy.ParseMode(*modeFlag)
	if err != nil {
		return usageError(env, "check", fmt.Errorf("--mode: %w", err))
	}
	name, rendered, err := tf.render()
	if err != nil {
		return usageError(env, "check", err)
	}
	template, err := policy.Parse(rendered)
	if err != nil { // a bug in a template, not in the user's input
		return usageError(env, "check", fmt.Errorf("template %s: %w", name, err))
	}
	data, err := readInput(env, files[0])
	if err != nil {
		return usageError(env, "check", err)
	}
	doc, err := policy.Parse(data)
	if err != nil {
		return usageError(env, "check", fmt.Errorf("%s: %w", files[0], err))
	}
	v := policy.Check(doc, template, mode)
	for _, n := range v.Notes {
		fmt.Fprintf(env.Stderr, "vpce-guard check: note: %s\n", n)
	}
	if v.Compliant {
		fmt.Fprintf(env.Stdout, "compliant: %s allows nothing beyond the %s template (%s mode)\n", files[0], name, mode)
		return ExitOK
	}
	fmt.Fprintf(env.Stdout, "noncompliant: %s against the %s template (%s mode):\n", files[0], name, mode)
	for _, r := range v.Reasons {
		fmt.Fprintf(env.Stdout, "- %s\n", r)
	}
	return ExitNegative
}

const renderSynopsis = "--service logs --account ID --region REGION [--partition P] [--log-group PATTERN]... [--also-account ID]... [--organization o-ID [--tag-exception]]"

func runRender(_ context.Context, env Env, args []string) int {
	flags := newFlagSet("render", env, renderSynopsis)
	var tf templateFlags
	tf.register(flags)
	rest, err := parseArgs(flags, args)
	if err != nil {
		return usageError(env, "render", err)
	}
	if len(rest) > 0 {
		return usageError(env, "render", fmt.Errorf("unexpected argument %q", rest[0]))
	}
	_, rendered, err := tf.render()
	if err != nil {
		return usageError(env, "render", err)
	}
	env.Stdout.Write(rendered)
	if len(rendered) > 0 && rendered[len(rendered)-1] != '\n' {
		fmt.Fprintln(env.Stdout)
	}
	return ExitOK
}
