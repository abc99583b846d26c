package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/lambda/policy"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
)

const fixSynopsis = "--service S --account ID --region REGION [--partition P] [--log-group PATTERN]... [--also-account ID]... [--organization o-ID [--tag-exception]] [--rewrite template|narrow] [--mode subset|exact] POLICY_FILE\n" +
	"       vpce-guard fix --template FILE [--service S] [--rewrite template|narrow] [--mode subset|exact] POLICY_FILE"

// runFix prints the policy the function would write on an endpoint with
// the policy in the file: the same check, the same template, the same
// rewrite. Its exit status is check's, for the policy given.
func runFix(_ context.Context, env Env, args []string) int {
	flags := newFlagSet("fix", env, fixSynopsis)
	var tf templateFlags
	tf.register(flags)
	tf.registerFile(flags)
	modeFlag := flags.String("mode", string(policy.Subset), "what the function's CHECK_MODE is: subset or exact")
	how := flags.String("rewrite", config.RewriteTemplate, fmt.Sprintf("what the function's REWRITE is: %s (write the template) or %s (keep the policy within the template's bounds)",
		config.RewriteTemplate, config.RewriteNarrow))
	in, err := readPolicyInput(env, flags, &tf, modeFlag, args)
	if err != nil {
		return usageError(env, "fix", err)
	}
	rewrite, err := config.ParseRewrite(*how)
	if err != nil {
		return usageError(env, "fix", fmt.Errorf("--rewrite %q: %w", *how, err))
	}
	file, mode, ref, doc := in.file, in.mode, in.ref, in.doc
	v := policy.Check(doc, ref.Doc, mode, ref.Carries...)
	for _, n := range v.Notes {
		fmt.Fprintf(env.Stderr, "vpce-guard fix: note: %s\n", printable(n))
	}
	if v.Compliant {
		return ExitOK
	}

	written := remediate.Rewrite(doc, ref.Template, rewrite)
	fmt.Fprint(env.Stdout, written.Text)
	if !strings.HasSuffix(written.Text, "\n") {
		fmt.Fprintln(env.Stdout)
	}
	switch written.How {
	case config.RewriteNarrow:
		fmt.Fprintf(env.Stderr, "vpce-guard fix: %s rewritten narrow: its own statements, within the bounds of %s\n", file, ref.title)
	default:
		fmt.Fprintf(env.Stderr, "vpce-guard fix: %s rewritten to %s\n", file, ref.title)
	}
	if written.How == config.RewriteNarrow && mode == policy.Exact {
		fmt.Fprintln(env.Stderr, "vpce-guard fix: in exact mode a narrow rewrite is not the template either: the next check finds it non-compliant again")
	}
	if written.Fallback != "" {
		fmt.Fprintf(env.Stderr, "vpce-guard fix: %s\n", printable(written.Fallback))
	}
	widens := written.Widens(doc, ref.Carries, false)
	if len(widens) == 0 {
		fmt.Fprintf(env.Stderr, "vpce-guard fix: the written policy allows nothing that %s did not\n", file)
		return ExitNegative
	}
	fmt.Fprintf(env.Stderr, "vpce-guard fix: the written policy allows what %s did not (it denies each request below):\n", file)
	for _, w := range widens {
		fmt.Fprintf(env.Stderr, "- %s\n", printable(w.Reason))
		if w.Witness != nil {
			fmt.Fprintf(env.Stderr, "  %s\n", replayCommand(file, *w.Witness))
		}
	}
	return ExitNegative
}
