package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// hsloadResult is what one bench/cmd/hsload run printed.
type hsloadResult struct {
	Rate   float64 // handshakes (each with its 200 answer) per second
	OK     int64
	Errors int64
}

// parseHsload reads the one line hsload prints:
//
//	handshakes 8660 ok 8660 errors 0 resumed 0 seconds 4.002 rate 2163.91
func parseHsload(r io.Reader) (hsloadResult, error) {
	var res hsloadResult
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] != "handshakes" {
			continue
		}
		if len(f)%2 != 0 {
			return res, fmt.Errorf("hsload output %q: not name and value pairs", sc.Text())
		}
		v := map[string]string{}
		for i := 0; i < len(f); i += 2 {
			v[f[i]] = f[i+1]
		}
		var err error
		if res.Rate, err = strconv.ParseFloat(v["rate"], 64); err != nil {
			return res, fmt.Errorf("hsload output %q: rate: %v", sc.Text(), err)
		}
		if res.OK, err = strconv.ParseInt(v["ok"], 10, 64); err != nil {
			return res, fmt.Errorf("hsload output %q: ok: %v", sc.Text(), err)
		}
		if res.Errors, err = strconv.ParseInt(v["errors"], 10, 64); err != nil {
			return res, fmt.Errorf("hsload output %q: errors: %v", sc.Text(), err)
		}
		return res, nil
	}
	if err := sc.Err(); err != nil {
		return res, err
	}
	return res, fmt.Errorf("no handshake counts in hsload output")
}
