package h1

import "strconv"

// AppendHeader appends the header field line "name: value\r\n" to dst. It
// does not validate name or value (see ValidFieldName and ValidFieldValue)
// and allocates only when dst lacks capacity.
func AppendHeader(dst []byte, name, value []byte) []byte {
	dst = append(dst, name...)
	dst = append(dst, ':', ' ')
	dst = append(dst, value...)
	return append(dst, '\r', '\n')
}

// AppendRequestLine appends "method target HTTP/1.1\r\n" to dst.
func AppendRequestLine(dst []byte, method, target []byte) []byte {
	dst = append(dst, method...)
	dst = append(dst, ' ')
	dst = append(dst, target...)
	return append(dst, " HTTP/1.1\r\n"...)
}

// AppendStatusLine appends "HTTP/1.1 status reason\r\n" to dst. status must
// be 100 to 999.
func AppendStatusLine(dst []byte, status int, reason []byte) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, reason...)
	return append(dst, '\r', '\n')
}

// AppendContentLength appends "Content-Length: n\r\n" to dst; a forwarded
// message should carry this normal form rather than the received value,
// which may have been a list ("5, 5").
func AppendContentLength(dst []byte, n int64) []byte {
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, '\r', '\n')
}

// ValidFieldName reports whether name may be sent as a header name: a
// non-empty token.
func ValidFieldName[S ~string | ~[]byte](name S) bool {
	if len(name) == 0 {
		return false
	}
	for i := 0; i < len(name); i++ {
		if class[name[i]]&cToken == 0 {
			return false
		}
	}
	return true
}

// ValidFieldValue reports whether value may be sent as a header value: no
// control characters other than HTAB, and no leading or trailing
// whitespace.
func ValidFieldValue[S ~string | ~[]byte](value S) bool {
	for i := 0; i < len(value); i++ {
		if class[value[i]]&cValue == 0 {
			return false
		}
	}
	n := len(value)
	return n == 0 || value[0] != ' ' && value[0] != '\t' && value[n-1] != ' ' && value[n-1] != '\t'
}
