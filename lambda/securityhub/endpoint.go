package securityhub

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// The names the SDK knows Security Hub by.
const (
	// ServiceID is the model's serviceId: the SDK's errors name the service
	// by it, and AWS_ENDPOINT_URL_SECURITYHUB and the services section of the
	// shared config file are keyed by it.
	ServiceID = "SecurityHub"
	// SigningName is the model's signingName, the service of SigV4.
	SigningName = "securityhub"
)

// partition is what the endpoint rules need of a partition.
type partition struct {
	id                 string
	regionRegex        *regexp.Regexp
	dnsSuffix          string
	dualStackDNSSuffix string
	supportsFIPS       bool
	supportsDualStack  bool
}

// partitions is the SDK's partitions data, which it does not export
// (aws-sdk-go-v2 v1.48.0, internal/endpoints/awsrulesfn/partitions.json;
// botocore 1.44.8's data/partitions.json says the same): every partition's
// region pattern, DNS suffixes and FIPS and dual-stack support. No region
// there overrides its partition's values. As in the SDK, a region matching
// no pattern is in aws. The endpoint test compares the result with the
// SDK's resolver for every region of the data.
var partitions = []partition{
	{"aws", regexp.MustCompile(`^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$`), "amazonaws.com", "api.aws", true, true},
	{"aws-cn", regexp.MustCompile(`^cn\-\w+\-\d+$`), "amazonaws.com.cn", "api.amazonwebservices.com.cn", true, true},
	{"aws-eusc", regexp.MustCompile(`^eusc\-(de)\-\w+\-\d+$`), "amazonaws.eu", "api.amazonwebservices.eu", true, true},
	{"aws-iso", regexp.MustCompile(`^us\-iso\-\w+\-\d+$`), "c2s.ic.gov", "api.aws.ic.gov", true, true},
	{"aws-iso-b", regexp.MustCompile(`^us\-isob\-\w+\-\d+$`), "sc2s.sgov.gov", "api.aws.scloud", true, true},
	{"aws-iso-e", regexp.MustCompile(`^eu\-isoe\-\w+\-\d+$`), "cloud.adc-e.uk", "api.cloud-aws.adc-e.uk", true, true},
	{"aws-iso-f", regexp.MustCompile(`^us\-isof\-\w+\-\d+$`), "csp.hci.ic.gov", "api.aws.hci.ic.gov", true, true},
	{"aws-us-gov", regexp.MustCompile(`^us\-gov\-\w+\-\d+$`), "amazonaws.com", "api.aws", true, true},
}

// knownRegions are the regions the SDK's data lists by name, each in its
// partition, whatever the patterns say (the first lookup the SDK makes).
var knownRegions = map[string]string{
	"aws-global": "aws", "aws-cn-global": "aws-cn", "aws-us-gov-global": "aws-us-gov",
	"aws-iso-global": "aws-iso", "aws-iso-b-global": "aws-iso-b", "aws-iso-e-global": "aws-iso-e",
	"aws-iso-f-global": "aws-iso-f",
}

// partitionOf is the SDK's GetPartition: a region the data names, else the
// first partition whose pattern matches, else aws.
func partitionOf(region string) partition {
	id, named := knownRegions[region]
	for _, p := range partitions {
		if (named && p.id == id) || (!named && p.regionRegex.MatchString(region)) {
			return p
		}
	}
	return partitions[0]
}

// EndpointOptions are what the endpoint rules take besides the region.
type EndpointOptions struct {
	// BaseEndpoint is the configured endpoint, or "".
	BaseEndpoint string
	UseFIPS      bool
	UseDualStack bool
}

// Errors of the endpoint rules, in the words of the SDK's rule set (which
// capitalizes them: "Invalid Configuration: ...").
var (
	ErrFIPSWithEndpoint      = errors.New("invalid configuration: FIPS and custom endpoint are not supported")
	ErrDualStackWithEndpoint = errors.New("invalid configuration: Dualstack and custom endpoint are not supported")
	ErrMissingRegion         = errors.New("invalid configuration: Missing Region")
)

// ResolveEndpoint is the SDK's endpoint rule set for Security Hub
// (service/securityhub v1.71.2, endpoints.go; botocore's
// endpoint-rule-set-1.json is the same): the configured endpoint as it is,
// else https://securityhub[-fips].REGION.SUFFIX with the partition's DNS
// suffix, or its dual-stack one.
func ResolveEndpoint(region string, o EndpointOptions) (*url.URL, error) {
	// The SDK checks the region before the rules, an endpoint or not.
	if region != "" && !validHostLabels(region) {
		return nil, fmt.Errorf("invalid input region %s", region)
	}
	if o.BaseEndpoint != "" {
		switch {
		case o.UseFIPS:
			return nil, ErrFIPSWithEndpoint
		case o.UseDualStack:
			return nil, ErrDualStackWithEndpoint
		}
		u, err := url.Parse(o.BaseEndpoint)
		if err != nil {
			return nil, fmt.Errorf("endpoint %q: %w", o.BaseEndpoint, err)
		}
		if u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("endpoint %q: want a URL with a scheme and a host", o.BaseEndpoint)
		}
		return u, nil
	}
	if region == "" {
		return nil, ErrMissingRegion
	}
	p := partitionOf(region)
	host, suffix := SigningName, p.dnsSuffix
	if o.UseFIPS {
		if !p.supportsFIPS {
			return nil, fmt.Errorf("FIPS is enabled but partition %s does not support FIPS", p.id)
		}
		host += "-fips"
	}
	if o.UseDualStack {
		if !p.supportsDualStack {
			return nil, fmt.Errorf("DualStack is enabled but partition %s does not support DualStack", p.id)
		}
		suffix = p.dualStackDNSSuffix
	}
	return &url.URL{Scheme: "https", Host: host + "." + region + "." + suffix}, nil
}

