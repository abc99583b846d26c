package securityhub

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	sdk "github.com/aws/aws-sdk-go-v2/service/securityhub"
)

// regions are every region of the SDK's partitions data, and a few it does
// not name.
var regions = []string{
	"af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-south-2",
	"ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
	"ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2",
	"eu-west-3", "il-central-1", "me-central-1", "me-south-1", "me-west-1", "mx-central-1", "sa-east-1", "sa-west-1", "us-east-1",
	"us-east-2", "us-west-1", "us-west-2", "aws-global",
	"cn-north-1", "cn-northwest-1", "aws-cn-global",
	"eusc-de-east-1",
	"us-iso-east-1", "us-iso-west-1", "aws-iso-global",
	"us-isob-east-1", "us-isob-west-1", "aws-iso-b-global",
	"eu-isoe-west-1", "aws-iso-e-global",
	"us-isof-east-1", "us-isof-south-1", "aws-iso-f-global",
	"us-gov-east-1", "us-gov-west-1", "aws-us-gov-global",
	// Not in the data: by pattern, or aws.
	"cn-south-7", "us-gov-north-3", "us-isob-north-2", "eusc-de-west-2", "eusc-fr-east-1", "xx-central-1", "local",
}

// Every region, with and without FIPS and dual-stack, and a configured
// endpoint with each: the SDK's Security Hub resolver's answer.
func TestResolveEndpointIsTheSDKs(t *testing.T) {
	t.Parallel()
	resolver := sdk.NewDefaultEndpointResolverV2()
	for _, region := range append(regions, "") {
		for _, endpoint := range []string{"", "http://127.0.0.1:5000/base"} {
			for _, fips := range []bool{false, true} {
				for _, dualStack := range []bool{false, true} {
					params := sdk.EndpointParameters{Region: aws.String(region), UseFIPS: aws.Bool(fips), UseDualStack: aws.Bool(dualStack)}
					if region == "" {
						params.Region = nil
					}
					if endpoint != "" {
						params.Endpoint = aws.String(endpoint)
					}
					want, wantErr := resolver.ResolveEndpoint(t.Context(), params)
					got, err := ResolveEndpoint(region, EndpointOptions{BaseEndpoint: endpoint, UseFIPS: fips, UseDualStack: dualStack})
					if (err != nil) != (wantErr != nil) || (err == nil && got.String() != want.URI.String()) {
						t.Errorf("region %q, endpoint %q, FIPS %v, dual-stack %v: %v, %v; the SDK's %v, %v",
							region, endpoint, fips, dualStack, got, err, want.URI.String(), wantErr)
					}
				}
			}
		}
	}
}

// Each partition's endpoint, spelled out.
func TestResolveEndpointPerPartition(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		region          string
		fips            bool
		dualStack       bool
		want            string
		partitionPrefix string
	}{
		{region: "eu-west-1", want: "https://securityhub.eu-west-1.amazonaws.com"},
		{region: "us-east-1", fips: true, want: "https://securityhub-fips.us-east-1.amazonaws.com"},
		{region: "us-east-1", dualStack: true, want: "https://securityhub.us-east-1.api.aws"},
		{region: "cn-north-1", want: "https://securityhub.cn-north-1.amazonaws.com.cn"},
		{region: "cn-northwest-1", dualStack: true, want: "https://securityhub.cn-northwest-1.api.amazonwebservices.com.cn"},
		{region: "us-gov-west-1", want: "https://securityhub.us-gov-west-1.amazonaws.com"},
		{region: "us-gov-west-1", fips: true, want: "https://securityhub-fips.us-gov-west-1.amazonaws.com"},
		{region: "us-iso-east-1", want: "https://securityhub.us-iso-east-1.c2s.ic.gov"},
		{region: "us-isob-east-1", want: "https://securityhub.us-isob-east-1.sc2s.sgov.gov"},
		{region: "eu-isoe-west-1", want: "https://securityhub.eu-isoe-west-1.cloud.adc-e.uk"},
		{region: "us-isof-south-1", want: "https://securityhub.us-isof-south-1.csp.hci.ic.gov"},
		{region: "eusc-de-east-1", want: "https://securityhub.eusc-de-east-1.amazonaws.eu"},
		{region: "eusc-de-east-1", fips: true, dualStack: true, want: "https://securityhub-fips.eusc-de-east-1.api.amazonwebservices.eu"},
	} {
		got, err := ResolveEndpoint(tt.region, EndpointOptions{UseFIPS: tt.fips, UseDualStack: tt.dualStack})
		if err != nil || got.String() != tt.want {
			t.Errorf("%s (FIPS %v, dual-stack %v): %v, %v; want %s", tt.region, tt.fips, tt.dualStack, got, err, tt.want)
		}
	}
	for _, tt := range []struct {
		region string
		o      EndpointOptions
		want   error
	}{
		{"eu-west-1", EndpointOptions{BaseEndpoint: "http://localhost:5000", UseFIPS: true}, ErrFIPSWithEndpoint},
		{"eu-west-1", EndpointOptions{BaseEndpoint: "http://localhost:5000", UseDualStack: true}, ErrDualStackWithEndpoint},
		{"", EndpointOptions{}, ErrMissingRegion},
	} {
		if _, err := ResolveEndpoint(tt.region, tt.o); err != tt.want {
			t.Errorf("%q %+v: %v, want %v", tt.region, tt.o, err, tt.want)
		}
	}
	for _, region := range []string{"eu west 1", "-eu-west-1", "eu-west-1/..", "eu-west-1.."} {
		if got, err := ResolveEndpoint(region, EndpointOptions{}); err == nil {
			t.Errorf("region %q: %v, want an error", region, got)
		}
	}
}

