package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/vpce-guard/vpce-guard/lambda/policy"
	"github.com/vpce-guard/vpce-guard/policytemplates"
)

const checkSynopsis = "--service logs --account ID --region REGION [--partition P] [--log-group PATTERN]... [--also-account ID]... [--organization o-ID [--tag-exception]] [--mode subset|exact] [--json] POLICY_FILE\n" +
	"       vpce-guard check --template FILE [--service S] [--mode subset|exact] [--json] POLICY_FILE"

func runCheck(_ context.Context, env Env, args []string) int {
	flags := newFlagSet("check", env, checkSynopsis)
	var tf templateFlags
	tf.register(flags)
	tf.registerFile(flags)
	modeFlag := flags.String("mode", string(policy.Subset), "subset: allow nothing beyond the template; exact: be the template, up to formatting")
	asJSON := flags.Bool("json", false, "print the verdict as one JSON object, notes included")
	in, err := readPolicyInput(env, flags, &tf, modeFlag, args)
	if err != nil {
		return usageError(env, "check", err)
	}
	file, mode, ref := in.file, in.mode, in.ref
	v := policy.Check(in.doc, ref.Doc, mode, ref.Carries...)
	code := ExitNegative
	if v.Compliant {
		code = ExitOK
	}
	if *asJSON {
		if err := writeVerdict(env.Stdout, v); err != nil {
			fmt.Fprintf(env.Stderr, "vpce-guard check: %v\n", err)
			return ExitError
		}
		return code
	}
	for _, n := range v.Notes {
		fmt.Fprintf(env.Stderr, "vpce-guard check: note: %s\n", printable(n))
	}
	if v.Compliant {
		fmt.Fprintf(env.Stdout, "compliant: %s allows nothing beyond %s (%s mode)\n", file, ref.title, mode)
		return code
	}
	fmt.Fprintf(env.Stdout, "noncompliant: %s against %s (%s mode):\n", file, ref.title, mode)
	for _, r := range v.Reasons {
		fmt.Fprintf(env.Stdout, "- %s\n", printable(r))
	}
	switch v.Proof {
	case policy.ProofWitness:
		fmt.Fprintf(env.Stdout, "proof: witness: %s allows each request below, %s denies it:\n", file, ref.title)
	case policy.ProofUnproven:
		fmt.Fprintln(env.Stdout, "proof: unproven: no request was found that shows it, and the check cannot rule one out")
	}
	for _, w := range v.Witnesses {
		fmt.Fprintf(env.Stdout, "  %s\n", replayCommand(file, w))
	}
	return code
}

// unreplayable says why simulate cannot be given w's context, if it cannot:
// --context KEY=VALUE ends the key at the first =, and a tag key may hold one.
func unreplayable(w policy.Witness) string {
	for _, key := range slices.Sorted(maps.Keys(w.Context)) {
		if strings.Contains(key, "=") {
			return fmt.Sprintf("the condition key %s holds an =, which --context cannot take", shellQuote(key))
		}
	}
	return ""
}

// readPolicy reads and parses the policy file name.
// policyInput is what check and fix read: the policy file, parsed, the
// check mode, and what the policy is held to.
type policyInput struct {
	file string
	doc  *policy.Document
	mode policy.Mode
	ref  reference
}

// readPolicyInput parses args with flags, which hold tf's flags and
// --template, and reads the one policy file and its reference. mode is
// read after parsing, through the pointer --mode fills.
func readPolicyInput(env Env, flags *flag.FlagSet, tf *templateFlags, mode *string, args []string) (policyInput, error) {
	files, err := parseArgs(flags, args)
	if err != nil {
		return policyInput{}, err
	}
	if len(files) != 1 {
		return policyInput{}, errors.New("give exactly one POLICY_FILE (or - for standard input)")
	}
	in := policyInput{file: files[0]}
	if in.mode, err = policy.ParseMode(*mode); err != nil {
		return policyInput{}, fmt.Errorf("--mode: %w", err)
	}
	if in.ref, err = tf.reference(env, flags, in.file); err != nil {
		return policyInput{}, err
	}
	if in.doc, err = readPolicy(env, in.file); err != nil {
		return policyInput{}, err
	}
	return in, nil
}

func readPolicy(env Env, name string) (*policy.Document, error) {
	data, err := readInput(env, name)
	if err != nil {
		return nil, err
	}
	doc, err := policy.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return doc, nil
}

// verdictJSON is check --json's object: lists are never null, nor is a
// witness's context, so that a reader need not tell null from empty.
type verdictJSON struct {
	Compliant bool             `json:"compliant"`
	Proof     policy.Proof     `json:"proof"`
	Reasons   []string         `json:"reasons"`
	Witnesses []policy.Witness `json:"witnesses"`
	Notes     []string         `json:"notes"`
}

func writeVerdict(w io.Writer, v policy.Verdict) error {
	out := verdictJSON{
		Compliant: v.Compliant, Proof: v.Proof,
		Reasons:   append([]string{}, v.Reasons...),
		Witnesses: make([]policy.Witness, len(v.Witnesses)),
		Notes:     append([]string{}, v.Notes...),
	}
	for i, wit := range v.Witnesses {
		wit.Context = maps.Clone(wit.Context)
		if wit.Context == nil {
			wit.Context = map[string][]string{}
		}
		for key, values := range wit.Context {
			if values == nil {
				wit.Context[key] = []string{}
			}
		}
		out.Witnesses[i] = wit
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

// replayCommand is the simulate command line that replays w against the
// policy in file. Every part of a witness may come from the policy, which
// anyone may have written, so every argument is quoted for the shell.
func replayCommand(file string, w policy.Witness) string {
	args := append([]string{"vpce-guard", "simulate"}, simulateArgs(file, w)...)
	quoted := make([]string, len(args))
	for i, arg := range args {
		quoted[i] = shellQuote(arg)
	}
	line := strings.Join(quoted, " ")
	if why := unreplayable(w); why != "" {
		return "# " + line + " # not replayable: " + why
	}
	return line
}

// simulateArgs are the arguments of simulate that replay w against the
// policy in file: the context's keys in order, an account ID as
// --principal-account, nothing for an anonymous caller.
func simulateArgs(file string, w policy.Witness) []string {
	args := []string{"--policy", file, "--action", w.Action, "--resource", w.Resource}
	switch {
	case w.Principal == "": // an anonymous caller
	case policytemplates.IsAccountID(w.Principal):
		args = append(args, "--principal-account", w.Principal)
	default:
		args = append(args, "--principal", w.Principal)
	}
	for _, key := range slices.Sorted(maps.Keys(w.Context)) {
		for _, value := range w.Context[key] {
			args = append(args, "--context", key+"="+value)
		}
	}
	return args
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
