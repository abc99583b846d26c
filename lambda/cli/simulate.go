package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vpce-guard/vpce-guard/lambda/policy"
)

const simulateSynopsis = "--policy FILE --action ACTION --resource ARN [--principal-account ID | --principal ARN] [--context KEY=VALUE]..."

func runSimulate(_ context.Context, env Env, args []string) int {
	flags := newFlagSet("simulate", env, simulateSynopsis)
	file := flags.String("policy", "", "the policy file (- for standard input)")
	action := flags.String("action", "", "the action, e.g. logs:PutLogEvents")
	resource := flags.String("resource", "", "the resource ARN")
	account := flags.String("principal-account", "", "the caller's account ID")
	principal := flags.String("principal", "", "the caller's ARN (instead of --principal-account)")
	var contextPairs stringList
	flags.Var(&contextPairs, "context", "a condition key and its value, KEY=VALUE (repeatable; repeat a key for several values)")
	rest, err := parseArgs(flags, args)
	switch {
	case err != nil:
		return usageError(env, "simulate", err)
	case len(rest) > 0:
		return usageError(env, "simulate", fmt.Errorf("unexpected argument %q", rest[0]))
	case *file == "" || *action == "" || *resource == "":
		return usageError(env, "simulate", errors.New("--policy, --action and --resource are required"))
	case *account != "" && *principal != "":
		return usageError(env, "simulate", errors.New("give --principal-account or --principal, not both"))
	}
	req := policy.Request{Principal: *principal, Action: *action, Resource: *resource, Context: map[string][]string{}}
	if *account != "" {
		req.Principal = *account
	}
	for _, pair := range contextPairs {
		key, value, ok := strings.Cut(pair, "=")
		if !ok || key == "" {
			return usageError(env, "simulate", fmt.Errorf("--context %q: want KEY=VALUE", pair))
		}
		req.Context[key] = append(req.Context[key], value)
	}
	data, err := readInput(env, *file)
	if err != nil {
		return usageError(env, "simulate", err)
	}
	doc, err := policy.Parse(data)
	if err != nil {
		return usageError(env, "simulate", fmt.Errorf("%s: %w", *file, err))
	}
	d, err := doc.Evaluate(req)
	if err != nil {
		return usageError(env, "simulate", fmt.Errorf("%s: %w", *file, err))
	}
	fmt.Fprintln(env.Stdout, d)
	if d.Allowed {
		return ExitOK
	}
	return ExitNegative
}
