package daemon

import (
	"io"
	"net"
	"testing"

	"github.com/fulcrum-lb/fulcrum/internal/config"
	"github.com/fulcrum-lb/fulcrum/internal/testnet"
)

// sink is a loopback server that reads and discards everything.
func sink(b *testing.B) string {
	return testnet.Serve(b, func(c net.Conn) { io.Copy(io.Discard, c) })
}

// BenchmarkTCPThroughput sends one large stream to a discarding server,
// directly and through a tcp frontend, 1 MiB per op. Compare the MB/s of the
// two sub-benchmarks for the proxy's ratio to direct.
func BenchmarkTCPThroughput(b *testing.B) {
	target := sink(b)
	buf := make([]byte, 1<<20)
	run := func(b *testing.B, addr string) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		b.SetBytes(int64(len(buf)))
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if _, err := c.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("direct", func(b *testing.B) { run(b, target) })
	b.Run("proxy", func(b *testing.B) {
		d, _ := start(b, backendYAML("roundrobin", "", "{name: s, addr_port: "+target+"}"))
		run(b, d.Addrs("front")[0].String())
	})
	// Without inactivity timeouts the copy is a plain io.Copy: the
	// difference to "proxy" is what the timeouts cost.
	b.Run("proxy-no-timeouts", func(b *testing.B) {
		cfg, err := config.Parse("bench.yaml", []byte(backendYAML("roundrobin", "", "{name: s, addr_port: "+target+"}")))
		if err != nil {
			b.Fatal(err)
		}
		cfg.Frontends[0].TimeoutClient, cfg.Frontends[0].TimeoutServer = 0, 0
		d, _ := startConfig(b, cfg, nil)
		run(b, d.Addrs("front")[0].String())
	})
}
