// Package rules compiles and evaluates a frontend's http_condition rules:
// a when expression and an action (redirect, use_backend, deny, header and
// path changes). It imports nothing from fulcrum, so that config can call
// CheckWhen and CheckValue while it validates a file.
//
// # Control plane: compile
//
// Compile turns a frontend's []Spec into an immutable *Program, once per
// configuration load. Expressions use the syntax of expr-lang/expr (Noxy's:
// scheme == 'http', sprintf('https://%s%s', host, uri)), checked against a
// fixed, typed environment, so that unknown names, type errors, invalid
// literal regular expressions and networks are load-time errors. Each
// checked expression is then turned into Go closures (native.go); the few
// constructs those do not cover run on expr's VM instead.
//
// # Data plane: evaluate
//
// Program.Eval runs the rules in order for one request, reading a Request
// the proxy fills, and fills a Result the proxy owns. A Program is safe for
// concurrent use; Eval takes no lock and, for the language covered natively,
// allocates nothing but the strings expressions build.
//
// # The language
//
// Variables: scheme ("http" or "https"), host (Host without port,
// lower-case), port (the frontend port, an integer), method, uri (path?query
// as received), path, query (without '?'), src (the client address as text:
// "10.0.0.1", "2001:db8::1").
//
// Functions: header(name) and cookie(name) ("" when absent; header names
// are case-insensitive), sprintf(format, args...), hasPrefix(s, prefix),
// hasSuffix(s, suffix), lower(s), upper(s), trim(s), trimPrefix(s, prefix),
// trimSuffix(s, suffix), replace(s, old, new), len(s), and
// inCIDR(ip, network, ...), true when ip is in one of the networks:
// inCIDR(src, '10.0.0.0/8', 'fd00::/8'). A network is a CIDR prefix or a
// single address; literal networks are parsed once, at compile time, and an
// ip that is not an address is in no network.
//
// Operators: == != < <= > >=, and or not (also && || !), + (strings and
// integers), - *, cond ? a : b, x in ['a', 'b'], x not in [...], and the
// string operators startsWith, endsWith, contains and matches (a Go regular
// expression, compiled once when it is a literal). contains and matches are
// operators only: host contains 'x', not contains(host, 'x').
//
// # Rules
//
// A rule matches when its when expression is true. Rules are evaluated in
// order: the header and path actions of every matching rule accumulate, and
// the first matching rule with a final action (redirect, deny or
// use_backend) ends the evaluation, so for use_backend the first match
// wins. A redirect's location is an expression, always (a fixed location is
// quoted: "'https://example.com/'"). Header values are literal text. A
// use_backend list of several backends splits traffic by weight: weights
// are relative, 0 means never. An expression that fails at run time makes
// its rule not match, and Eval reports it (see Program.Eval).
package rules
