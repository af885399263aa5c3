package qelostest

import (
	"sync"
	"time"
)

// Clock is a clock a test moves by hand: give its Now to [Options.Now]
// (and to whatever else under test measures time, such as the
// middleware's Config.Now) so advancing it expires tokens on every side at
// once, without sleeping. It is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock reading start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time. Use the method value (clock.Now) as
// Options.Now and middleware.Config.Now.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
