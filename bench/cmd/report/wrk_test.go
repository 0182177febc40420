package main

import (
	"strings"
	"testing"
)

const wrkKeepAlive = `Running 10s test @ http://127.0.0.1:25311/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.31ms  210.43us   9.87ms   91.20%
    Req/Sec    48.91k     1.52k   51.02k    75.00%
  Latency Distribution
     50%  812.00us
     75%    1.40ms
     90%    1.52ms
     99%    2.10ms
  486712 requests in 10.00s, 105.43MB read
Requests/sec:  48671.20
Transfer/sec:     10.54MB
`

const wrkErrors = `Running 3s test @ http://127.0.0.1:25320/1m.bin
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    12.10ms    3.00ms   1.20s    88.00%
    Req/Sec     1.30k   100.00     1.40k    70.00%
  Latency Distribution
     50%   11.50ms
     75%   13.00ms
     90%   14.00ms
     99%    1.02s
  3900 requests in 3.00s, 3.81GB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   1300.00
Transfer/sec:      1.27GB
`

func TestParseWrk(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want wrkResult
	}{
		{"keep-alive", wrkKeepAlive, wrkResult{RPS: 48671.2, P50: 812, P99: 2100, MiBps: 10.54, Requests: 486712}},
		{"errors", wrkErrors, wrkResult{RPS: 1300, P50: 11500, P99: 1.02e6, MiBps: 1.27 * 1024, Requests: 3900, Errors: 7}},
	}
	for _, tt := range tests {
		got, err := parseWrk(strings.NewReader(tt.in))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !near(got.RPS, tt.want.RPS) || !near(got.P50, tt.want.P50) || !near(got.P99, tt.want.P99) ||
			!near(got.MiBps, tt.want.MiBps) || got.Requests != tt.want.Requests || got.Errors != tt.want.Errors {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestParseWrkIncomplete(t *testing.T) {
	for _, in := range []string{
		"unable to connect to 127.0.0.1:25320 Connection refused\n",
		strings.Replace(wrkKeepAlive, "Latency Distribution", "", 1)[:strings.Index(wrkKeepAlive, "     50%")],
	} {
		if _, err := parseWrk(strings.NewReader(in)); err == nil {
			t.Errorf("parseWrk(%q): no error", in)
		}
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func near(a, b float64) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	return d <= 1e-6*max(1, b)
}
