// Command infra is vpce-guard's AWS CDK app: `cdk synth` and `cdk deploy` run
// it (see cdk.json). It makes one stack per region listed in the context key
// "regions", or one stack for the CLI's default region.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/vpce-guard/vpce-guard/infra/stack"
)

func main() {
	code := run()
	jsii.Close()
	os.Exit(code)
}

func run() (code int) {
	// jsii reports a failure inside CDK, such as a function that does not
	// build, as a panic: print it as the error it is.
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "vpce-guard infra: %v\n", r)
			code = 1
		}
	}()
	root, err := stack.ModuleRoot(".")
	if err != nil {
		fmt.Fprintf(os.Stderr, "vpce-guard infra: %v\n", err)
		return 1
	}
	app := awscdk.NewApp(nil)
	if _, err := stack.Build(app, root, os.Getenv("CDK_DEFAULT_ACCOUNT")); err != nil {
		fmt.Fprintf(os.Stderr, "vpce-guard infra: invalid context:\n%v\n", err)
		return 1
	}
	app.Synth(nil)
	return 0
}
