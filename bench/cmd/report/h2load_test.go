package main

import (
	"strings"
	"testing"
)

const h2loadTimed = `starting benchmark...
spawning thread #0: 64 total client(s). Timing-based test with 0s of warm-up time and 3s of main duration for measurements.
TLS Protocol: TLSv1.3
Cipher: TLS_AES_128_GCM_SHA256
Server Temp Key: X25519 253 bits
Application protocol: h2
Process Request Failure:1
Main benchmark duration is over for thread #0. Stopping all clients.

finished in 3.00s, 16225.33 req/s, 2.14MB/s
requests: 48676 total, 48740 started, 48676 done, 48676 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 48676 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 285.41KB (292264) total, 191.41KB (196000) headers (space savings 50.00%), 23.44KB (24000) data
                     min         max         mean         sd        +/- sd
time for request:       36us       327us        62us        17us    82.13%
`

func TestParseH2load(t *testing.T) {
	bad := strings.NewReplacer(
		"48676 succeeded, 0 failed, 0 errored, 0 timeout", "48670 succeeded, 4 failed, 1 errored, 1 timeout",
		"48676 2xx, 0 3xx, 0 4xx, 0 5xx", "48600 2xx, 0 3xx, 6 4xx, 64 5xx",
	).Replace(h2loadTimed)
	tests := []struct {
		name string
		in   string
		want h2loadResult
	}{
		{"all 2xx", h2loadTimed, h2loadResult{RPS: 16225.33, Succeeded: 48676}},
		{"failures", bad, h2loadResult{RPS: 16225.33, Succeeded: 48670, Errors: 6 + 70}},
	}
	for _, tt := range tests {
		got, err := parseH2load(strings.NewReader(tt.in))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !near(got.RPS, tt.want.RPS) || got.Succeeded != tt.want.Succeeded || got.Errors != tt.want.Errors {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
	if _, err := parseH2load(strings.NewReader("starting benchmark...\nconnect to 127.0.0.1:25320 failed\n")); err == nil {
		t.Error("parseH2load of a run that never started: no error")
	}
}

func TestParseIperf3(t *testing.T) {
	got, err := parseIperf3(strings.NewReader(`{"start": {}, "end": {"sum_received": {"start": 0, "end": 1.000101,
		"seconds": 1.000101, "bytes": 4231921664, "bits_per_second": 33851954264.6, "sender": true}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if mibps := got.MiBps(); !near(mibps, 4231921664/1.000101/(1<<20)) {
		t.Errorf("MiBps() = %v", mibps)
	}
	for _, in := range []string{
		`{"start": {}, "intervals": [], "end": {}, "error": "unable to connect to server: Connection refused"}`,
		`{"end": {"sum_received": {"seconds": 0, "bytes": 0}}}`,
		`{"end": `,
	} {
		if _, err := parseIperf3(strings.NewReader(in)); err == nil {
			t.Errorf("parseIperf3(%q): no error", in)
		}
	}
}
