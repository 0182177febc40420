package main

import (
	"strings"
	"testing"
)

func TestParseHsload(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want hsloadResult
		bad  bool
	}{
		{"clean", "handshakes 8660 ok 8660 errors 0 resumed 0 seconds 4.002 rate 2163.91\n",
			hsloadResult{Rate: 2163.91, OK: 8660}, false},
		{"errors after a first-error line", "hsload: first error: dial tcp: i/o timeout\nhandshakes 12922 ok 6279 errors 6643 resumed 0 seconds 4.035 rate 1556.04\n",
			hsloadResult{Rate: 1556.04, OK: 6279, Errors: 6643}, false},
		{"no counts", "hsload: no handshake succeeded\n", hsloadResult{}, true},
		{"odd fields", "handshakes 1 ok\n", hsloadResult{}, true},
		{"bad rate", "handshakes 1 ok 1 errors 0 resumed 0 seconds 1 rate x\n", hsloadResult{}, true},
	}
	for _, tt := range tests {
		got, err := parseHsload(strings.NewReader(tt.in))
		if (err != nil) != tt.bad {
			t.Errorf("%s: error %v, want error %v", tt.name, err, tt.bad)
			continue
		}
		if !tt.bad && got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
