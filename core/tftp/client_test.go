package tftp

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// A minimal TFTP read client for the tests. It can drop and duplicate ACKs
// to exercise the server's retransmission and duplicate handling.

type clientOpts struct {
	mode    string      // default octet
	options [][2]string // sent in this order
	// drop reports whether to drop the ACK for block index idx (0 = the
	// OACK's ACK) on its n-th sending (n from 1).
	drop    func(idx int64, n int) bool
	dupAcks bool          // send every ACK twice
	timeout time.Duration // before the client sends its last packet again
}

type clientResult struct {
	oack        map[string]string
	dataPackets int // DATA packets received, including duplicates
	dupData     int // DATA packets for a block already received
	bytes       int64
}

// remoteError is an ERROR packet received by the client.
type remoteError struct {
	code ErrorCode
	msg  string
}

func (e *remoteError) Error() string { return fmt.Sprintf("remote error %d: %s", e.code, e.msg) }

func clientGet(server string, name string, o clientOpts, w io.Writer) (clientResult, error) {
	var res clientResult
	if o.mode == "" {
		o.mode = "octet"
	}
	if o.timeout == 0 {
		o.timeout = 2 * time.Second
	}
	raddr, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		return res, err
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: raddr.IP})
	if err != nil {
		return res, err
	}
	defer conn.Close()

	rrq := []byte{0, byte(opRRQ)}
	rrq = append(append(rrq, name...), 0)
	rrq = append(append(rrq, o.mode...), 0)
	blk, win := 512, 1
	for _, kv := range o.options {
		rrq = append(append(rrq, kv[0]...), 0)
		rrq = append(append(rrq, kv[1]...), 0)
	}
	if _, err := conn.WriteTo(rrq, raddr); err != nil {
		return res, err
	}
	last := rrq // what to send again on timeout
	lastTo := net.Addr(raddr)
	var tid net.Addr
	sent := map[int64]int{}
	sendAck := func(idx int64) error {
		sent[idx]++
		last, lastTo = ackPacket(uint16(idx)), tid
		if o.drop != nil && o.drop(idx, sent[idx]) {
			return nil
		}
		n := 1
		if o.dupAcks {
			n = 2
		}
		for range n {
			if _, err := conn.WriteTo(last, tid); err != nil {
				return err
			}
		}
		return nil
	}
	var next int64 = 1 // index of the block expected
	sinceAck := 0
	buf := make([]byte, 70000)
	timeouts := 0
	for {
		_ = conn.SetReadDeadline(time.Now().Add(o.timeout))
		n, addr, err := conn.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				timeouts++
				if timeouts > 5 {
					return res, fmt.Errorf("client: timeout after %d blocks", next-1)
				}
				if _, err := conn.WriteTo(last, lastTo); err != nil {
					return res, err
				}
				continue
			}
			return res, err
		}
		timeouts = 0
		if tid == nil {
			tid = addr
		} else if addr.String() != tid.String() {
			continue
		}
		pk, err := parsePacket(buf[:n])
		if err != nil {
			return res, fmt.Errorf("client: %w", err)
		}
		switch pk.op {
		case opERROR:
			return res, &remoteError{pk.code, pk.msg}
		case opOACK:
			if res.oack != nil {
				if next == 1 { // a retransmitted OACK: our ACK was lost
					if err := sendAck(0); err != nil {
						return res, err
					}
				}
				continue
			}
			res.oack = pk.options
			if v, ok := pk.options["blksize"]; ok {
				blk, _ = strconv.Atoi(v)
			}
			if v, ok := pk.options["windowsize"]; ok {
				win, _ = strconv.Atoi(v)
			}
			if err := sendAck(0); err != nil {
				return res, err
			}
		case opDATA:
			res.dataPackets++
			if pk.block != uint16(next) {
				res.dupData++
				// Out of order or a duplicate: acknowledge what we have.
				if err := sendAck(next - 1); err != nil {
					return res, err
				}
				sinceAck = 0
				continue
			}
			if len(pk.data) > blk {
				return res, fmt.Errorf("client: block %d has %d bytes, blksize %d", next, len(pk.data), blk)
			}
			if _, err := w.Write(pk.data); err != nil {
				return res, err
			}
			res.bytes += int64(len(pk.data))
			next++
			sinceAck++
			if len(pk.data) < blk {
				err := sendAck(next - 1)
				return res, err
			}
			if sinceAck >= win {
				sinceAck = 0
				if err := sendAck(next - 1); err != nil {
					return res, err
				}
			}
		default:
			return res, fmt.Errorf("client: unexpected opcode %d", pk.op)
		}
	}
}
