package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// h2loadResult is what one h2load run printed.
type h2loadResult struct {
	RPS       float64 // "finished in 3.00s, 16225.33 req/s, ..."
	Succeeded int64   // requests answered, whatever their status
	Errors    int64   // requests failed, errored or timed out, and answers other than 2xx
}

// parseH2load reads the text h2load prints. It fails when the run printed
// no request rate or no request counts.
func parseH2load(r io.Reader) (h2loadResult, error) {
	var (
		res                    h2loadResult
		haveRate, haveRequests bool
	)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		var err error
		switch {
		case strings.HasPrefix(line, "finished in "):
			// finished in 3.00s, 16225.33 req/s, 2.14MB/s
			f := strings.Split(line, ", ")
			if len(f) < 2 || !strings.HasSuffix(f[1], " req/s") {
				return res, fmt.Errorf("h2load output %q: no req/s", line)
			}
			res.RPS, err = strconv.ParseFloat(strings.TrimSuffix(f[1], " req/s"), 64)
			haveRate = err == nil
		case strings.HasPrefix(line, "requests: "):
			// requests: 4000 total, 4004 started, 4000 done, 4000 succeeded, 0 failed, 0 errored, 0 timeout
			var n map[string]int64
			n, err = countsOf(strings.TrimPrefix(line, "requests: "))
			res.Succeeded = n["succeeded"]
			res.Errors += n["failed"] + n["errored"] + n["timeout"]
			haveRequests = err == nil
		case strings.HasPrefix(line, "status codes: "):
			// status codes: 4000 2xx, 0 3xx, 0 4xx, 0 5xx
			var n map[string]int64
			n, err = countsOf(strings.TrimPrefix(line, "status codes: "))
			res.Errors += n["3xx"] + n["4xx"] + n["5xx"]
		}
		if err != nil {
			return res, fmt.Errorf("h2load output %q: %v", line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return res, err
	}
	if !haveRate || !haveRequests {
		return res, fmt.Errorf("no request rate or counts in h2load output")
	}
	return res, nil
}

// countsOf reads "4000 total, 0 failed, ..." into a map from name to count.
func countsOf(s string) (map[string]int64, error) {
	n := map[string]int64{}
	for item := range strings.SplitSeq(s, ", ") {
		v, name, ok := strings.Cut(item, " ")
		if !ok {
			return nil, fmt.Errorf("%q is not a count and a name", item)
		}
		x, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, err
		}
		n[name] = x
	}
	return n, nil
}