// validHostLabels is the SDK's check of a region (IsValidHostLabel with
// subdomains allowed): dot-separated labels of 1 to 63 letters, digits and
// hyphens, none starting with a hyphen.
func validHostLabels(s string) bool {
	for label := range strings.SplitSeq(s, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' {
			return false
		}
		for _, c := range label {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// The configuration sources' methods the SDK's service clients look for in
// aws.Config.ConfigSources (config.EnvConfig, config.SharedConfig and
// config.LoadOptions have them); the SDK's own interfaces are internal.
type (
	serviceEndpointSource interface {
		GetServiceBaseEndpoint(ctx context.Context, sdkID string) (string, bool, error)
	}
	ignoreEndpointsSource interface {
		GetIgnoreConfiguredEndpoints(ctx context.Context) (bool, bool, error)
	}
	fipsSource interface {
		GetUseFIPSEndpoint(ctx context.Context) (aws.FIPSEndpointState, bool, error)
	}
	dualStackSource interface {
		GetUseDualStackEndpoint(ctx context.Context) (aws.DualStackEndpointState, bool, error)
	}
)

// endpointOptions reads cfg as the SDK's Security Hub client does
// (NewFromConfig's resolveBaseEndpoint, resolveUseFIPSEndpoint,
// resolveUseDualStackEndpoint): BaseEndpoint is cfg.BaseEndpoint
// (AWS_ENDPOINT_URL or the profile's endpoint_url, as config.LoadDefaultConfig
// sets it), replaced by a Security Hub endpoint from the configuration
// sources (AWS_ENDPOINT_URL_SECURITYHUB, then the profile's services section)
// unless AWS_ENDPOINT_URL is set without AWS_ENDPOINT_URL_SECURITYHUB, or
// configured endpoints are ignored (AWS_IGNORE_CONFIGURED_ENDPOINT_URLS).
// lookupEnv is os.LookupEnv but in tests.
func endpointOptions(cfg aws.Config, lookupEnv func(string) (string, bool)) (EndpointOptions, error) {
	ctx := context.Background() // what the SDK passes: the sources answer from memory
	var o EndpointOptions
	if cfg.BaseEndpoint != nil {
		o.BaseEndpoint = *cfg.BaseEndpoint
	}
	_, global := lookupEnv("AWS_ENDPOINT_URL")
	_, own := lookupEnv("AWS_ENDPOINT_URL_" + strings.ToUpper(ServiceID))
	if !global || own {
		if v, found := serviceEndpoint(ctx, cfg.ConfigSources); found {
			o.BaseEndpoint = v
		}
	}
	for _, s := range cfg.ConfigSources {
		if p, ok := s.(fipsSource); ok {
			v, found, err := p.GetUseFIPSEndpoint(ctx)
			if err != nil {
				return o, err
			}
			if found {
				o.UseFIPS = v == aws.FIPSEndpointStateEnabled
				break
			}
		}
	}
	for _, s := range cfg.ConfigSources {
		if p, ok := s.(dualStackSource); ok {
			v, found, err := p.GetUseDualStackEndpoint(ctx)
			if err != nil {
				return o, err
			}
			if found {
				o.UseDualStack = v == aws.DualStackEndpointStateEnabled
				break
			}
		}
	}
	return o, nil
}

// serviceEndpoint is the SDK's ResolveServiceBaseEndpoint for Security Hub.
func serviceEndpoint(ctx context.Context, sources []any) (string, bool) {
	for _, s := range sources {
		if p, ok := s.(ignoreEndpointsSource); ok {
			ignore, found, err := p.GetIgnoreConfiguredEndpoints(ctx)
			if found && ignore && err == nil {
				return "", false
			}
			if found || err != nil {
				break
			}
		}
	}
	for _, s := range sources {
		if p, ok := s.(serviceEndpointSource); ok {
			v, found, err := p.GetServiceBaseEndpoint(ctx, ServiceID)
			if err != nil {
				return "", false
			}
			if found {
				return v, true
			}
		}
	}
	return "", false
}

// operationURL is the operation's path on the endpoint, joined as the SDK
// joins them.
func operationURL(endpoint *url.URL, path string) *url.URL {
	u := *endpoint
	u.Path = smithyhttp.JoinPath(u.Path, path)
	if u.RawPath != "" {
		u.RawPath = smithyhttp.JoinPath(u.RawPath, path)
	}
	return &u
}
