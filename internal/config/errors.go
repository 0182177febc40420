package config

import (
	"fmt"
	"sort"
	"strings"

	hint "github.com/fulcrum-lb/fulcrum/internal/suggest"
)

// Error is one problem in a configuration file: where it is and what was
// expected there.
type Error struct {
	// File is the configuration file's name as given to Load or Parse.
	File string
	// Line and Col are 1-based; 0 when the problem has no position (for
	// example a file that cannot be read).
	Line, Col int
	// Path is the key path of the offending value, e.g.
	// "frontend[1].maxconn"; "" for the document as a whole.
	Path string
	// Msg says what is wrong and what was expected.
	Msg string
}

// Error formats e as "FILE:LINE:COL: PATH: MSG", leaving out the position
// when Line is 0 and the path when it is empty.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one configuration. Load and Parse return
// it (as an error) whenever it is not empty.
type Errors []*Error

// Error returns one error per line, sorted by position.
func (es Errors) Error() string {
	sorted := append(Errors(nil), es...)
	sorted.sort()
	lines := make([]string, len(sorted))
	for i, e := range sorted {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// sort orders es by line, column, path and message, so output is stable.
func (es Errors) sort() {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Msg < b.Msg
	})
}

// suggest returns the candidate closest to word, if it is close enough to be
// a likely typo, or "". A case-only difference always counts as close.
// Among equally close candidates the first in sorted order wins.
func suggest(word string, candidates []string) string {
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	limit := 2
	if len(word) <= 3 {
		limit = 1
	}
	best, bestDist := "", limit+1
	for _, c := range sorted {
		if c == word {
			continue
		}
		d := hint.Distance(word, c)
		if strings.EqualFold(word, c) {
			d = 0
		}
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// didYouMean returns "; did you mean %q?" for the closest candidate, or
// else "; expected one of a, b, c" (or "" when there are no candidates).
func didYouMean(word string, candidates []string) string {
	if s := suggest(word, candidates); s != "" {
		return fmt.Sprintf("; did you mean %q?", s)
	}
	if len(candidates) == 0 {
		return ""
	}
	return "; expected one of " + strings.Join(candidates, ", ")
}
