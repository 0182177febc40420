package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseDuration parses a duration as written in a configuration: a string
// of decimal digits is a number of milliseconds (Noxy's rule: 5000 is five
// seconds), anything else is a Go duration such as "10s", "1m30s" or
// "250ms". Negative durations are refused. The error says what was expected.
func ParseDuration(s string) (Duration, error) {
	if s != "" && strings.Trim(s, "0123456789") == "" {
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil || ms > math.MaxInt64/int64(time.Millisecond) {
			return 0, fmt.Errorf("duration %s ms is too long", s)
		}
		return Duration(ms * int64(time.Millisecond)), nil
	}
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("expected a non-negative duration, got %s", quoteDuration(s))
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf(`expected a duration such as 5000 (ms), "10s", "1m30s" or "250ms", got %q`, s)
	}
	return Duration(d), nil
}

// quoteDuration quotes s unless it is a plain (negative) integer, so that
// "-5" reads as the number the user wrote.
func quoteDuration(s string) string {
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return s
	}
	return strconv.Quote(s)
}

// String formats d as a Go duration ("1m30s"), which ParseDuration reads
// back to the same value.
func (d Duration) String() string { return time.Duration(d).String() }
