package daemon

import (
	"io"
	"net/http"
	"sync"
	"testing"
)

// BenchmarkH2C sends GET requests over one HTTP/2 (h2c) client connection,
// 16 streams at a time, through an http frontend to a raw HTTP/1.1 backend.
func BenchmarkH2C(b *testing.B) {
	url := "http://" + benchProxy(b, "    h2c: true\n") + "/bench"
	cl := h2cClient()
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	per := b.N/16 + 1
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				resp, err := cl.Get(url)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Error(resp.Status)
					return
				}
			}
		}()
	}
	wg.Wait()
}
