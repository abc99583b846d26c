// Package members reaches the member accounts of an organization from its
// hub: EC2 and Security Hub clients with the credentials of the member role
// in each account, assumed once per account and renewed by the SDK shortly
// before they expire.
package members

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/vpce-guard/vpce-guard/lambda/findings"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
	"github.com/vpce-guard/vpce-guard/lambda/securityhub"
	"github.com/vpce-guard/vpce-guard/policytemplates"
)

// SessionName names vpce-guard's sessions in the member accounts' CloudTrail.
const SessionName = "vpce-guard"

// Clients gives EC2 and Security Hub clients for member accounts. It is
// safe for concurrent use and meant to be created once per process.
type Clients struct {
	base     aws.Config
	sts      stscreds.AssumeRoleAPIClient
	roleName string

	mu    sync.Mutex
	creds map[string]*aws.CredentialsCache  // by account
	ec2s  map[[2]string]*ec2.Client         // by account and region
	hubs  map[[2]string]*securityhub.Client // by account and region
}

var (
	_ remediate.Clients = (*Clients)(nil)
	_ findings.Clients  = (*Clients)(nil)
)

// New returns Clients that assume roleName in each account with sts, and
// build the clients from base (its retryer, endpoints and logging).
func New(base aws.Config, sts stscreds.AssumeRoleAPIClient, roleName string) *Clients {
	return &Clients{base: base, sts: sts, roleName: roleName,
		creds: map[string]*aws.CredentialsCache{}, ec2s: map[[2]string]*ec2.Client{}, hubs: map[[2]string]*securityhub.Client{}}
}

// RoleARN is the member role of account, in region's partition.
func (c *Clients) RoleARN(account, region string) string {
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", policytemplates.PartitionForRegion(region), account, c.roleName)
}

// EC2 returns the client for account in region. The member role is assumed
// here, the first time and whenever its credentials are due, so that a
// missing or refusing role is an error that names the account and the role
// rather than a failure of the first EC2 call.
func (c *Clients) EC2(ctx context.Context, account, region string) (remediate.EC2, error) {
	creds, err := c.assume(ctx, account, region)
	if err != nil {
		return nil, err
	}
	return clientOf(c, c.ec2s, account, region, creds, ec2.NewFromConfig), nil
}

// SecurityHub returns the Security Hub client for account in region, with
// the same credentials as its EC2 client: the default product ARN takes only
// the account's own findings.
func (c *Clients) SecurityHub(ctx context.Context, account, region string) (findings.Client, error) {
	creds, err := c.assume(ctx, account, region)
	if err != nil {
		return nil, err
	}
	return clientOf(c, c.hubs, account, region, creds, securityhub.NewFromConfig), nil
}

// assume returns the member role's credentials in account, retrieved now if
// they are not cached or are due.
func (c *Clients) assume(ctx context.Context, account, region string) (*aws.CredentialsCache, error) {
	if !policytemplates.IsAccountID(account) {
		return nil, fmt.Errorf("account %q: want 12 digits, to assume the member role there", account)
	}
	if !policytemplates.IsRegion(region) {
		return nil, fmt.Errorf("region %q: not a region name", region)
	}
	creds := c.credentials(account, region)
	if _, err := creds.Retrieve(ctx); err != nil {
		return nil, fmt.Errorf("assume the member role %s of account %s: %w", c.RoleARN(account, region), account, err)
	}
	return creds, nil
}

func (c *Clients) credentials(account, region string) *aws.CredentialsCache {
	c.mu.Lock()
	defer c.mu.Unlock()
	creds, ok := c.creds[account]
	if !ok {
		creds = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(c.sts, c.RoleARN(account, region),
			func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = SessionName }))
		c.creds[account] = creds
	}
	return creds
}

// clientOf returns the client of account and region in cache, made with
// build from the base configuration and creds the first time.
func clientOf[T, O any](c *Clients, cache map[[2]string]T, account, region string, creds aws.CredentialsProvider, build func(aws.Config, ...func(O)) T) T {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := [2]string{account, region}
	client, ok := cache[key]
	if !ok {
		cfg := c.base.Copy()
		cfg.Region = region
		cfg.Credentials = creds
		client = build(cfg)
		cache[key] = client
	}
	return client
}
