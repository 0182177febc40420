package suggest

import "testing"

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"host", "host", 0},
		{"hots", "host", 1}, // adjacent swap
		{"use_backnd", "use_backend", 1},
		{"roundrobbin", "roundrobin", 1},
		{"maxconn", "timeout", 6}, // six substitutions; the o lines up
		{"", "abc", 3},
		{"ca", "abc", 3}, // no transposition across an insertion (OSA)
	}
	for _, tt := range tests {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := Distance(tt.b, tt.a); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (symmetric)", tt.b, tt.a, got, tt.want)
		}
	}
}
