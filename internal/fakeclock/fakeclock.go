// Package fakeclock is a clock for tests of what happens near a deadline: its
// time moves only when told to, or when something sleeps on it, so that such
// tests depend on events rather than on how busy the machine is.
package fakeclock

import (
	"context"
	"sync"
	"time"
)

// Clock is a fake time. It is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// Start is the time a new Clock shows.
var Start = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// New returns a Clock showing Start.
func New() *Clock { return At(Start) }

// At returns a Clock showing t: time.Now(), for a test whose context has a
// real deadline.
func At(t time.Time) *Clock { return &Clock{now: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the time on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// SleepUntil moves the time on to t at once (never back), unless ctx has
// ended. Sleepers at once end at the latest of their times, as they would on
// a real clock.
func (c *Clock) SleepUntil(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
	return nil
}
