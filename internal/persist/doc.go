// Package persist keeps a client on the server it was sent to before: sticky
// sessions in http mode (a cookie naming the server, or a stick table keyed
// by a request header) and source affinity (a stick table keyed by the
// client's address or its prefix), usable by tcp mode as well. It knows
// nothing of HTTP parsing, connections or fulcrum's configuration; the
// proxies feed it bytes and hashes and act on what it answers.
//
// Both kinds wrap the picker (STYLE.md 3.5): the proxy first asks persist
// for the remembered server; if there is none, or the picker's acceptance
// test refuses it (down, draining, full, already tried), the proxy picks as
// usual and then records the new choice (a fresh cookie, or StickTable.Put).
//
// # Control plane
//
// Building happens off the request path, once per configuration or server
// set: NewCodec takes the cookie secret; Codec.Table computes every server's
// cookie value (one HMAC per server, never one per request); NewStickTable
// sizes a table, and whoever owns it calls StickTable.Sweep periodically
// from a goroutine it owns and stops. A CookieSpec is plain data, filled
// from the configuration.
//
// # Data plane
//
// Per request or connection: Table.Lookup is one map read; Table.Value and
// CookieSpec.AppendSetCookie give the Set-Cookie line; StickTable.Get and
// StickTable.Put lock one of many shards for a few pointer updates. None of
// them allocates (AppendSetCookie given room in its buffer), blocks on I/O,
// logs or reads the clock: the caller passes the time in.
package persist
