package remediate

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrDeadlineNear is wrapped by the error of a call that left endpoints
// unchecked or unwritten because its cutoff had come.
var ErrDeadlineNear = errors.New("the invocation's deadline was near")

// The errors of the outcomes the cutoff leaves behind.
var (
	errNotChecked   = "not checked: " + ErrDeadlineNear.Error()
	errNotRewritten = "not rewritten: " + ErrDeadlineNear.Error()
)

// Run is how one invocation drives the remediator: where each outcome goes,
// and when to stop starting work.
type Run struct {
	// Record receives each outcome as soon as its endpoint is done. It is
	// never called by two goroutines at once. nil drops the outcomes.
	Record func(Outcome)
	// Cutoff is when to stop: no endpoint is checked and no AWS call is
	// started at or after it. A call already started runs on under the
	// context it was given. Zero means no cutoff.
	Cutoff time.Time
	// Clock tells the time and waits; nil means the system's.
	Clock Clock
}

// Clock tells the time and waits. Tests give a fake one, whose SleepUntil
// moves its time on at once.
type Clock interface {
	Now() time.Time
	// SleepUntil returns at t, or early with ctx's error.
	SleepUntil(ctx context.Context, t time.Time) error
}

// SystemClock is the real time.
var SystemClock Clock = systemClock{}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) SleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Result is what a call came to as a whole; each endpoint's outcome went to
// Run.Record.
type Result struct {
	// Stopped is set when the cutoff came before every endpoint was handled.
	Stopped bool
	// Unlisted is set when a sweep stopped before listing every page of
	// endpoints: those beyond got no outcome at all.
	Unlisted bool
	// Resume is set when a sweep stopped before it was done; a continuation
	// starts at the page NextToken names ("" for the first page).
	Resume    bool
	NextToken string
}

func (r Run) clock() Clock {
	if r.Clock != nil {
		return r.Clock
	}
	return SystemClock
}

func (r Run) now() time.Time { return r.clock().Now() }

// late reports whether the cutoff has come.
func (r Run) late() bool {
	return !r.Cutoff.IsZero() && !r.now().Before(r.Cutoff)
}

// serialized returns a Run whose Record may be called from several
// goroutines: it takes turns.
func (r Run) serialized() Run {
	record := r.Record
	if record == nil {
		r.Record = func(Outcome) {}
		return r
	}
	var mu sync.Mutex
	r.Record = func(o Outcome) {
		mu.Lock()
		defer mu.Unlock()
		record(o)
	}
	return r
}

func (r Run) record(o Outcome) {
	if r.Record != nil {
		r.Record(o)
	}
}

// pacer spaces the writes of a Remediator: at most one per interval, so that
// a sweep over thousands of endpoints stays below EC2's token bucket for
// ModifyVpcEndpoint and leaves room for everyone else's calls.
type pacer struct {
	interval time.Duration // zero: no pacing
	mu       sync.Mutex
	next     time.Time // the earliest time the next write may start
}

// wait takes the next write slot and sleeps until it. It returns false,
// without taking the slot, when the slot would come at or after the run's
// cutoff, or when ctx ends first.
func (p *pacer) wait(ctx context.Context, run Run) bool {
	if p.interval <= 0 {
		return !run.late()
	}
	now := run.now()
	slot, ok := p.reserve(now, run.Cutoff)
	if !ok {
		return false
	}
	return run.clock().SleepUntil(ctx, slot) == nil
}

// reserve takes the first free slot at or after now, unless it would come at
// or after cutoff (zero: none).
func (p *pacer) reserve(now, cutoff time.Time) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	slot := now
	if p.next.After(now) {
		slot = p.next
	}
	if !cutoff.IsZero() && !slot.Before(cutoff) {
		return time.Time{}, false
	}
	p.next = slot.Add(p.interval)
	return slot, true
}
