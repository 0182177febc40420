package rules

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/file"

	hint "github.com/fulcrum-lb/fulcrum/internal/suggest"
)

// Error is a compile error in one expression. Its text is Msg, then the
// position inside the expression when it helps (syntax errors), then Hint:
//
//	unexpected "=" at column 8; compare with ==
//	unknown name "hots"; did you mean "host"?
type Error struct {
	// Msg says what is wrong.
	Msg string
	// Hint, when not empty, suggests a fix.
	Hint string
	// Line and Column are the 1-based position inside the expression of
	// the problem; 0 when it concerns the whole expression. Error shows
	// them only where the message alone does not point at the spot.
	Line, Column int
	// showPos tells Error to show Line and Column.
	showPos bool
}

// Error formats e as described on the type.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Msg)
	if e.showPos && e.Column > 0 {
		if e.Line > 1 {
			fmt.Fprintf(&b, " at line %d, column %d", e.Line, e.Column)
		} else {
			fmt.Fprintf(&b, " at column %d", e.Column)
		}
	}
	if e.Hint != "" {
		b.WriteString("; ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// RuntimeError is an expression that failed while a request was evaluated
// (for example a regular expression built from a header that does not
// compile). The rule it belongs to did not apply. Rule and Field identify the
// expression, so that the proxy can log each one once.
type RuntimeError struct {
	// Rule is the rule's index in the list given to Compile.
	Rule int
	// Field is "when" or "redirect".
	Field string
	// Err is what went wrong.
	Err error
}

// Error formats e as "rule N: FIELD: ERR".
func (e *RuntimeError) Error() string { return fmt.Sprintf("rule %d: %s: %v", e.Rule, e.Field, e.Err) }

// Unwrap returns e.Err.
func (e *RuntimeError) Unwrap() error { return e.Err }

// vmError turns an error of expr's VM into the error itself, without
// expr's position and source snippet, so that it reads as the native
// evaluator's errors do.
func vmError(err error) error {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return err
	}
	if fe.Prev != nil {
		return fe.Prev
	}
	return errors.New(strings.TrimSpace(fe.Message))
}

// unexpectedToken matches expr's syntax errors about one token:
// `unexpected token Operator("=")`, `unexpected token EOF`.
var unexpectedToken = regexp.MustCompile(`^unexpected token (\w+)(?:\((".*")\))?$`)

// operatorsAsFunctions are expr operators users may write as functions.
var operatorsAsFunctions = map[string]string{
	"contains":   "host contains 'example'",
	"matches":    `path matches '^/api/v[0-9]+/'`,
	"startsWith": "path startsWith '/api/'",
	"endsWith":   "host endsWith '.example.com'",
}

// compileError turns an error of expr's compiler into an *Error with a
// message in fulcrum's words. kind is what the expression must give, for
// type errors: "a condition" or "a string".
func compileError(err error, src string) *Error {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return &Error{Msg: err.Error()}
	}
	e := &Error{Msg: strings.TrimSpace(fe.Message), Line: fe.Line, Column: fe.Column + 1, showPos: true}
	if name, ok := strings.CutPrefix(fe.Message, "unknown name "); ok {
		e.Msg, e.showPos = fmt.Sprintf("unknown name %q", name), strings.Count(src, name) > 1
		e.Hint = nameHint(name)
		return e
	}
	m := unexpectedToken.FindStringSubmatch(fe.Message)
	if m == nil {
		return e
	}
	if m[1] == "EOF" {
		e.Msg, e.showPos = "unexpected end of expression", false
		return e
	}
	tok, err := strconv.Unquote(m[2])
	if err != nil {
		return e
	}
	e.Msg = fmt.Sprintf("unexpected %q", tok)
	switch {
	case m[1] == "Operator" && tok == "=":
		e.Hint = "compare with =="
	case m[1] == "Operator" && operatorsAsFunctions[tok] != "":
		e.Hint = fmt.Sprintf("%s is an operator, not a function: write e.g. %s", tok, operatorsAsFunctions[tok])
	case m[1] == "Identifier" && isURLish(src):
		e.Hint = urlHint
	}
	return e
}

// urlHint explains that a redirect is an expression.
const urlHint = `this is an expression: quote a fixed text, e.g. "'https://example.com/'"`

// isURLish reports whether src looks like a location written without
// quotes, such as https://example.com/ or /login.
func isURLish(src string) bool {
	s := strings.TrimSpace(src)
	return strings.HasPrefix(s, "/") || strings.Contains(s, "://")
}

// nameHint suggests the variable or function closest to an unknown name,
// or lists them all.
func nameHint(name string) string {
	names := append(append([]string(nil), variables...), functionNames()...)
	if s := suggest(name, names); s != "" {
		return fmt.Sprintf("did you mean %q?", s)
	}
	if _, ok := operatorsAsFunctions[name]; ok {
		return fmt.Sprintf("%s is an operator: write e.g. %s", name, operatorsAsFunctions[name])
	}
	return "variables are " + strings.Join(variables, ", ") + "; functions are " + strings.Join(functionNames(), ", ")
}

// typeError is the message for an expression of the wrong type: want
// describes what it must give ("a condition (true or false)").
func typeError(want, got string) *Error {
	return &Error{Msg: fmt.Sprintf("expected %s, got %s", want, describeType(got))}
}

// describeType names an expr type for users.
func describeType(t string) string {
	switch t {
	case "string":
		return "a string"
	case "bool":
		return "a condition (true or false)"
	case "int", "float", "float64":
		return "a number"
	case "nil", "unknown":
		return "nil"
	case "":
		return "nothing"
	}
	if strings.HasPrefix(t, "[]") || strings.HasPrefix(t, "array") {
		return "a list"
	}
	if strings.HasPrefix(t, "map") {
		return "a map"
	}
	if strings.HasPrefix(t, "func") {
		return "a function (call it)"
	}
	return "a value of type " + t
}

// suggest returns the candidate closest to word when it is close enough to
// be a likely typo (edit distance at most 2, or 1 for words of 3 letters
// or fewer; a case-only difference always counts), else "".
func suggest(word string, candidates []string) string {
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	limit := 2
	if len(word) <= 3 {
		limit = 1
	}
	best, bestDist := "", limit+1
	for _, c := range sorted {
		d := hint.Distance(strings.ToLower(word), strings.ToLower(c))
		if d < bestDist && c != word {
			best, bestDist = c, d
		}
	}
	return best
}
