package balance

import "testing"

// full refuses the targets at their MaxConn, as the caller's Accepter does.
type full []Target

func (f full) Accept(i int) bool {
	return f[i].MaxConn == 0 || f[i].Load.Active() < int64(f[i].MaxConn)
}

// TestFirstFills checks that servers fill in order and empty in reverse.
func TestFirstFills(t *testing.T) {
	t.Parallel()
	ts := targets(1, 0, 5, 1)
	for i := range ts {
		ts[i].MaxConn = 2
	}
	for _, a := range []Accepter{full(ts), nil} { // first knows MaxConn even without the Accepter
		p := newFirst(ts)
		var got []int
		for range 6 {
			i := p.Pick(nil, a)
			got = append(got, i)
			if i >= 0 {
				ts[i].Load.Inc()
			}
		}
		want := []int{0, 0, 2, 2, 3, 3}
		for k := range want {
			if got[k] != want[k] {
				t.Fatalf("accepter %T: picks %v, want %v", a, got, want)
			}
		}
		// All full: the Accepter refuses everything; without one, the first
		// target takes the overflow.
		want0 := -1
		if a == nil {
			want0 = 0
		}
		if i := p.Pick(nil, a); i != want0 {
			t.Errorf("accepter %T, all full: Pick = %d, want %d", a, i, want0)
		}
		ts[2].Load.Dec()
		if i := p.Pick(nil, a); i != 2 {
			t.Errorf("accepter %T, 2 freed: Pick = %d, want 2", a, i)
		}
		for i := range ts {
			ts[i].Load.active.Store(0)
		}
	}
}

func TestFirst(t *testing.T) {
	t.Parallel()
	p := newFirst(targets(0, 3, 1))
	for _, c := range []struct {
		a    Accepter
		want int
	}{{nil, 1}, {refuse{1}, 2}, {refuse{0, 1}, 2}, {refuse{1, 2}, -1}} {
		if got := p.Pick(nil, c.a); got != c.want {
			t.Errorf("Pick(%v) = %d, want %d", c.a, got, c.want)
		}
	}
}
