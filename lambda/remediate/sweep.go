package remediate

import (
	"context"
	"errors"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// pageSize is the most endpoints DescribeVpcEndpoints returns per page.
const pageSize = 1000

// Sweep checks every endpoint of the region, from the state the listing
// returned (no second Describe), with at most cfg.SweepConcurrency endpoints
// being checked and written at once. A listing that fails part way still
// checks the endpoints listed so far.
func (r *Remediator) Sweep(ctx context.Context, origin Origin) ([]Outcome, error) {
	pages := ec2.NewDescribeVpcEndpointsPaginator(r.ec2, &ec2.DescribeVpcEndpointsInput{},
		func(o *ec2.DescribeVpcEndpointsPaginatorOptions) { o.Limit = pageSize })
	slots := make(chan struct{}, max(1, r.cfg.SweepConcurrency))
	var wg sync.WaitGroup
	var results [][]Outcome
	var failures [][]error
	var listErr error

list:
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			listErr = awsError("list vpc endpoints", "ec2:DescribeVpcEndpoints", err)
			break
		}
		// Each goroutine writes its own element of a slice made for its page,
		// so results need no lock.
		outcomes := make([]Outcome, len(page.VpcEndpoints))
		errs := make([]error, len(page.VpcEndpoints))
		results, failures = append(results, outcomes), append(failures, errs)
		for i, e := range page.VpcEndpoints {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				listErr = ctx.Err()
				results[len(results)-1] = outcomes[:i]
				break list
			}
			wg.Go(func() {
				defer func() { <-slots }()
				outcomes[i], errs[i] = r.check(ctx, e, origin)
			})
		}
	}
	wg.Wait()

	var all []Outcome
	allErrs := []error{listErr}
	for i := range results {
		all = append(all, results[i]...)
		allErrs = append(allErrs, failures[i]...)
	}
	return all, errors.Join(allErrs...)
}
