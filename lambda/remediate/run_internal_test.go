package remediate

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// Slots taken at once by many writers are all different and a whole interval
// apart, and none is given at or after the cutoff.
func TestPacerSlotsAreSpaced(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := &pacer{interval: 500 * time.Millisecond}
	cutoff := start.Add(10 * time.Second)
	var mu sync.Mutex
	var slots []time.Time
	refused := 0
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			slot, ok := p.reserve(start, cutoff)
			mu.Lock()
			defer mu.Unlock()
			if ok {
				slots = append(slots, slot)
			} else {
				refused++
			}
		})
	}
	wg.Wait()
	slices.SortFunc(slots, time.Time.Compare)
	if len(slots) != 20 || refused != 12 {
		t.Fatalf("%d slots and %d refused, want 20 in 10 s and 12 refused", len(slots), refused)
	}
	for i, s := range slots {
		if want := start.Add(time.Duration(i) * p.interval); !s.Equal(want) {
			t.Errorf("slot %d at %v, want %v", i, s.Sub(start), want.Sub(start))
		}
	}
	// After a pause the next writer goes at once, not at the stale slot.
	later := start.Add(time.Minute)
	if slot, ok := p.reserve(later, time.Time{}); !ok || !slot.Equal(later) {
		t.Errorf("after a pause: slot %v, %v; want now", slot, ok)
	}
}
