// Package backend holds servers and their live state. It sits between the
// control plane, which changes state (health checks, the agent, DNS, an
// operator), and the data plane, which reads it: the eligible servers and the
// picker built over them are published together in one immutable Set behind
// one atomic pointer, rebuilt only when eligibility or a weight changes, so a
// pick is one atomic load and never takes a lock.
//
// State is keyed by ID (backend and server name) in a Registry, so a reload
// that keeps a server keeps its health, counters and load.
package backend
