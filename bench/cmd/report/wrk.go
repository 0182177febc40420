package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// wrkResult is what one wrk run (with --latency) printed.
type wrkResult struct {
	RPS      float64 // Requests/sec
	P50, P99 float64 // latency percentiles in µs
	MiBps    float64 // Transfer/sec in MiB/s (wrk's MB are MiB)
	Requests int64   // "N requests in ..."
	Errors   int64   // socket errors and non-2xx/3xx responses
}

// parseWrk reads the text wrk prints. It fails when the run printed no
// request rate, or no latency distribution.
func parseWrk(r io.Reader) (wrkResult, error) {
	var (
		res                     wrkResult
		haveRPS, have50, have99 bool
		haveReq                 bool
	)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		var err error
		switch {
		case f[0] == "Requests/sec:" && len(f) == 2:
			res.RPS, err = strconv.ParseFloat(f[1], 64)
			haveRPS = err == nil
		case f[0] == "Transfer/sec:" && len(f) == 2:
			var b float64
			b, err = parseBytes(f[1])
			res.MiBps = b / (1 << 20)
		case f[0] == "50%" && len(f) == 2:
			res.P50, err = parseDuration(f[1])
			have50 = err == nil
		case f[0] == "99%" && len(f) == 2:
			res.P99, err = parseDuration(f[1])
			have99 = err == nil
		case len(f) >= 3 && f[1] == "requests" && f[2] == "in":
			res.Requests, err = strconv.ParseInt(f[0], 10, 64)
			haveReq = err == nil
		case f[0] == "Socket" && len(f) >= 2 && f[1] == "errors:":
			// Socket errors: connect 0, read 0, write 0, timeout 0
			for i := 2; i+1 < len(f); i += 2 {
				var n int64
				n, err = strconv.ParseInt(strings.TrimSuffix(f[i+1], ","), 10, 64)
				if err != nil {
					break
				}
				res.Errors += n
			}
		case f[0] == "Non-2xx" && len(f) == 5:
			var n int64
			n, err = strconv.ParseInt(f[4], 10, 64)
			res.Errors += n
		}
		if err != nil {
			return res, fmt.Errorf("wrk output %q: %v", sc.Text(), err)
		}
	}
	if err := sc.Err(); err != nil {
		return res, err
	}
	if !haveRPS || !haveReq {
		return res, fmt.Errorf("no request rate in wrk output")
	}
	if !have50 || !have99 {
		return res, fmt.Errorf("no latency distribution in wrk output (run wrk with --latency)")
	}
	return res, nil
}

// parseDuration turns wrk's "812.00us", "1.23ms", "2.00s", "1.00m" into µs.
func parseDuration(s string) (float64, error) {
	units := []struct {
		suffix string
		us     float64
	}{{"us", 1}, {"ms", 1e3}, {"s", 1e6}, {"m", 60e6}, {"h", 3600e6}}
	for _, u := range units {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f * u.us, err
		}
	}
	return 0, fmt.Errorf("unknown duration unit in %q", s)
}

// parseBytes turns wrk's "512.34KB", "1.05GB", "100B" into bytes; wrk's
// units are powers of 1024.
func parseBytes(s string) (float64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{{"TB", 1 << 40}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"B", 1}}
	for _, u := range units {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f * u.mult, err
		}
	}
	return 0, fmt.Errorf("unknown size unit in %q", s)
}
