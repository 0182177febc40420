package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden testdata/errors/*.err files")

// TestErrors loads every testdata/errors/NAME.yaml, each holding one kind of
// mistake, and compares the full error output with NAME.err. Every case
// must yield exactly one error: one mistake, one message.
func TestErrors(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/errors/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test cases in testdata/errors: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := Parse(file, data)
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Parse() = %v, %v; want Errors", cfg, err)
			}
			if cfg != nil {
				t.Errorf("Parse() returned a config along with errors")
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(file, ".yaml") + ".err"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestErrors -update)", err)
			}
			if got != string(want) {
				t.Errorf("errors:\n%s\nwant:\n%s", got, want)
			}
			if len(errs) != 1 {
				t.Errorf("got %d errors, want 1", len(errs))
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "f.yaml", Line: 3, Col: 5, Path: "frontend[1].maxconn", Msg: "bad"}, "f.yaml:3:5: frontend[1].maxconn: bad"},
		{Error{File: "f.yaml", Line: 1, Col: 1, Msg: "empty"}, "f.yaml:1:1: empty"},
		{Error{File: "f.yaml", Msg: "cannot read"}, "f.yaml: cannot read"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	es := Errors{
		{File: "f", Line: 9, Col: 1, Msg: "c"},
		{File: "f", Line: 2, Col: 7, Msg: "b"},
		{File: "f", Line: 2, Col: 3, Msg: "a"},
	}
	if got, want := es.Error(), "f:2:3: a\nf:2:7: b\nf:9:1: c"; got != want {
		t.Errorf("Errors.Error() = %q, want %q", got, want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	name := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := Load(name)
	want := name + ": cannot read the configuration: no such file or directory"
	if err == nil || err.Error() != want {
		t.Errorf("Load() error = %v, want %q", err, want)
	}
}

func TestSuggest(t *testing.T) {
	t.Parallel()
	keys := []string{"use_backend", "maxconn", "mode", "name", "bind"}
	tests := []struct{ word, want string }{
		{"use_backnd", "use_backend"},
		{"usebackend", "use_backend"},
		{"maxconns", "maxconn"},
		{"mxaconn", "maxconn"}, // transposition
		{"MaxConn", "maxconn"}, // case only
		{"nmae", "name"},
		{"colour", ""},
		{"bnd", "bind"},
		{"xy", ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.word, keys); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
}
