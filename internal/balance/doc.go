// Package balance chooses a server. It belongs to the data plane's hot path and
// knows nothing of HTTP, TCP or fulcrum's configuration, so that any data plane
// (the Go proxy, an nftables map, a BGP announcer) can reuse it.
//
// The control plane calls a Builder with the eligible targets whenever that set
// changes; the Picker it returns is immutable and safe for concurrent use. All
// live, per-server numbers an algorithm reads (in-flight count, response time)
// sit in a Load that the caller owns and keeps across rebuilds.
package balance
