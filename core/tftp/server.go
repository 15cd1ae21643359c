package tftp

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults for the zero values of Server's fields.
const (
	DefaultTimeout       = time.Second
	DefaultRetries       = 5
	DefaultMaxWindowSize = 64
)

// Server serves the files under Root over TFTP, read only. The zero value of
// every field but Root is usable. A Server may serve several connections.
type Server struct {
	// Root is the folder served; request names are relative to it.
	Root string
	// JobFolders confines each request to one folder of Root: a name is
	// "{folder}/{file}", and the file is opened with an os.Root at
	// Root/{folder}, so that no link leads from one folder into another
	// (the dispatcher's per-job folders). Names of one element are refused.
	JobFolders bool
	// Timeout is the retransmission timeout when the client asks for none
	// (the client's "timeout" option, in seconds, overrides it).
	Timeout time.Duration
	// Retries is how many times in a row a packet is sent again after a
	// timeout before the transfer is abandoned.
	Retries int
	// MaxBlockSize caps the negotiated block size (default 65464).
	MaxBlockSize int
	// MaxWindowSize caps the negotiated window size (default 64).
	MaxWindowSize int
	// Logger receives one record per transfer (nil: slog.Default()).
	Logger *slog.Logger
	// OnTransfer, when set, is called once at the end of each transfer.
	OnTransfer func(Transfer)
}

// Transfer describes one finished (or failed) read request.
type Transfer struct {
	File        string   // the name the client asked for
	Client      net.Addr // the client's address
	Bytes       int64    // file bytes acknowledged by the client
	Duration    time.Duration
	BlockSize   int
	WindowSize  int
	Retransmits int   // packets sent again after a timeout
	Err         error // nil when the client acknowledged the last block
}

// ListenAndServe listens on the UDP address addr (":69" for the standard
// port) and serves until ctx is cancelled.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		return fmt.Errorf("tftp: listen %s: %w", addr, err)
	}
	defer conn.Close()
	return s.Serve(ctx, conn)
}

// Serve reads requests from conn (a UDP socket) and answers each in its own
// goroutine, from its own UDP socket on the same local IP. It returns nil
// once ctx is cancelled and every transfer has stopped, or the read error
// that stopped it. It does not close conn.
func (s *Server) Serve(ctx context.Context, conn net.PacketConn) error {
	if s.Root == "" {
		return errors.New("tftp: Server.Root is empty")
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	buf := make([]byte, 65536)
	for {
		n, addr, err := conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("tftp: read request: %w", err)
		}
		pkt := bytes.Clone(buf[:n])
		wg.Go(func() { s.handle(ctx, conn, pkt, addr) })
	}
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// tftpError is a failure that is reported to the client with an ERROR packet.
type tftpError struct {
	code ErrorCode
	msg  string
}

func (e *tftpError) Error() string { return fmt.Sprintf("tftp error %d: %s", e.code, e.msg) }

// ErrorCodeOf returns the TFTP error code of err (sent to or received from
// the client), and false when err carries none.
func ErrorCodeOf(err error) (ErrorCode, bool) {
	var te *tftpError
	if errors.As(err, &te) {
		return te.code, true
	}
	return 0, false
}

func (s *Server) handle(ctx context.Context, main net.PacketConn, pkt []byte, client net.Addr) {
	start := time.Now()
	tr := Transfer{Client: client, BlockSize: defaultBlockSize, WindowSize: 1}
	sock, err := s.openSocket(main)
	if err != nil {
		tr.Err = err
		s.finish(tr, start)
		return
	}
	defer sock.Close()
	req, err := parseRequest(pkt)
	if err != nil {
		tr.Err = &tftpError{ErrIllegalOp, err.Error()}
		_, _ = sock.WriteTo(errorPacket(ErrIllegalOp, err.Error()), client)
		s.finish(tr, start)
		return
	}
	tr.File = req.filename
	tr.Err = s.serveRead(ctx, sock, client, req, &tr)
	var te *tftpError
	if errors.As(tr.Err, &te) && te.code != ErrOptionRefused {
		_, _ = sock.WriteTo(errorPacket(te.code, te.msg), client)
	}
	s.finish(tr, start)
}

func (s *Server) finish(tr Transfer, start time.Time) {
	tr.Duration = time.Since(start)
	attrs := []any{"file", tr.File, "client", fmt.Sprint(tr.Client), "bytes", tr.Bytes,
		"duration", tr.Duration, "blksize", tr.BlockSize, "windowsize", tr.WindowSize, "retransmits", tr.Retransmits}
	if tr.Err != nil {
		s.logger().Warn("tftp transfer failed", append(attrs, "err", tr.Err)...)
	} else {
		s.logger().Info("tftp transfer", attrs...)
	}
	if s.OnTransfer != nil {
		s.OnTransfer(tr)
	}
}

// openSocket opens the transfer's own UDP socket on main's local IP.
func (s *Server) openSocket(main net.PacketConn) (*net.UDPConn, error) {
	la, ok := main.LocalAddr().(*net.UDPAddr)
	if !ok {
		return nil, fmt.Errorf("tftp: serving needs a UDP socket, not %T", main.LocalAddr())
	}
	sock, err := net.ListenUDP("udp", &net.UDPAddr{IP: la.IP, Zone: la.Zone})
	if err != nil {
		return nil, fmt.Errorf("tftp: open transfer socket: %w", err)
	}
	return sock, nil
}

// open resolves name under the root and opens it. Names with a ".."
// element, and names that lead outside the root (also through symbolic
// links), are refused.
func (s *Server) open(name string) (*os.File, error) {
	rel := strings.ReplaceAll(name, "\\", "/")
	if strings.HasPrefix(rel, "/") {
		// Accept an absolute path inside the root; otherwise take it as
		// relative to the root, like tftpd's --secure.
		if abs, err := filepath.Abs(s.Root); err == nil {
			if r, ok := strings.CutPrefix(rel, filepath.ToSlash(abs)+"/"); ok {
				rel = r
			}
		}
		rel = strings.TrimLeft(rel, "/")
	}
	for _, el := range strings.Split(rel, "/") {
		if el == ".." {
			return nil, &tftpError{ErrAccessViolation, "path traversal refused: " + name}
		}
	}
	rel = path.Clean(rel)
	if rel == "." || rel == "" {
		return nil, &tftpError{ErrFileNotFound, "no file name"}
	}
	root, err := os.OpenRoot(s.Root)
	if err != nil {
		return nil, &tftpError{ErrNotDefined, "server root unavailable"}
	}
	defer root.Close()
	if s.JobFolders {
		dir, file, ok := strings.Cut(rel, "/")
		if !ok {
			return nil, &tftpError{ErrFileNotFound, "file not found: " + name}
		}
		sub, err := root.OpenRoot(dir)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, &tftpError{ErrFileNotFound, "file not found: " + name}
			}
			return nil, &tftpError{ErrAccessViolation, "access refused: " + name}
		}
		defer sub.Close()
		root, rel = sub, file
	}
	f, err := root.Open(rel)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &tftpError{ErrFileNotFound, "file not found: " + name}
		}
		return nil, &tftpError{ErrAccessViolation, "access refused: " + name}
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, &tftpError{ErrAccessViolation, "not a regular file: " + name}
	}
	return f, nil
}

