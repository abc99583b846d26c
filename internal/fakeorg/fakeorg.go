// Package fakeorg is an in-memory AWS Organizations and SQS queue for the
// organization sweep's fast tests: an organization tree of OUs and accounts,
// and a queue that keeps what it was sent and can refuse entries.
package fakeorg

import (
	"context"
	"strconv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Org is an organization: children of each parent (OU or root), and its
// management account. Pages are two items long, to exercise paging.
type Org struct {
	Management string
	OUs        map[string][]string // parent -> child OUs
	Accounts   map[string][]string // parent -> accounts
	Suspended  map[string]bool
}

const pageSize = 2

func page[T any](items []T, token *string) ([]T, *string) {
	start, _ := strconv.Atoi(aws.ToString(token))
	end := min(start+pageSize, len(items))
	if end < len(items) {
		return items[start:end], aws.String(strconv.Itoa(end))
	}
	return items[start:end], nil
}

func (o *Org) DescribeOrganization(context.Context, *organizations.DescribeOrganizationInput, ...func(*organizations.Options)) (*organizations.DescribeOrganizationOutput, error) {
	return &organizations.DescribeOrganizationOutput{Organization: &orgtypes.Organization{MasterAccountId: aws.String(o.Management)}}, nil
}

func (o *Org) ListAccountsForParent(_ context.Context, in *organizations.ListAccountsForParentInput, _ ...func(*organizations.Options)) (*organizations.ListAccountsForParentOutput, error) {
	var accounts []orgtypes.Account
	for _, id := range o.Accounts[aws.ToString(in.ParentId)] {
		state := orgtypes.AccountStateActive
		if o.Suspended[id] {
			state = orgtypes.AccountStateSuspended
		}
		accounts = append(accounts, orgtypes.Account{Id: aws.String(id), State: state})
	}
	items, next := page(accounts, in.NextToken)
	return &organizations.ListAccountsForParentOutput{Accounts: items, NextToken: next}, nil
}

func (o *Org) ListChildren(_ context.Context, in *organizations.ListChildrenInput, _ ...func(*organizations.Options)) (*organizations.ListChildrenOutput, error) {
	var children []orgtypes.Child
	for _, id := range o.OUs[aws.ToString(in.ParentId)] {
		children = append(children, orgtypes.Child{Id: aws.String(id), Type: orgtypes.ChildTypeOrganizationalUnit})
	}
	items, next := page(children, in.NextToken)
	return &organizations.ListChildrenOutput{Children: items, NextToken: next}, nil
}

// Queue keeps the bodies it was sent, in order. Refuse makes it refuse the
// next entries, as SQS does for its own reasons, not the sender's.
type Queue struct {
	mu     sync.Mutex
	bodies []string
	refuse int
	calls  int
}

func (q *Queue) SendMessageBatch(_ context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls++
	out := &sqs.SendMessageBatchOutput{}
	for _, e := range in.Entries {
		if q.refuse > 0 {
			q.refuse--
			out.Failed = append(out.Failed, sqstypes.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InternalError"), SenderFault: false})
			continue
		}
		q.bodies = append(q.bodies, aws.ToString(e.MessageBody))
		out.Successful = append(out.Successful, sqstypes.SendMessageBatchResultEntry{Id: e.Id})
	}
	return out, nil
}

// Refuse makes the queue refuse the next n entries.
func (q *Queue) Refuse(n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.refuse = n
}

// Bodies are the message bodies received so far.
func (q *Queue) Bodies() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]string(nil), q.bodies...)
}

// Calls counts the SendMessageBatch calls.
func (q *Queue) Calls() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.calls
}
