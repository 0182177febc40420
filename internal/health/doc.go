// Package health runs active health checks and the agent check. It belongs
// to the control plane: it decides whether servers are up, and reports its
// verdicts to a backend.Pool (SetHealth, SetAdmin, SetAgentPercent), which
// rebuilds the published set. It never touches a client connection.
//
// The pieces are small and separately testable:
//
//   - Checker (checker.go) is one probe of one address: TCP (tcp.go) or
//     HTTP/1.1 (http.go). Its error text is the reason that gets logged.
//   - Counter (threshold.go) turns a stream of results into verdicts with
//     rise/fall hysteresis. It is pure.
//   - ParseAgentReply (agent.go) parses an HAProxy-style agent's line. It is
//     pure; QueryAgent fetches one line from an agent.
//   - Group (group.go) owns one goroutine per checked server and per agent,
//     schedules checks (jittered first check, fast, down and normal
//     intervals) and applies the verdicts to the pool.
package health
