package tftp

import (
	"bufio"
	"io"
)

// netASCIIReader converts a file to netascii (RFC 764 as used by RFC 1350):
// LF becomes CR LF and a bare CR becomes CR NUL.
type netASCIIReader struct {
	r    *bufio.Reader
	next byte // a byte owed after a CR, or 0 (with owed false)
	owed bool
}

func newNetASCIIReader(r io.Reader) *netASCIIReader {
	return &netASCIIReader{r: bufio.NewReader(r)}
}

func (n *netASCIIReader) Read(p []byte) (int, error) {
	i := 0
	for i < len(p) {
		if n.owed {
			p[i] = n.next
			n.owed = false
			i++
			continue
		}
		c, err := n.r.ReadByte()
		if err != nil {
			if i > 0 {
				return i, nil
			}
			return 0, err
		}
		switch c {
		case '\n':
			p[i], n.next, n.owed = '\r', '\n', true
		case '\r':
			p[i], n.next, n.owed = '\r', 0, true
		default:
			p[i] = c
		}
		i++
	}
	return i, nil
}
