package h1

import (
	"errors"
	"strconv"
)

// Error is a malformed or unsupported message. Status is the HTTP status to
// answer (400, 414, 431, 501 or 505) when the message is a request; for a
// response the caller answers its own status (502). Errors returned by this
// package are shared values and must not be modified.
type Error struct {
	Status int
	Msg    string
}

// Error returns "h1: <status> <msg>".
func (e *Error) Error() string {
	return "h1: " + strconv.Itoa(e.Status) + " " + e.Msg
}

// ErrIncomplete is returned by ParseRequest and ParseResponse when the buffer
// does not hold a whole head yet and nothing seen so far is malformed.
var ErrIncomplete = errors.New("h1: incomplete head")

// errBadRead reports an io.Reader returning an impossible count.
var errBadRead = errors.New("h1: invalid count from Read")

// Shared errors, so that rejecting a message allocates nothing.
var (
	errBareLF        = &Error{400, "line not ending in CRLF"}
	errBareCR        = &Error{400, "CR not followed by LF"}
	errRequestLine   = &Error{400, "malformed request line"}
	errMethod        = &Error{400, "invalid method"}
	errTarget        = &Error{400, "invalid request target"}
	errVersion       = &Error{400, "malformed HTTP version"}
	errNoColon       = &Error{400, "header line without a colon"}
	errFieldName     = &Error{400, "invalid header name"}
	errSpaceColon    = &Error{400, "whitespace between header name and colon"}
	errObsFold       = &Error{400, "folded header line (obs-fold)"}
	errFieldValue    = &Error{400, "invalid character in header value"}
	errContentLength = &Error{400, "invalid Content-Length"}
	errTEAndCL       = &Error{400, "both Transfer-Encoding and Content-Length"}
	errTEHTTP10      = &Error{400, "Transfer-Encoding in an HTTP/1.0 message"}
	errTE            = &Error{400, "invalid Transfer-Encoding"}
	errNoHost        = &Error{400, "missing Host header"}
	errManyHosts     = &Error{400, "more than one Host header"}
	errHost          = &Error{400, "invalid Host header"}
	errHostMismatch  = &Error{400, "Host header differs from the target's authority"}
	errConnection    = &Error{400, "invalid Connection header"}
	errStatusLine    = &Error{400, "malformed status line"}
	errStatus        = &Error{400, "invalid status code"}
	errReason        = &Error{400, "invalid character in reason phrase"}
	errChunkSize     = &Error{400, "invalid chunk size"}
	errChunkExt      = &Error{400, "invalid chunk extension"}
	errChunkData     = &Error{400, "chunk data not followed by CRLF"}
	errChunkLine     = &Error{400, "chunk line too long"}

	errTargetTooLong = &Error{414, "request target too long"}
	errHeadTooLarge  = &Error{431, "head too large"}
	errManyFields    = &Error{431, "too many header fields"}

	errConnect = &Error{501, "CONNECT is not supported"}
	errCoding  = &Error{501, "unsupported transfer coding"}

	errHTTPVersion = &Error{505, "HTTP version not supported"}
)
