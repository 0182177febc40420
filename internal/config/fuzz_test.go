package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzConfig checks that Parse never panics, and that it returns either a
// config or a non-empty Errors whose every entry has a file and a message.
func FuzzConfig(f *testing.F) {
	f.Add([]byte(base))
	f.Add([]byte("global: {threads: max, health_check: 5000}\n" + base + "    health: {type: http, expect: [200, \"300-399\"]}\n"))
	f.Add([]byte("x: &a [*a]\n"))
	f.Add([]byte("a: b: c\n"))
	f.Add([]byte("frontend:\n  - <<: {name: x}\n    bind: [{addr_port: ':1'}]\n"))
	if files, err := filepath.Glob("testdata/errors/*.yaml"); err == nil {
		for _, name := range files {
			if data, err := os.ReadFile(name); err == nil {
				f.Add(data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data)
		if err == nil {
			if c == nil {
				t.Fatal("Parse() = nil, nil")
			}
			return
		}
		var errs Errors
		if !errors.As(err, &errs) || len(errs) == 0 || c != nil {
			t.Fatalf("Parse() = %v, %v; want nil and non-empty Errors", c, err)
		}
		for _, e := range errs {
			if e.File != "fuzz.yaml" || e.Msg == "" || e.Line < 1 || e.Col < 1 {
				t.Fatalf("malformed error %#v", e)
			}
		}
	})
}

// FuzzDuration checks that ParseDuration never panics, never returns a
// negative duration, and reads back what Duration.String writes.
func FuzzDuration(f *testing.F) {
	for _, s := range []string{"5000", "0", "10s", "1m30s", "250ms", "-5", "1.5h", "", "9223372036854775807", "+3s", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			if d != 0 {
				t.Fatalf("ParseDuration(%q) = %v with error %v", s, d, err)
			}
			return
		}
		if d < 0 {
			t.Fatalf("ParseDuration(%q) = %v, negative", s, d)
		}
		back, err := ParseDuration(d.String())
		if err != nil || back != d {
			t.Fatalf("ParseDuration(%q) = %v; ParseDuration(%q) = %v, %v", s, d, d.String(), back, err)
		}
	})
}
