// Package members reaches the member accounts of an organization from its
// hub: EC2 clients with the credentials of the member role in each account,
// assumed once per account and renewed by the SDK shortly before they expire.
package members

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/vpce-guard/vpce-guard/lambda/remediate"
	"github.com/vpce-guard/vpce-guard/policytemplates"
)

// SessionName names vpce-guard's sessions in the member accounts' CloudTrail.
const SessionName = "vpce-guard"

// Clients gives EC2 clients for member accounts. It is safe for concurrent
// use and meant to be created once per process.
type Clients struct {
	base     aws.Config
	sts      stscreds.AssumeRoleAPIClient
	roleName string

	mu      sync.Mutex
	creds   map[string]*aws.CredentialsCache // by account
	clients map[[2]string]*ec2.Client        // by account and region
}

var _ remediate.Clients = (*Clients)(nil)

// New returns Clients that assume roleName in each account with sts, and
// build EC2 clients from base (its retryer, endpoints and logging).
func New(base aws.Config, sts stscreds.AssumeRoleAPIClient, roleName string) *Clients {
	return &Clients{base: base, sts: sts, roleName: roleName,
		creds: map[string]*aws.CredentialsCache{}, clients: map[[2]string]*ec2.Client{}}
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
	if !policytemplates.IsAccountID(account) {
		return nil, fmt.Errorf("account %q: want 12 digits, to assume the member role there", account)
	}
	if !policytemplates.IsRegion(region) {
		return nil, fmt.Errorf("region %q: not a region name", region)
	}
	creds, client := c.get(account, region)
	if _, err := creds.Retrieve(ctx); err != nil {
		return nil, fmt.Errorf("assume the member role %s of account %s: %w", c.RoleARN(account, region), account, err)
	}
	return client, nil
}

func (c *Clients) get(account, region string) (*aws.CredentialsCache, *ec2.Client) {
	c.mu.Lock()
	defer c.mu.Unlock()
	creds, ok := c.creds[account]
	if !ok {
		creds = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(c.sts, c.RoleARN(account, region),
			func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = SessionName }))
		c.creds[account] = creds
	}
	key := [2]string{account, region}
	client, ok := c.clients[key]
	if !ok {
		cfg := c.base.Copy()
		cfg.Region = region
		cfg.Credentials = creds
		client = ec2.NewFromConfig(cfg)
		c.clients[key] = client
	}
	return creds, client
}
