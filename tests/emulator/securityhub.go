package emulator

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
)

// SecurityHubClient is a Security Hub client for the emulator at url, in
// region, with dummy credentials and nothing read from the machine's AWS
// configuration.
func SecurityHubClient(t testing.TB, url, region string) *securityhub.Client {
	t.Helper()
	return securityhub.NewFromConfig(aws.Config{
		Region:       region,
		BaseEndpoint: aws.String(url),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing", Source: "emulator"}, nil
		}),
	})
}

// ResolveFindings stands in for BatchUpdateFindings, which moto (5.2.5) does
// not have: every finding the request names is reported processed, and
// nothing changes in moto. The proxy's Requests keep what was asked.
func ResolveFindings() Fault {
	return Fault{Name: "BatchUpdateFindings stand-in", Answer: func(request []byte) (int, []byte) {
		var in struct{ FindingIdentifiers []json.RawMessage }
		if err := json.Unmarshal(request, &in); err != nil {
			body, _ := json.Marshal(map[string]string{"Code": "InvalidInputException", "Message": err.Error()})
			return http.StatusBadRequest, body
		}
		body, _ := json.Marshal(map[string]any{"ProcessedFindings": in.FindingIdentifiers, "UnprocessedFindings": []any{}})
		return http.StatusOK, body
	}}
}
