package stack

import (
	"maps"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
)

// untouchedFindingFields are the fields of a finding vpce-guard never
// updates with BatchUpdateFindings: the role may resolve a finding and leave
// a note, and change nothing a person decides (severity, verification,
// their own fields). Each is a securityhub:ASFFSyntaxPath/FIELD condition
// key of the Service Authorization Reference.
var untouchedFindingFields = []string{
	"Confidence", "Criticality", "RelatedFindings.Id", "RelatedFindings.ProductArn",
	"Severity.Label", "Severity.Normalized", "Severity.Product", "Types", "UserDefinedFields", "VerificationState",
}

// findingsStatements let a role import its own account's findings under the
// account's default product ARN in region (${AWS::Region}, or * for the
// member role, which every region's hub uses), and, unless in dry-run mode,
// set the findings of rewritten endpoints to RESOLVED. condition, when not
// nil, is added to both: the function's own credentials only.
//
// BatchImportFindings takes the product as its resource and
// securityhub:TargetAccount (the findings' AwsAccountId) as a condition;
// BatchUpdateFindings takes the account's hub, and its fields as conditions.
func findingsStatements(s Settings, region string, condition *map[string]any) []awsiam.PolicyStatement {
	account := *awscdk.Aws_ACCOUNT_ID()
	with := func(c map[string]any) *map[string]any {
		if condition != nil {
			maps.Copy(c, *condition)
		}
		return &c
	}
	untouched := map[string]any{}
	for _, field := range untouchedFindingFields {
		untouched["securityhub:ASFFSyntaxPath/"+field] = "true"
	}
	statements := []awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:     jsii.String("ImportOwnFindings"),
		Effect:  awsiam.Effect_ALLOW,
		Actions: jsii.Strings("securityhub:BatchImportFindings"),
		Resources: &[]*string{awscdk.Fn_Sub(jsii.String(
			"arn:${AWS::Partition}:securityhub:"+region+":${AWS::AccountId}:product/${AWS::AccountId}/default"), nil)},
		Conditions: with(map[string]any{"StringEquals": map[string]any{"securityhub:TargetAccount": account}}),
	})}
	if s.DryRun {
		return statements // nothing is rewritten, nothing resolved
	}
	return append(statements, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ResolveRewrittenFindings"),
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("securityhub:BatchUpdateFindings"),
		Resources: &[]*string{awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:securityhub:"+region+":${AWS::AccountId}:hub/default"), nil)},
		Conditions: with(map[string]any{
			"StringEquals": map[string]any{"securityhub:ASFFSyntaxPath/Workflow.Status": "RESOLVED"},
			"Null":         untouched,
		}),
	}))
}
