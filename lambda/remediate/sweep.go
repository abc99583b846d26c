package remediate

import (
	"context"
	"errors"
	"fmt"
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

// Sweep checks every endpoint of the guarded services in the Remediator's
// region (see sweep); a hub sweeps with SweepUnit instead.
func (r *Remediator) Sweep(ctx context.Context, origin Origin, run Run) (Result, error) {
	client, err := r.clients.EC2(ctx, "", r.region)
	if err != nil {
		return Result{}, err
	}
	return r.sweep(ctx, client, place{region: r.region}, "", origin, run)
}

// SweepUnit sweeps one account and region for a hub, from the page nextToken
// names ("" for the first). Result.NextToken says where a continuation must
// start when the cutoff stopped it.
func (r *Remediator) SweepUnit(ctx context.Context, account, region, nextToken string, origin Origin, run Run) (Result, error) {
	client, err := r.clients.EC2(ctx, account, region)
	if err != nil {
		return Result{}, fmt.Errorf("sweep account %s in %s: %w", account, region, err)
	}
	return r.sweep(ctx, client, place{account: account, region: region}, nextToken, origin, run)
}

// sweep checks every endpoint of the guarded services that client lists in
// at, from the state the listing returned (no second Describe), and gives
// each outcome to run.Record as soon as it is known. Checks go as fast as the
// CPU allows; the writes they call for are paced (MaxWritesPerSecond), at
// most cfg.SweepConcurrency in flight, so that a first enforcing sweep over
// thousands of endpoints leaves room for everyone else's EC2 calls.
//
// An endpoint that fails is reported in its outcome and does not fail the
// sweep: the next sweep tries it again. The error is set only when listing
// the endpoints failed, after the endpoints listed so far were handled. At
// the run's cutoff the sweep stops: endpoints listed but not yet checked, and
// writes whose turn would come too late, get an outcome saying so, and pages
// not yet listed are left to the next sweep (Result.Unlisted), which finds
// the endpoints rewritten this time compliant and goes on from there.
func (r *Remediator) sweep(ctx context.Context, client EC2, at place, token string, origin Origin, run Run) (Result, error) {
	run = run.serialized()
	inFlight := make(chan struct{}, max(1, r.cfg.SweepConcurrency))
	pending := make(chan struct{}, maxPendingWrites)
	var wg sync.WaitGroup
	// The pages, by the token that listed them, and the first one the cutoff
	// cut short: a continuation starts there.
	var tokens []string
	var firstCut atomic.Int64
	firstCut.Store(-1)
	cut := func(page int) {
		for {
			old := firstCut.Load()
			if old >= 0 && old <= int64(page) || firstCut.CompareAndSwap(old, int64(page)) {
				return
			}
		}
	}
	var res Result
	var listErr error

	for page := 0; ; page++ {
		if run.late() {
			res.Unlisted = true
			cut(page)
			tokens = append(tokens, token)
			break
		}
		in := r.listInput(at.region)
		in.MaxResults, in.NextToken = aws.Int32(pageSize), nilIfEmpty(token)
		out, err := client.DescribeVpcEndpoints(ctx, in)
		if err != nil {
			listErr = awsError("list vpc endpoints", "ec2:DescribeVpcEndpoints", err)
			break
		}
		tokens = append(tokens, token)
		for _, e := range out.VpcEndpoints {
			if e.OwnerId == nil && at.account != "" {
				e.OwnerId = aws.String(at.account)
			}
			if run.late() {
				cut(page)
				o := r.notChecked(origin, aws.ToString(e.VpcEndpointId), place{account: aws.ToString(e.OwnerId), region: at.region})
				o.ServiceName = aws.ToString(e.ServiceName)
				run.record(o)
				continue
			}
			d := r.decide(client, e, at.region, origin)
			if d.written == nil {
				run.record(d.outcome)
				continue
			}
			slot, ok := r.reserveWrite(ctx, d.at, pending, run)
			if !ok {
				cut(page)
				o, _ := d.notWritten()
				run.record(o)
				continue
			}
			wg.Go(func() {
				defer func() { <-pending }()
				o, err := r.writeAt(ctx, d, slot, inFlight, run)
				if errors.Is(err, ErrDeadlineNear) {
					cut(page)
				}
				run.record(o)
			})
		}
		token = aws.ToString(out.NextToken)
		if token == "" {
			break
		}
	}
	wg.Wait()
	if p := firstCut.Load(); p >= 0 {
		res.Stopped = true
		res.NextToken = tokens[p]
		res.Resume = true
	}
	return res, listErr
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// reserveWrite takes a place among the pending writes, waiting for one if
// need be, and the write's turn; ok is false, with neither taken, when the
// turn would come after the cutoff or ctx ends first.
func (r *Remediator) reserveWrite(ctx context.Context, at place, pending chan struct{}, run Run) (slot time.Time, ok bool) {
	select {
	case pending <- struct{}{}:
	case <-ctx.Done():
		return time.Time{}, false
	}
	if slot, ok = r.pacer(at).reserve(run.now(), run.Cutoff); !ok {
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
	return r.write(ctx, d, run)
}

// listInput asks EC2 for the endpoints of the guarded services only: a
// region's other endpoints (S3, ECR, STS...) can be thousands, and reading
// them would cost the sweep time and memory for nothing.
func (r *Remediator) listInput(region string) *ec2.DescribeVpcEndpointsInput {
	names := policytemplates.EndpointServiceNames(region, r.cfg.Templates)
	if len(names) == 0 {
		return &ec2.DescribeVpcEndpointsInput{} // the region is unknown: list all, TemplateFor sorts them out
	}
	return &ec2.DescribeVpcEndpointsInput{
		Filters: []types.Filter{{Name: aws.String("service-name"), Values: names}},
	}
}
