package tftp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Opcodes (RFC 1350, RFC 2347).
const (
	opRRQ   uint16 = 1
	opWRQ   uint16 = 2
	opDATA  uint16 = 3
	opACK   uint16 = 4
	opERROR uint16 = 5
	opOACK  uint16 = 6
)

// ErrorCode is a TFTP error code (RFC 1350, RFC 2347).
type ErrorCode uint16

// Error codes.
const (
	ErrNotDefined      ErrorCode = 0
	ErrFileNotFound    ErrorCode = 1
	ErrAccessViolation ErrorCode = 2
	ErrDiskFull        ErrorCode = 3
	ErrIllegalOp       ErrorCode = 4
	ErrUnknownTID      ErrorCode = 5
	ErrFileExists      ErrorCode = 6
	ErrNoSuchUser      ErrorCode = 7
	ErrOptionRefused   ErrorCode = 8
)

// Option limits.
const (
	defaultBlockSize = 512
	minBlockSize     = 8
	maxBlockSize     = 65464 // RFC 2348
	maxWindowSize    = 65535 // RFC 7440
)

// request is a parsed RRQ or WRQ.
type request struct {
	op       uint16
	filename string
	mode     string            // lower case
	options  map[string]string // option names lower case, in any order
	order    []string          // option names as they came, for the OACK
}

// errMalformed is wrapped by every parse error.
var errMalformed = errors.New("malformed packet")

// parseRequest decodes an RRQ or WRQ packet. It never panics.
func parseRequest(p []byte) (request, error) {
	if len(p) < 2 {
		return request{}, fmt.Errorf("%w: %d bytes", errMalformed, len(p))
	}
	op := binary.BigEndian.Uint16(p)
	if op != opRRQ && op != opWRQ {
		return request{}, fmt.Errorf("%w: opcode %d is not a request", errMalformed, op)
	}
	fields, err := splitNUL(p[2:])
	if err != nil {
		return request{}, err
	}
	if len(fields) < 2 {
		return request{}, fmt.Errorf("%w: request without file name and mode", errMalformed)
	}
	if len(fields)%2 != 0 {
		return request{}, fmt.Errorf("%w: option %q without a value", errMalformed, fields[len(fields)-1])
	}
	r := request{op: op, filename: fields[0], mode: strings.ToLower(fields[1]), options: map[string]string{}}
	if r.filename == "" {
		return request{}, fmt.Errorf("%w: empty file name", errMalformed)
	}
	for i := 2; i < len(fields); i += 2 {
		name := strings.ToLower(fields[i])
		if _, dup := r.options[name]; dup {
			continue // first one wins
		}
		r.options[name] = fields[i+1]
		r.order = append(r.order, name)
	}
	return r, nil
}

// splitNUL splits NUL-terminated strings; the last one must be terminated.
func splitNUL(b []byte) ([]string, error) {
	var out []string
	for len(b) > 0 {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			return nil, fmt.Errorf("%w: string not NUL-terminated", errMalformed)
		}
		out = append(out, string(b[:i]))
		b = b[i+1:]
	}
	return out, nil
}

// parseUint parses a decimal option value within [lo, hi].
func parseUint(v string, lo, hi int64) (int64, bool) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, false
	}
	return n, true
}

func ackPacket(block uint16) []byte {
	b := make([]byte, 4)
	binary.BigEndian.PutUint16(b, opACK)
	binary.BigEndian.PutUint16(b[2:], block)
	return b
}

func errorPacket(code ErrorCode, msg string) []byte {
	b := make([]byte, 4, 5+len(msg))
	binary.BigEndian.PutUint16(b, opERROR)
	binary.BigEndian.PutUint16(b[2:], uint16(code))
	b = append(b, msg...)
	return append(b, 0)
}

// oackPacket encodes the accepted options in the order given.
func oackPacket(names []string, values map[string]string) []byte {
	b := []byte{0, byte(opOACK)}
	for _, n := range names {
		b = append(b, n...)
		b = append(b, 0)
		b = append(b, values[n]...)
		b = append(b, 0)
	}
	return b
}

// packet is a decoded DATA, ACK, ERROR or OACK packet (what a transfer
// receives, and what the test client receives).
type packet struct {
	op      uint16
	block   uint16 // DATA, ACK
	data    []byte // DATA payload (aliases the input)
	code    ErrorCode
	msg     string            // ERROR
	options map[string]string // OACK
}

// parsePacket decodes any non-request packet. It never panics.
func parsePacket(p []byte) (packet, error) {
	if len(p) < 2 {
		return packet{}, fmt.Errorf("%w: %d bytes", errMalformed, len(p))
	}
	op := binary.BigEndian.Uint16(p)
	switch op {
	case opDATA, opACK:
		if len(p) < 4 {
			return packet{}, fmt.Errorf("%w: short DATA/ACK", errMalformed)
		}
		pk := packet{op: op, block: binary.BigEndian.Uint16(p[2:])}
		if op == opDATA {
			pk.data = p[4:]
		} else if len(p) != 4 {
			return packet{}, fmt.Errorf("%w: ACK of %d bytes", errMalformed, len(p))
		}
		return pk, nil
	case opERROR:
		if len(p) < 4 {
			return packet{}, fmt.Errorf("%w: short ERROR", errMalformed)
		}
		msg := p[4:]
		if i := bytes.IndexByte(msg, 0); i >= 0 {
			msg = msg[:i]
		}
		return packet{op: op, code: ErrorCode(binary.BigEndian.Uint16(p[2:])), msg: string(msg)}, nil
	case opOACK:
		fields, err := splitNUL(p[2:])
		if err != nil {
			return packet{}, err
		}
		if len(fields)%2 != 0 {
			return packet{}, fmt.Errorf("%w: OACK option without value", errMalformed)
		}
		opts := map[string]string{}
		for i := 0; i < len(fields); i += 2 {
			opts[strings.ToLower(fields[i])] = fields[i+1]
		}
		return packet{op: op, options: opts}, nil
	}
	return packet{}, fmt.Errorf("%w: unexpected opcode %d", errMalformed, op)
}