// endpointEnv are the variables that decide an endpoint: a case sets its
// own, the others are unset.
var endpointEnv = []string{
	"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECURITYHUB", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
	"AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
	"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_DEFAULTS_MODE",
}

// The configuration as config.LoadDefaultConfig loads it from the
// environment and the shared config file, read by NewFromConfig and by the
// SDK's client: the same endpoint, or both refuse. Not parallel: it sets the
// process's environment.
func TestEndpointOfTheConfig(t *testing.T) {
	dir := t.TempDir()
	services := filepath.Join(dir, "services")
	writeFile(t, services, "[default]\nservices = local\n[services local]\nsecurityhub =\n  endpoint_url = http://127.0.0.1:4002\n")
	global := filepath.Join(dir, "global")
	writeFile(t, global, "[default]\nendpoint_url = http://127.0.0.1:4003\n")
	empty := filepath.Join(dir, "empty")
	writeFile(t, empty, "")
	for _, tt := range []struct {
		name string
		env  map[string]string
		want string // "" for an error
	}{
		{"the region's", map[string]string{}, "https://securityhub.eu-west-1.amazonaws.com"},
		{"AWS_ENDPOINT_URL", map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:4000"}, "http://127.0.0.1:4000"},
		{"AWS_ENDPOINT_URL_SECURITYHUB", map[string]string{"AWS_ENDPOINT_URL_SECURITYHUB": "http://127.0.0.1:4001/hub"}, "http://127.0.0.1:4001/hub"},
		{"AWS_ENDPOINT_URL_SECURITYHUB over AWS_ENDPOINT_URL", map[string]string{
			"AWS_ENDPOINT_URL": "http://127.0.0.1:4000", "AWS_ENDPOINT_URL_SECURITYHUB": "http://127.0.0.1:4001"}, "http://127.0.0.1:4001"},
		{"the services section", map[string]string{"AWS_CONFIG_FILE": services}, "http://127.0.0.1:4002"},
		// The SDK's order: AWS_ENDPOINT_URL alone passes over the file's
		// services section.
		{"AWS_ENDPOINT_URL over the services section", map[string]string{"AWS_CONFIG_FILE": services, "AWS_ENDPOINT_URL": "http://127.0.0.1:4000"}, "http://127.0.0.1:4000"},
		{"the profile's endpoint_url", map[string]string{"AWS_CONFIG_FILE": global}, "http://127.0.0.1:4003"},
		{"configured endpoints ignored", map[string]string{"AWS_ENDPOINT_URL_SECURITYHUB": "http://127.0.0.1:4001", "AWS_ENDPOINT_URL": "http://127.0.0.1:4000",
			"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, "https://securityhub.eu-west-1.amazonaws.com"},
		{"FIPS", map[string]string{"AWS_USE_FIPS_ENDPOINT": "true", "AWS_REGION": "us-gov-west-1"}, "https://securityhub-fips.us-gov-west-1.amazonaws.com"},
		{"dual-stack", map[string]string{"AWS_USE_DUALSTACK_ENDPOINT": "true", "AWS_REGION": "cn-north-1"}, "https://securityhub.cn-north-1.api.amazonwebservices.com.cn"},
		{"FIPS and an endpoint", map[string]string{"AWS_USE_FIPS_ENDPOINT": "true", "AWS_ENDPOINT_URL": "http://127.0.0.1:4000"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range endpointEnv {
				t.Setenv(k, "") // restored after the test
				if err := os.Unsetenv(k); err != nil {
					t.Fatal(err)
				}
			}
			t.Setenv("AWS_CONFIG_FILE", empty)
			t.Setenv("AWS_SHARED_CREDENTIALS_FILE", empty)
			t.Setenv("AWS_REGION", "eu-west-1")
			t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
			t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
			t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			cfg, err := config.LoadDefaultConfig(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			got, err := NewFromConfig(cfg).Endpoint()
			sdkURL, sdkErr := sdkEndpoint(t.Context(), cfg)
			if (err != nil) != (sdkErr != nil) || (err == nil && got.String() != sdkURL) {
				t.Errorf("%v, %v; the SDK's client: %s, %v", got, err, sdkURL, sdkErr)
			}
			if tt.want == "" && err == nil {
				t.Errorf("%v, want an error", got)
			}
			if tt.want != "" && (err != nil || got.String() != tt.want) {
				t.Errorf("%v, %v; want %s", got, err, tt.want)
			}
		})
	}
}

// sdkEndpoint is the endpoint the SDK's Security Hub client of cfg resolves.
func sdkEndpoint(ctx context.Context, cfg aws.Config) (string, error) {
	o := sdk.NewFromConfig(cfg).Options()
	params := sdk.EndpointParameters{
		Region:       aws.String(o.Region),
		Endpoint:     o.BaseEndpoint,
		UseFIPS:      aws.Bool(o.EndpointOptions.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled),
		UseDualStack: aws.Bool(o.EndpointOptions.UseDualStackEndpoint == aws.DualStackEndpointStateEnabled),
	}
	e, err := o.EndpointResolverV2.ResolveEndpoint(ctx, params)
	if err != nil {
		return "", err
	}
	return e.URI.String(), nil
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
