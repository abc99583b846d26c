package emulator

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// EC2Client is an EC2 client for the emulator at url, in region, with dummy
// credentials and nothing read from the machine's AWS configuration.
func EC2Client(t testing.TB, url, region string) *ec2.Client {
	t.Helper()
	return NewEC2Client(url, region)
}

// NewEC2Client is EC2Client for programs without a testing.TB.
func NewEC2Client(url, region string) *ec2.Client {
	return ec2.NewFromConfig(aws.Config{
		Region:       region,
		BaseEndpoint: aws.String(url),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing", Source: "emulator"}, nil
		}),
	})
}
