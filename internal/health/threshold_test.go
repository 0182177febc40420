package health

import "testing"

func TestCounterObserve(t *testing.T) {
	type step struct {
		up, ok  bool
		newUp   bool
		flipped bool
		count   int
	}
	tests := []struct {
		name  string
		th    Threshold
		steps []step
	}{
		{"up stays up on success", Threshold{2, 3}, []step{
			{true, true, true, false, 0},
			{true, true, true, false, 0},
		}},
		{"up goes down after fall failures", Threshold{2, 3}, []step{
			{true, false, true, false, 1},
			{true, false, true, false, 2},
			{true, false, false, true, 3},
		}},
		{"a success resets the fall count", Threshold{2, 3}, []step{
			{true, false, true, false, 1},
			{true, false, true, false, 2},
			{true, true, true, false, 0},
			{true, false, true, false, 1},
			{true, false, true, false, 2},
			{true, false, false, true, 3},
		}},
		{"down comes up after rise successes", Threshold{2, 3}, []step{
			{false, false, false, false, 0},
			{false, true, false, false, 1},
			{false, true, true, true, 2},
		}},
		{"a failure resets the rise count", Threshold{3, 1}, []step{
			{false, true, false, false, 1},
			{false, true, false, false, 2},
			{false, false, false, false, 0},
			{false, true, false, false, 1},
			{false, true, false, false, 2},
			{false, true, true, true, 3},
		}},
		{"count restarts after a flip", Threshold{2, 2}, []step{
			{true, false, true, false, 1},
			{true, false, false, true, 2},
			{false, false, false, false, 0},
			{false, true, false, false, 1},
			{false, true, true, true, 2},
			{true, false, true, false, 1},
		}},
		{"rise and fall of 1 flip at once", Threshold{1, 1}, []step{
			{true, false, false, true, 1},
			{false, true, true, true, 1},
		}},
		{"zero threshold counts as 1", Threshold{0, 0}, []step{
			{true, false, false, true, 1},
			{false, true, true, true, 1},
		}},
		{"state changed elsewhere: fall count does not become rise count", Threshold{3, 3}, []step{
			{true, false, true, false, 1},
			{true, false, true, false, 2},
			// passive check marks the server down between rounds
			{false, true, false, false, 1},
			{false, true, false, false, 2},
			{false, true, true, true, 3},
		}},
		{"state changed elsewhere: rise count does not become fall count", Threshold{3, 3}, []step{
			{false, true, false, false, 1},
			{false, true, false, false, 2},
			// the agent brings the server up between rounds
			{true, false, true, false, 1},
			{true, true, true, false, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Counter{Threshold: tt.th}
			for i, s := range tt.steps {
				newUp, flipped, count := c.Observe(s.up, s.ok)
				if newUp != s.newUp || flipped != s.flipped || count != s.count {
					t.Fatalf("step %d: Observe(%v, %v) = (%v, %v, %d), want (%v, %v, %d)",
						i, s.up, s.ok, newUp, flipped, count, s.newUp, s.flipped, s.count)
				}
				if want := count > 0 && !flipped; c.Counting() != want {
					t.Fatalf("step %d: Counting() = %v, want %v", i, c.Counting(), want)
				}
			}
		})
	}
}

func TestCounterReset(t *testing.T) {
	c := Counter{Threshold: Threshold{Rise: 2, Fall: 2}}
	c.Observe(true, false)
	c.Reset()
	if c.Counting() {
		t.Fatal("Counting() after Reset = true")
	}
	if _, flipped, n := c.Observe(true, false); flipped || n != 1 {
		t.Fatalf("Observe after Reset = flipped %v count %d, want false 1", flipped, n)
	}
}
