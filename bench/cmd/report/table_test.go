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