// serveRead runs one read request to its end.
func (s *Server) serveRead(ctx context.Context, sock *net.UDPConn, client net.Addr, req request, tr *Transfer) error {
	if req.op == opWRQ {
		return &tftpError{ErrAccessViolation, "write requests are refused: this server is read only"}
	}
	if req.mode != "octet" && req.mode != "netascii" {
		return &tftpError{ErrIllegalOp, "unsupported transfer mode " + strconv.Quote(req.mode)}
	}
	f, err := s.open(req.filename)
	if err != nil {
		return err
	}
	defer f.Close()
	var src io.Reader = f
	if req.mode == "netascii" {
		src = newNetASCIIReader(f)
	}

	// Option negotiation.
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	maxBlk := s.MaxBlockSize
	if maxBlk <= 0 || maxBlk > maxBlockSize {
		maxBlk = maxBlockSize
	}
	maxWin := s.MaxWindowSize
	if maxWin <= 0 {
		maxWin = DefaultMaxWindowSize
	}
	maxWin = min(maxWin, maxWindowSize)
	accepted := map[string]string{}
	var names []string
	for _, name := range req.order {
		v := req.options[name]
		switch name {
		case "blksize":
			if n, ok := parseUint(v, minBlockSize, 1<<31); ok {
				tr.BlockSize = int(min(n, int64(maxBlk)))
				accepted[name] = strconv.Itoa(tr.BlockSize)
			}
		case "timeout":
			if n, ok := parseUint(v, 1, 255); ok {
				timeout = time.Duration(n) * time.Second
				accepted[name] = v
			}
		case "tsize":
			if req.mode == "octet" {
				if st, err := f.Stat(); err == nil {
					accepted[name] = strconv.FormatInt(st.Size(), 10)
				}
			}
		case "windowsize":
			if n, ok := parseUint(v, 1, maxWindowSize); ok {
				tr.WindowSize = int(min(n, int64(maxWin)))
				accepted[name] = strconv.Itoa(tr.WindowSize)
			}
		}
		if _, ok := accepted[name]; ok {
			names = append(names, name)
		}
	}

	snd := &sender{
		sock: sock, client: client, src: src, blk: tr.BlockSize, win: tr.WindowSize,
		timeout: timeout, retries: s.Retries, tr: tr,
	}
	if snd.retries <= 0 {
		snd.retries = DefaultRetries
	}
	stop := context.AfterFunc(ctx, func() { _ = sock.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	if len(names) > 0 {
		snd.base = 0 // the OACK is "block 0": ACK 0 acknowledges it
		snd.pending = [][]byte{oackPacket(names, accepted)}
	} else {
		snd.base = 1
	}
	return snd.run(ctx)
}

// sender streams a file as DATA packets with a sliding window.
type sender struct {
	sock    *net.UDPConn
	client  net.Addr
	src     io.Reader
	blk     int
	win     int
	timeout time.Duration
	retries int
	tr      *Transfer

	base    int64    // index of the first unacknowledged block (0: the OACK)
	pending [][]byte // packets for blocks base, base+1, ... not yet acknowledged
	eof     bool     // the short final block has been read
	free    [][]byte // packet buffers to reuse
}

// fill reads blocks until the window is full or the file is exhausted.
func (s *sender) fill() error {
	if s.base == 0 {
		return nil // the OACK travels alone
	}
	for len(s.pending) < s.win && !s.eof {
		var p []byte
		if n := len(s.free); n > 0 {
			p, s.free = s.free[n-1], s.free[:n-1]
		} else {
			p = make([]byte, 4+s.blk)
		}
		p = p[:4+s.blk]
		n, err := io.ReadFull(s.src, p[4:])
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			s.eof = true
		} else if err != nil {
			return &tftpError{ErrNotDefined, "read error"}
		}
		idx := s.base + int64(len(s.pending))
		binary.BigEndian.PutUint16(p, opDATA)
		binary.BigEndian.PutUint16(p[2:], uint16(idx))
		s.pending = append(s.pending, p[:4+n])
	}
	return nil
}

func (s *sender) sendPending() error {
	for _, p := range s.pending {
		if _, err := s.sock.WriteTo(p, s.client); err != nil {
			return fmt.Errorf("tftp: send to %s: %w", s.client, err)
		}
	}
	return nil
}

func (s *sender) run(ctx context.Context) error {
	if err := s.fill(); err != nil {
		return err
	}
	if err := s.sendPending(); err != nil {
		return err
	}
	buf := make([]byte, 65536)
	tries := 0
	deadline := time.Now().Add(s.timeout)
	for {
		if err := s.sock.SetReadDeadline(deadline); err != nil {
			return fmt.Errorf("tftp: %w", err)
		}
		if ctx.Err() != nil {
			return &tftpError{ErrNotDefined, "server shutting down"}
		}
		n, addr, err := s.sock.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return &tftpError{ErrNotDefined, "server shutting down"}
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				tries++
				if tries > s.retries {
					return fmt.Errorf("tftp: no acknowledgement from %s after %d retransmissions", s.client, s.retries)
				}
				s.tr.Retransmits += len(s.pending)
				if err := s.sendPending(); err != nil {
					return err
				}
				deadline = time.Now().Add(s.timeout)
				continue
			}
			return fmt.Errorf("tftp: read: %w", err)
		}
		if !sameAddr(addr, s.client) {
			_, _ = s.sock.WriteTo(errorPacket(ErrUnknownTID, "unknown transfer ID"), addr)
			continue
		}
		pk, err := parsePacket(buf[:n])
		if err != nil {
			continue // garbage from the client's port: wait for a real ACK
		}
		switch pk.op {
		case opERROR:
			return &tftpError{pk.code, "client: " + pk.msg}
		case opACK:
		default:
			return &tftpError{ErrIllegalOp, fmt.Sprintf("unexpected opcode %d during a read", pk.op)}
		}
		// Which pending block does this ACK acknowledge? Stale and
		// duplicate ACKs are ignored: answering them would double the
		// traffic (the sorcerer's apprentice).
		d := int(pk.block - uint16(s.base-1))
		if d == 0 || d > len(s.pending) {
			continue
		}
		for _, p := range s.pending[:d] {
			if s.base > 0 { // block 0 is the OACK, not a reusable buffer
				s.tr.Bytes += int64(len(p) - 4)
				s.free = append(s.free, p)
			}
			s.base++
		}
		s.pending = append(s.pending[:0], s.pending[d:]...)
		if len(s.pending) == 0 && s.eof {
			return nil
		}
		tries = 0
		if err := s.fill(); err != nil {
			return err
		}
		if err := s.sendPending(); err != nil {
			return err
		}
		deadline = time.Now().Add(s.timeout)
	}
}

func sameAddr(a, b net.Addr) bool {
	ua, ok1 := a.(*net.UDPAddr)
	ub, ok2 := b.(*net.UDPAddr)
	if ok1 && ok2 {
		return ua.Port == ub.Port && ua.IP.Equal(ub.IP)
	}
	return a.String() == b.String()
}
