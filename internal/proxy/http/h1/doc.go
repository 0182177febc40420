// Package h1 is fulcrum's HTTP/1.1 message codec. It belongs to the data
// plane's hot path: the HTTP proxy parses every request and response head
// with it and streams every body through it, so nothing here allocates per
// message once a connection is warm, and nothing here logs.
//
// Parsing is strict, in the manner of HAProxy: a message that two
// implementations could frame differently (request smuggling, response
// splitting) is rejected with the status to answer, never forwarded. Lines
// end in CRLF only; header names are tokens with no whitespace before the
// colon; obs-fold is refused; Content-Length must be one decimal number;
// Transfer-Encoding must be exactly "chunked" and must not come with a
// Content-Length or in HTTP/1.0; chunked bodies are decoded and re-encoded
// in a normal form, so a backend never sees the client's framing.
//
// ParseRequest and ParseResponse work on a byte slice and return slices into
// it. A Reader does the same over a connection: it keeps one buffer (taken
// from a pool while a message is in flight, given back by Release when the
// connection is idle), parses heads in place, and then hands out the body
// bytes that followed the head before reading the connection directly.
// CopyBody moves one body with its framing and writes each piece as soon as
// it is read, so slow streams such as server-sent events are not held back.
//
// The rules follow RFC 9110 and RFC 9112; where the RFCs allow a choice this
// package takes the stricter one, and says so where it decides.
package h1
