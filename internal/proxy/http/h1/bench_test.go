package h1

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// browserRequest is a typical browser request: ~500 bytes, 12 fields.
const browserRequest = "GET /static/app.js?v=4f2a9c HTTP/1.1\r\n" +
	"Host: www.example.com\r\n" +
	"Connection: keep-alive\r\n" +
	"sec-ch-ua: \"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\"\r\n" +
	"sec-ch-ua-mobile: ?0\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n" +
	"sec-ch-ua-platform: \"Linux\"\r\n" +
	"Accept: */*\r\n" +
	"Sec-Fetch-Site: same-origin\r\n" +
	"Referer: https://www.example.com/account/settings\r\n" +
	"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
	"Accept-Language: en-GB,en;q=0.9,fr;q=0.8\r\n" +
	"Cookie: session=8c1d2e3f4a5b6c7d8e9f; theme=dark\r\n" +
	"\r\n"

const backendResponse = "HTTP/1.1 200 OK\r\n" +
	"Server: nginx/1.24.0\r\n" +
	"Date: Tue, 14 May 2024 10:00:00 GMT\r\n" +
	"Content-Type: application/javascript; charset=utf-8\r\n" +
	"Content-Length: 48213\r\n" +
	"Last-Modified: Mon, 13 May 2024 09:00:00 GMT\r\n" +
	"Connection: keep-alive\r\n" +
	"ETag: \"6641e1b0-bc55\"\r\n" +
	"Cache-Control: public, max-age=31536000, immutable\r\n" +
	"Accept-Ranges: bytes\r\n" +
	"\r\n"

func BenchmarkParseRequest(b *testing.B) {
	in := []byte(browserRequest)
	var r Request
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRequest(in, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseResponse(b *testing.B) {
	in := []byte(backendResponse)
	var r Response
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseResponse(in, &r, false); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadRequest(b *testing.B) {
	r := NewReader(&loop{data: []byte(browserRequest)}, 0)
	var req Request
	b.SetBytes(int64(len(browserRequest)))
	b.ReportAllocs()
	for b.Loop() {
		if err := r.ReadRequest(&req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCopyBodyChunked moves a 1 MiB body in 4 KiB chunks with
// extensions and a trailer, read in 16 KiB pieces.
func BenchmarkCopyBodyChunked(b *testing.B) {
	var body bytes.Buffer
	chunk := strings.Repeat("x", 4096)
	for range 256 {
		body.WriteString("1000;ext=1\r\n" + chunk + "\r\n")
	}
	body.WriteString("0\r\nX-Checksum: abc\r\n\r\n")
	in := body.Bytes()
	src := bytes.NewReader(in)
	r := NewReader(src, 0)
	buf := make([]byte, 32<<10)
	b.SetBytes(256 * 4096)
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(in)
		r.Reset(src)
		if _, err := CopyBody(io.Discard, r, -1, true, false, buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCopyBodyLength(b *testing.B) {
	in := bytes.Repeat([]byte("x"), 1<<20)
	src := bytes.NewReader(in)
	r := NewReader(src, 0)
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(in)
		r.Reset(src)
		if _, err := CopyBody(io.Discard, r, int64(len(in)), false, false, buf); err != nil {
			b.Fatal(err)
		}
	}
}
