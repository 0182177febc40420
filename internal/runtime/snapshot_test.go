package runtime

import (
	"testing"
	"time"
)

func TestEffective(t *testing.T) {
	fe := &Frontend{TimeoutConnect: time.Second, TimeoutClient: 2 * time.Second, TimeoutServer: 3 * time.Second, TimeoutQueue: 4 * time.Second, Retries: 2}
	five := 5
	zero := 0
	tests := []struct {
		name string
		be   Backend
		want Timeouts
	}{
		{"frontend's", Backend{}, Timeouts{time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second, 2}},
		{"backend's", Backend{TimeoutConnect: 10 * time.Millisecond, TimeoutServer: 20 * time.Millisecond, TimeoutQueue: 30 * time.Millisecond, Retries: &five},
			Timeouts{10 * time.Millisecond, 2 * time.Second, 20 * time.Millisecond, 30 * time.Millisecond, 5}},
		{"retries 0 on backend", Backend{Retries: &zero}, Timeouts{time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second, 0}},
	}
	for _, tt := range tests {
		if got := Effective(fe, &tt.be); got != tt.want {
			t.Errorf("%s: Effective = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
