package remediate

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpce-guard/vpce-guard/policytemplates"
)

// pageSize is the most endpoints DescribeVpcEndpoints returns per page.
const pageSize = 1000

// maxPendingWrites bounds the writes a sweep has taken a turn for but not yet
// made: each holds its endpoint's outcome and policy (up to 20 KB), so that a
// sweep over thousands of broad policies stays in a small function's memory.
// At the default pace a thousand writes are eight minutes of work.
const maxPendingWrites = 1000

// Sweep checks every endpoint of the guarded services in the region, from
// the state the listing returned (no second Describe), and gives each
// outcome to run.Record as soon as it is known. Checks go as fast as the CPU
// allows; the writes they call for are paced (MaxWritesPerSecond), at most
// cfg.SweepConcurrency in flight, so that a first enforcing sweep over
// thousands of endpoints leaves room for everyone else's EC2 calls.
//
// An endpoint that fails is reported in its outcome and does not fail the
// sweep: the next sweep tries it again. The error is set only when listing
// the endpoints failed, after the endpoints listed so far were handled. At
// the run's cutoff the sweep stops: endpoints listed but not yet checked, and
// writes whose turn would come too late, get an outcome saying so, and pages
// not yet listed are left to the next sweep (Result.Unlisted), which finds
// the endpoints rewritten this time compliant and goes on from there.
func (r *Remediator) Sweep(ctx context.Context, origin Origin, run Run) (Result, error) {
	run = run.serialized()
	pages := ec2.NewDescribeVpcEndpointsPaginator(r.ec2, r.listInput(),
		func(o *ec2.DescribeVpcEndpointsPaginatorOptions) { o.Limit = pageSize })
	inFlight := make(chan struct{}, max(1, r.cfg.SweepConcurrency))
	pending := make(chan struct{}, maxPendingWrites)
	var wg sync.WaitGroup
	var stopped atomic.Bool
	var res Result
	var listErr error

	for pages.HasMorePages() {
		if run.late() {
			res.Unlisted = true
			stopped.Store(true)
			break
		}
		page, err := pages.NextPage(ctx)
		if err != nil {
			listErr = awsError("list vpc endpoints", "ec2:DescribeVpcEndpoints", err)
			break
		}
		for _, e := range page.VpcEndpoints {
			if run.late() {
				stopped.Store(true)
				o := r.notChecked(origin, aws.ToString(e.VpcEndpointId), aws.ToString(e.OwnerId))
				o.ServiceName = aws.ToString(e.ServiceName)
				run.record(o)
				continue
			}
			d := r.decide(e, origin)
			if d.tpl == nil {
				run.record(d.outcome)
				continue
			}
			slot, ok := r.reserveWrite(ctx, pending, run)
			if !ok {
				stopped.Store(true)
				o, _ := d.notWritten()
				run.record(o)
				continue
			}
			wg.Go(func() {
				defer func() { <-pending }()
				o, err := r.writeAt(ctx, d, slot, inFlight, run)
				if errors.Is(err, ErrDeadlineNear) {
					stopped.Store(true)
				}
				run.record(o)
			})
		}
	}
	wg.Wait()
	res.Stopped = stopped.Load()
	return res, listErr
}

// reserveWrite takes a place among the pending writes, waiting for one if
// need be, and the write's turn; ok is false, with neither taken, when the
// turn would come after the cutoff or ctx ends first.
func (r *Remediator) reserveWrite(ctx context.Context, pending chan struct{}, run Run) (slot time.Time, ok bool) {
	select {
	case pending <- struct{}{}:
	case <-ctx.Done():
		return time.Time{}, false
	}
	if slot, ok = r.writes.reserve(run.now(), run.Cutoff); !ok {
		<-pending
	}
	return slot, ok
}

// writeAt waits for the write's turn, slot, and for a place among the writes
// in flight, then writes, unless the cutoff has come by then.
func (r *Remediator) writeAt(ctx context.Context, d decision, slot time.Time, inFlight chan struct{}, run Run) (Outcome, error) {
	if err := run.clock().SleepUntil(ctx, slot); err != nil {
		return d.notWritten()
	}
	select {
	case inFlight <- struct{}{}:
	case <-ctx.Done():
		return d.notWritten()
	}
	defer func() { <-inFlight }()
	if run.late() {
		return d.notWritten()
	}
	return r.write(ctx, d)
}

// listInput asks EC2 for the endpoints of the guarded services only: a
// region's other endpoints (S3, ECR, STS...) can be thousands, and reading
// them would cost the sweep time and memory for nothing.
func (r *Remediator) listInput() *ec2.DescribeVpcEndpointsInput {
	names := policytemplates.EndpointServiceNames(r.region, r.cfg.Templates)
	if len(names) == 0 {
		return &ec2.DescribeVpcEndpointsInput{} // the region is unknown: list all, TemplateFor sorts them out
	}
	return &ec2.DescribeVpcEndpointsInput{
		Filters: []types.Filter{{Name: aws.String("service-name"), Values: names}},
	}
}
