package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads, decodes, completes and validates the configuration file at
// path. On failure the error is an Errors holding every problem found, each
// with its position; the *Config is then nil.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, Errors{{File: path, Msg: "cannot read the configuration: " + err.Error()}}
	}
	return Parse(path, data)
}

// Parse decodes, completes and validates a configuration held in data. name
// is the file name used in messages; relative ssl file names are resolved
// against its directory. On failure the error is an Errors holding every
// problem found, sorted by position; the *Config is then nil.
func Parse(name string, data []byte) (*Config, error) {
	d := newDecoder(name)
	root := d.parse(data)
	if root == nil {
		return nil, d.result()
	}
	c := &Config{File: name}
	d.document(root, c)
	d.applyDefaults(c)
	d.validate(c, filepath.Dir(name))
	if err := d.result(); err != nil {
		return nil, err
	}
	return c, nil
}

// result returns the errors found, sorted, or nil.
func (d *decoder) result() error {
	if len(d.errs) == 0 {
		return nil
	}
	d.errs.sort()
	return d.errs
}

// parse parses data as one YAML document and returns its top node, or nil
// after recording why it cannot.
func (d *decoder) parse(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	err := dec.Decode(&doc)
	if errors.Is(err, io.EOF) || (err == nil && len(doc.Content) == 0) {
		d.errs = append(d.errs, &Error{File: d.file, Line: 1, Col: 1,
			Msg: "the configuration is empty; expected a mapping with frontend and backend lists"})
		return nil
	}
	if err != nil {
		d.syntaxError(data, err)
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		d.syntaxError(data, err)
		return nil
	default:
		d.errs = append(d.errs, &Error{File: d.file, Line: extra.Line, Col: extra.Column,
			Msg: "a second YAML document; expected the configuration to be one document"})
		return nil
	}
	if tooLarge(&doc) {
		d.errs = append(d.errs, &Error{File: d.file, Line: 1, Col: 1,
			Msg: "the configuration is too large once its aliases are expanded"})
		return nil
	}
	return doc.Content[0]
}

// yamlLine finds the line in the YAML parser's messages.
var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// maxScanLines bounds the search for a syntax error's line.
const maxScanLines = 1000

// syntaxError records a YAML syntax error. The parser's line is often that
// of the enclosing block, or missing, so the line is found again as the
// first line at which the document, cut short there, fails with the same
// problem. The parser gives no column, so the column is 1.
func (d *decoder) syntaxError(data []byte, err error) {
	line, msg := 1, err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		if m[1] != "" {
			line, _ = strconv.Atoi(m[1])
		}
		msg = m[2]
	}
	lines := strings.SplitAfter(string(data), "\n")
	for k := 1; k <= len(lines) && k <= maxScanLines; k++ {
		var n yaml.Node
		err := yaml.Unmarshal([]byte(strings.Join(lines[:k], "")), &n)
		if m := yamlLine.FindStringSubmatch(fmt.Sprint(err)); err != nil && m != nil && m[2] == msg {
			line = k
			break
		}
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Col: 1, Msg: "invalid YAML: " + msg})
}
