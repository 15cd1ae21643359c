package console

import (
	"context"
	"errors"
	"net"
	"sync"
)

// Telnet protocol bytes (RFC 854, 855).
const (
	tnSE   = 240
	tnSB   = 250
	tnWILL = 251
	tnWONT = 252
	tnDO   = 253
	tnDONT = 254
	tnIAC  = 255

	optBinary = 0
	optEcho   = 1
	optSGA    = 3
)

// maxSubneg bounds the bytes of one subnegotiation the reader skips before it
// gives up on finding its IAC SE and goes back to data.
const maxSubneg = 4096

// DialTelnet connects to a telnet console (ser2net telnet mode, QEMU
// -serial telnet). The option negotiation is answered on the fly: the server
// may echo (ECHO), suppress go-ahead (SGA) and send binary (BINARY); this side
// agrees to SGA and BINARY; everything else is refused. Telnet commands are
// stripped from what Read returns, and 0xFF is escaped on Write. Until the
// server agrees that this side sends binary, a bare CR is sent as CR NUL.
func DialTelnet(ctx context.Context, addr string) (Console, error) {
	name := "telnet " + addr
	conn, err := dial(ctx, addr)
	if err != nil {
		return nil, consoleErr(name, err)
	}
	return newTelnet(name, conn), nil
}

func newTelnet(name string, conn net.Conn) *telnetConsole {
	return &telnetConsole{name: name, conn: conn}
}

type telnetState int

const (
	tsData telnetState = iota
	tsIAC
	tsOpt // after WILL/WONT/DO/DONT: the option byte
	tsSB
	tsSBIAC
	tsCR // after CR in non-binary receive mode: drop a following NUL
)

type telnetConsole struct {
	name string
	conn net.Conn

	wmu sync.Mutex // serialises writes: data and negotiation answers

	// Read-side state, used by one reader at a time.
	rmu    sync.Mutex
	state  telnetState
	verb   byte
	sbLen  int
	rawBuf []byte

	// Option state, guarded by wmu.
	remote [256]bool // options the server has enabled (its WILL acknowledged)
	local  [256]bool // options this side has enabled (its DO acknowledged)
}

func (c *telnetConsole) Name() string { return c.name }

// acceptRemote says which options the server may enable.
func acceptRemote(opt byte) bool { return opt == optEcho || opt == optSGA || opt == optBinary }

// acceptLocal says which options this side enables when asked.
func acceptLocal(opt byte) bool { return opt == optSGA || opt == optBinary }

func (c *telnetConsole) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if cap(c.rawBuf) < len(p) {
		c.rawBuf = make([]byte, len(p))
	}
	for {
		n, err := c.conn.Read(c.rawBuf[:len(p)])
		out, replies := c.decode(c.rawBuf[:n], p)
		if len(replies) > 0 {
			if werr := c.writeRaw(replies); werr != nil && err == nil {
				err = werr
			}
		}
		if out > 0 || err != nil {
			return out, ioErr(c.name, err)
		}
	}
}

// decode strips telnet commands from in, writes the data to out (len(out) >=
// len(in)) and returns the data length and the negotiation answers to send.
func (c *telnetConsole) decode(in, out []byte) (int, []byte) {
	var replies []byte
	n := 0
	for _, b := range in {
		switch c.state {
		case tsCR:
			c.state = tsData
			if b == 0 {
				continue
			}
			fallthrough
		case tsData:
			switch {
			case b == tnIAC:
				c.state = tsIAC
			case b == '\r' && !c.remoteBinary():
				out[n] = b
				n++
				c.state = tsCR
			default:
				out[n] = b
				n++
			}
		case tsIAC:
			switch b {
			case tnIAC:
				out[n] = b
				n++
				c.state = tsData
			case tnWILL, tnWONT, tnDO, tnDONT:
				c.verb = b
				c.state = tsOpt
			case tnSB:
				c.sbLen = 0
				c.state = tsSB
			default: // NOP, DM, BRK, IP, AO, AYT, EC, EL, GA, stray SE
				c.state = tsData
			}
		case tsOpt:
			replies = append(replies, c.negotiate(c.verb, b)...)
			c.state = tsData
		case tsSB:
			c.sbLen++
			switch {
			case b == tnIAC:
				c.state = tsSBIAC
			case c.sbLen > maxSubneg:
				c.state = tsData
			}
		case tsSBIAC:
			if b == tnSE {
				c.state = tsData
			} else {
				c.state = tsSB // IAC IAC or junk inside the subnegotiation
			}
		}
	}
	return n, replies
}

func (c *telnetConsole) remoteBinary() bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.remote[optBinary]
}

// negotiate answers one option request, changing state only on a real change
// so that acknowledgements never loop (RFC 854, "general considerations").
func (c *telnetConsole) negotiate(verb, opt byte) []byte {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	switch verb {
	case tnWILL:
		if c.remote[opt] {
			return nil
		}
		if acceptRemote(opt) {
			c.remote[opt] = true
			return []byte{tnIAC, tnDO, opt}
		}
		return []byte{tnIAC, tnDONT, opt}
	case tnWONT:
		if !c.remote[opt] {
			return nil
		}
		c.remote[opt] = false
		return []byte{tnIAC, tnDONT, opt}
	case tnDO:
		if c.local[opt] {
			return nil
		}
		if acceptLocal(opt) {
			c.local[opt] = true
			return []byte{tnIAC, tnWILL, opt}
		}
		return []byte{tnIAC, tnWONT, opt}
	case tnDONT:
		if !c.local[opt] {
			return nil
		}
		c.local[opt] = false
		return []byte{tnIAC, tnWONT, opt}
	}
	return nil
}

func (c *telnetConsole) writeRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.conn.Write(b)
	return consoleErr(c.name, err)
}

// Write escapes 0xFF as IAC IAC and, unless this side sends binary, a CR not
// followed by LF as CR NUL. It reports len(p) on success.
func (c *telnetConsole) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	binary := c.local[optBinary]
	buf := make([]byte, 0, len(p)+8)
	for i, b := range p {
		buf = append(buf, b)
		switch {
		case b == tnIAC:
			buf = append(buf, tnIAC)
		case b == '\r' && !binary && (i+1 == len(p) || p[i+1] != '\n'):
			buf = append(buf, 0)
		}
	}
	if _, err := c.conn.Write(buf); err != nil {
		return 0, consoleErr(c.name, err)
	}
	return len(p), nil
}

func (c *telnetConsole) Close() error {
	err := c.conn.Close()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return consoleErr(c.name, err)
	}
	return nil
}
