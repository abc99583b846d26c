package fanout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Organizations is the part of the AWS Organizations API the sweep uses.
// *organizations.Client implements it.
type Organizations interface {
	organizations.ListAccountsForParentAPIClient
	organizations.ListChildrenAPIClient
	DescribeOrganization(ctx context.Context, in *organizations.DescribeOrganizationInput, optFns ...func(*organizations.Options)) (*organizations.DescribeOrganizationOutput, error)
}

// Queue is the part of the SQS API the sweep uses. *sqs.Client implements it.
type Queue interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

var (
	_ Organizations = (*organizations.Client)(nil)
	_ Queue         = (*sqs.Client)(nil)
)

// Targets are what an organization's sweep covers: the accounts of OUs (and
// of the OUs nested in them), or a list of accounts, in each region.
type Targets struct {
	OUs      []string
	Accounts []string
	Regions  []string
}

// Accounts lists the active accounts of the targets, sorted: Targets.Accounts
// as given, or every account below Targets.OUs, less the organization's
// management account, where StackSets put no member role.
func Accounts(ctx context.Context, org Organizations, t Targets) ([]string, error) {
	if len(t.OUs) == 0 {
		accounts := slices.Clone(t.Accounts)
		slices.Sort(accounts)
		return slices.Compact(accounts), nil
	}
	desc, err := org.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		return nil, fmt.Errorf("describe the organization: %w", err)
	}
	management := ""
	if desc.Organization != nil {
		management = aws.ToString(desc.Organization.MasterAccountId)
	}
	var accounts []string
	seen := map[string]bool{}
	queue := slices.Clone(t.OUs)
	for len(queue) > 0 {
		parent := queue[0]
		queue = queue[1:]
		if seen[parent] {
			continue
		}
		seen[parent] = true
		pages := organizations.NewListAccountsForParentPaginator(org, &organizations.ListAccountsForParentInput{ParentId: aws.String(parent)})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list the accounts of %s: %w", parent, err)
			}
			for _, a := range page.Accounts {
				if active(a) && aws.ToString(a.Id) != management {
					accounts = append(accounts, aws.ToString(a.Id))
				}
			}
		}
		children := organizations.NewListChildrenPaginator(org, &organizations.ListChildrenInput{
			ParentId: aws.String(parent), ChildType: orgtypes.ChildTypeOrganizationalUnit})
		for children.HasMorePages() {
			page, err := children.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list the OUs in %s: %w", parent, err)
			}
			for _, c := range page.Children {
				queue = append(queue, aws.ToString(c.Id))
			}
		}
	}
	slices.Sort(accounts)
	return slices.Compact(accounts), nil
}

// active reads an account's state from the field Organizations fills today
// (State) or the one it is retiring (Status).
func active(a orgtypes.Account) bool {
	if a.State != "" {
		return a.State == orgtypes.AccountStateActive
	}
	return a.Status == "" || a.Status == orgtypes.AccountStatusActive
}

// maxBatch is the most messages one SendMessageBatch takes.
const maxBatch = 10

// Send queues units, ten to a call, and returns how many were queued. The
// units of a batch that SQS refuses for its own reasons are sent once more;
// the error names those refused twice, or for the request's fault.
func Send(ctx context.Context, queue Queue, queueURL string, units []Unit) (int, error) {
	sent := 0
	var refused []string
	for start := 0; start < len(units); start += maxBatch {
		batch := units[start:min(start+maxBatch, len(units))]
		for attempt := 0; len(batch) > 0; attempt++ {
			ok, again, faults, err := sendBatch(ctx, queue, queueURL, batch)
			sent += ok
			if err != nil {
				return sent, err
			}
			refused = append(refused, faults...)
			if attempt == 1 {
				for _, u := range again {
					refused = append(refused, fmt.Sprintf("%s/%s", u.Account, u.Region))
				}
				break
			}
			batch = again
		}
	}
	if len(refused) > 0 {
		return sent, errors.New("SQS refused the sweep units " + strings.Join(refused, "; "))
	}
	return sent, nil
}

// sendBatch sends at most ten units. again are those worth another try;
// faults name those refused for the request's fault.
func sendBatch(ctx context.Context, queue Queue, queueURL string, batch []Unit) (ok int, again []Unit, faults []string, err error) {
	entries := make([]sqstypes.SendMessageBatchRequestEntry, len(batch))
	for i, u := range batch {
		body, err := json.Marshal(u)
		if err != nil {
			return 0, nil, nil, err
		}
		entries[i] = sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(body))}
	}
	out, err := queue.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: entries})
	if err != nil {
		return 0, nil, nil, fmt.Errorf("queue sweep units: %w", err)
	}
	for _, f := range out.Failed {
		i, err := strconv.Atoi(aws.ToString(f.Id))
		if err != nil || i < 0 || i >= len(batch) {
			return len(out.Successful), nil, nil, fmt.Errorf("queue sweep units: SQS answered for an entry it was not sent: %q", aws.ToString(f.Id))
		}
		if f.SenderFault {
			faults = append(faults, fmt.Sprintf("%s/%s: %s %s", batch[i].Account, batch[i].Region, aws.ToString(f.Code), aws.ToString(f.Message)))
		} else {
			again = append(again, batch[i])
		}
	}
	return len(out.Successful), again, faults, nil
}

// Plan is one unit per account and region, accounts first.
func Plan(accounts, regions []string) []Unit {
	units := make([]Unit, 0, len(accounts)*len(regions))
	for _, a := range accounts {
		for _, r := range regions {
			units = append(units, Unit{Account: a, Region: r})
		}
	}
	return units
}
