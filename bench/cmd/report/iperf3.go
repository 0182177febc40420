package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// iperf3Result is what one iperf3 -J run measured at the receiver.
type iperf3Result struct {
	Bytes   float64
	Seconds float64
}

// MiBps is the receiver's throughput in MiB/s.
func (r iperf3Result) MiBps() float64 { return r.Bytes / r.Seconds / (1 << 20) }

// parseIperf3 reads the JSON iperf3 -J prints. It fails when iperf3
// reported an error or received nothing.
func parseIperf3(r io.Reader) (iperf3Result, error) {
	var doc struct {
		Error string `json:"error"`
		End   struct {
			SumReceived struct {
				Bytes   float64 `json:"bytes"`
				Seconds float64 `json:"seconds"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return iperf3Result{}, fmt.Errorf("iperf3 JSON: %w", err)
	}
	if doc.Error != "" {
		return iperf3Result{}, fmt.Errorf("iperf3: %s", doc.Error)
	}
	res := iperf3Result{Bytes: doc.End.SumReceived.Bytes, Seconds: doc.End.SumReceived.Seconds}
	if res.Bytes <= 0 || res.Seconds <= 0 {
		return res, errors.New("iperf3 received nothing")
	}
	return res, nil
}
