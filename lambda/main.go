// Command vpce-guard keeps VPC endpoint policies no broader than a template
// scoped to the account's own resources. It is one binary: the command line,
// and (from the remediation issue on) the Lambda function.
package main

import (
	"context"
	"os"

	"github.com/vpce-guard/vpce-guard/lambda/cli"
)

func main() {
	os.Exit(cli.Run(context.Background(), cli.OSEnv(), os.Args[1:]))
}
