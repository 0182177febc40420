package main

import (
	"strings"
	"testing"
)

const tsv = "round\tscenario\ttarget\trps\tp50_us\tp99_us\tmibps\trequests\terrors\tcpu_ticks\tconns\tfailed\trss_before_kb\trss_after_kb\tfds_before\tfds_after\n" +
	"1\tidle\thaproxy\t-\t-\t-\t-\t-\t-\t-\t1000\t0\t10000\t11000\t10\t1010\n" +
	"2\tidle\thaproxy\t-\t-\t-\t-\t-\t-\t-\t1000\t0\t10000\t13000\t10\t1010\n" +
	"1\tka64\tdirect\t1000\t500\t900\t1\t10000\t0\t-\t-\t-\t-\t-\t-\t-\n" +
	"1\tka64\thaproxy\t500\t800\t2000\t1\t5000\t0\t50\t-\t-\t-\t-\t-\t-\n" +
	"2\tka64\tdirect\t3000\t500\t900\t1\t30000\t0\t-\t-\t-\t-\t-\t-\t-\n" +
	"2\tka64\thaproxy\t700\t800\t2000\t1\t7000\t2\t70\t-\t-\t-\t-\t-\t-\n" +
	"3\tka64\thaproxy\t-\t-\t-\t-\t-\t-\t70\t-\t-\t-\t-\t-\t-\n"

func TestReport(t *testing.T) {
	rows, err := readRows(strings.NewReader(tsv))
	if err != nil {
		t.Fatal(err)
	}
	rep := aggregate(rows, []string{"direct", "haproxy", "fulcrum-http"}, reasons{"fulcrum-http": "not yet"}, 100)
	md := rep.markdown("t", "", "")
	for _, want := range []string{
		// direct: median of 1000 and 3000; HAProxy: median of 500 and 700,
		// 50 and 70 ticks of 10 ms over 5000 and 7000 requests = 100 µs.
		"| direct | 2000 | 1000–3000 | 1.00 | 3.33 | 500 µs | 900 µs | — | 0 |",
		"| HAProxy | 600 | 500–700 | 0.30 | 1.00 | 800 µs | 2.00 ms | 100 | 2 (1 of 3 runs failed) |",
		"| fulcrum http | n/a |",
		"| HAProxy | 1000 | 9.8 MiB | 11.7 MiB | 2.00 | 1.00–3.00 | 1.00 | 1.0 |",
		"- fulcrum http: not yet",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

// A run of the TLS and tcp scenarios: no direct in TLS, iperf3 in MiB/s
// shown in Gbit/s, Caddy n/a in tcp mode only.
const tsvTLS = "round\tscenario\ttarget\trps\tp50_us\tp99_us\tmibps\trequests\terrors\tcpu_ticks\tconns\tfailed\trss_before_kb\trss_after_kb\tfds_before\tfds_after\n" +
	"1\thttps\thaproxy\t40000\t-\t-\t-\t120000\t0\t240\t-\t-\t-\t-\t-\t-\n" +
	"1\thttps\tcaddy\t10000\t-\t-\t-\t30000\t0\t300\t-\t-\t-\t-\t-\t-\n" +
	"1\thttps\tfulcrum-http\t48000\t-\t-\t-\t144000\t3\t216\t-\t-\t-\t-\t-\t-\n" +
	"1\ttcp\tdirect\t-\t-\t-\t3576.28\t10729\t0\t-\t-\t-\t-\t-\t-\t-\n" +
	"1\ttcp\thaproxy\t-\t-\t-\t2384.19\t7153\t0\t200\t-\t-\t-\t-\t-\t-\n" +
	"1\ttcp\tfulcrum-tcp\t-\t-\t-\t2980.23\t8941\t0\t250\t-\t-\t-\t-\t-\t-\n"

func TestReportTLSAndTCP(t *testing.T) {
	rows, err := readRows(strings.NewReader(tsvTLS))
	if err != nil {
		t.Fatal(err)
	}
	targets := []string{"direct", "nginx", "haproxy", "caddy", "fulcrum-http", "fulcrum-tcp"}
	na := reasons{"tcp/caddy": "no layer 4 proxy", "tcp/nginx": "no stream module"}
	md := aggregate(rows, targets, na, 100).markdown("t", "", "")
	for _, want := range []string{
		// 216 ticks of 10 ms over 144000 requests = 15 µs; HAProxy 20 µs.
		"| target | req/s | min–max | × HAProxy | proxy CPU µs/req | errors |",
		"| fulcrum http | 48000 | — | 1.20 | 15.0 | 3 |",
		// 3576.28 MiB/s = 30.0 Gbit/s; 250 ticks over 8941 MiB = 280 µs/MiB.
		"| direct | 30.0 | — | 1.00 | 1.50 | — | 0 |",
		"| fulcrum tcp | 25.0 | — | 0.83 | 1.25 | 280 | 0 |",
		"| Caddy | n/a |",
		"| HTTPS keep-alive, 64 conns (req/s) | 48000 | HAProxy 40000 | 1.20 | 15.0 per req | HAProxy 20.0 |",
		"| tcp mode, iperf3 (Gbit/s, fulcrum tcp) | 25.0 | HAProxy 20.0 | 1.25 | 280 per MiB | HAProxy 280 |",
		"- Caddy, tcp mode, iperf3: no layer 4 proxy",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "| direct | 0") || strings.Contains(md, "HTTPS keep-alive, 64 conns (per req) | — | — |") {
		t.Errorf("direct or an empty row in the TLS tables:\n%s", md)
	}
}
