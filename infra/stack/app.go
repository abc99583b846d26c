package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// StackName is the name of the stack without a fixed region; a stack per
// region adds the region: VpceGuard-eu-west-1.
const StackName = "VpceGuard"

// Build adds to app the stacks its context asks for, and the cdk-nag
// AwsSolutions checks, whose findings are errors that fail the synth. The
// function is built from the Go module at moduleRoot. account, when not
// empty, pins the stacks to that account (the CLI's CDK_DEFAULT_ACCOUNT).
func Build(app awscdk.App, moduleRoot, account string) ([]awscdk.Stack, error) {
	var present []string
	if all, ok := app.Node().GetAllContext(nil).(map[string]any); ok {
		for k := range all {
			present = append(present, k)
		}
	}
	settings, err := SettingsFromContext(func(key string) any {
		return app.Node().TryGetContext(jsii.String(key))
	}, present)
	if err != nil {
		return nil, err
	}

	var stacks []awscdk.Stack
	props := func(region string) *Props {
		p := &Props{Settings: settings, ModuleRoot: moduleRoot}
		p.Description = jsii.String("vpce-guard keeps VPC endpoint policies no broader than a template scoped to the account's own resources")
		if region != "" {
			p.Env = &awscdk.Environment{Region: jsii.String(region)}
			if account != "" {
				p.Env.Account = jsii.String(account)
			}
		}
		return p
	}
	if settings.Organization != nil {
		stacks, err = buildOrganization(app, props)
		if err != nil {
			return nil, err
		}
	} else if len(settings.Regions) == 0 {
		stacks = append(stacks, New(app, StackName, props("")))
	}
	for _, region := range settings.Regions {
		stacks = append(stacks, New(app, StackName+"-"+region, props(region)))
	}
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return stacks, nil
}
