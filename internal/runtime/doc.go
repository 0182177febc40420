// Package runtime turns a validated configuration into an immutable Snapshot
// (frontends bound to backends, pools with their pickers, checker and resolver
// plans) and publishes it with one atomic pointer swap. It is the control
// plane's output and the data plane's only input: a connection loads the
// current snapshot once and uses it to the end.
package runtime
