package tftp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/testenv"
)

type testServer struct {
	addr string
	root string
	mu   sync.Mutex
	done []Transfer
}

func (ts *testServer) transfers() []Transfer {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]Transfer(nil), ts.done...)
}

// waitTransfers waits until n transfers have been reported.
func (ts *testServer) waitTransfers(t *testing.T, n int) []Transfer {
	t.Helper()
	for range 500 {
		if tr := ts.transfers(); len(tr) >= n {
			return tr
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("fewer than %d transfers reported", n)
	return nil
}

// start runs srv on a loopback port with a fresh root (unless srv.Root is
// set) until the test ends.
func start(t *testing.T, srv *Server) *testServer { return startB(t, srv) }

func startB(t testing.TB, srv *Server) *testServer {
	t.Helper()
	if srv.Root == "" {
		srv.Root = t.TempDir()
	}
	ts := &testServer{root: srv.Root}
	srv.Logger = slog.New(slog.DiscardHandler)
	srv.OnTransfer = func(tr Transfer) {
		ts.mu.Lock()
		ts.done = append(ts.done, tr)
		ts.mu.Unlock()
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.addr = conn.LocalAddr().String()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ctx, conn) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Serve: %v", err)
		}
		conn.Close()
	})
	return ts
}

func writeFile(t *testing.T, root, name string, data []byte) { writeFileB(t, root, name, data) }

func writeFileB(t testing.TB, root, name string, data []byte) {
	t.Helper()
	p := filepath.Join(root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>9)
	}
	return b
}

func TestGet(t *testing.T) {
	ts := start(t, &Server{})
	sizes := []int{0, 1, 511, 512, 1024, 1468, 1468 * 3, 100_000}
	for _, n := range sizes {
		writeFile(t, ts.root, fmt.Sprintf("42/kernel/f%d", n), pattern(n))
	}
	tests := []struct {
		name    string
		options [][2]string
		blk     int
		win     int
	}{
		{"plain", nil, 512, 1},
		{"blksize 1468 (U-Boot)", [][2]string{{"timeout", "5"}, {"blksize", "1468"}}, 1468, 1},
		{"blksize 8", [][2]string{{"blksize", "8"}}, 8, 1},
		{"tsize", [][2]string{{"tsize", "0"}}, 512, 1},
		{"windowsize 4", [][2]string{{"blksize", "1024"}, {"windowsize", "4"}}, 1024, 4},
		{"upper case options", [][2]string{{"BLKSIZE", "1468"}, {"TSize", "0"}}, 1468, 1},
		{"invalid blksize ignored", [][2]string{{"blksize", "7"}}, 512, 1},
		{"unknown option ignored", [][2]string{{"multicast", ""}}, 512, 1},
	}
	for _, tc := range tests {
		for _, n := range sizes {
			t.Run(fmt.Sprintf("%s/%d", tc.name, n), func(t *testing.T) {
				var got bytes.Buffer
				res, err := clientGet(ts.addr, fmt.Sprintf("42/kernel/f%d", n), clientOpts{options: tc.options}, &got)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Bytes(), pattern(n)) {
					t.Fatalf("got %d bytes, want %d (content differs)", got.Len(), n)
				}
				// A file of a multiple of the block size ends with an empty block.
				if want := n/tc.blk + 1; res.dataPackets != want {
					t.Errorf("%d DATA packets, want %d", res.dataPackets, want)
				}
				if tc.blk != 512 && res.oack["blksize"] != strconv.Itoa(tc.blk) {
					t.Errorf("OACK blksize %q, want %d", res.oack["blksize"], tc.blk)
				}
				if _, asked := res.oack["tsize"]; asked && res.oack["tsize"] != strconv.Itoa(n) {
					t.Errorf("OACK tsize %q, want %d", res.oack["tsize"], n)
				}
				if len(tc.options) > 0 && tc.options[0][0] == "tsize" && res.oack["tsize"] != strconv.Itoa(n) {
					t.Errorf("tsize not answered: OACK %v", res.oack)
				}
				if tc.win > 1 && res.oack["windowsize"] != strconv.Itoa(tc.win) {
					t.Errorf("OACK windowsize %q, want %d", res.oack["windowsize"], tc.win)
				}
				if tc.name == "plain" && res.oack != nil {
					t.Errorf("OACK %v sent for a request without options", res.oack)
				}
				if _, ok := res.oack["multicast"]; ok {
					t.Error("unknown option acknowledged")
				}
			})
		}
	}
}

func TestTransferHook(t *testing.T) {
	ts := start(t, &Server{})
	writeFile(t, ts.root, "f", pattern(3000))
	if _, err := clientGet(ts.addr, "f", clientOpts{options: [][2]string{{"blksize", "1468"}}}, io.Discard); err != nil {
		t.Fatal(err)
	}
	tr := ts.waitTransfers(t, 1)[0]
	if tr.Err != nil || tr.File != "f" || tr.Bytes != 3000 || tr.BlockSize != 1468 || tr.Client == nil || tr.Duration <= 0 {
		t.Fatalf("transfer record %+v", tr)
	}
}

func TestBlksizeCapped(t *testing.T) {
	ts := start(t, &Server{MaxBlockSize: 1024, MaxWindowSize: 2})
	writeFile(t, ts.root, "f", pattern(5000))
	var got bytes.Buffer
	res, err := clientGet(ts.addr, "f", clientOpts{options: [][2]string{{"blksize", "65464"}, {"windowsize", "100"}}}, &got)
	if err != nil {
		t.Fatal(err)
	}
	if res.oack["blksize"] != "1024" || res.oack["windowsize"] != "2" {
		t.Fatalf("OACK %v, want blksize 1024 windowsize 2", res.oack)
	}
	if !bytes.Equal(got.Bytes(), pattern(5000)) {
		t.Fatal("content differs")
	}
}

func TestLostAck(t *testing.T) {
	tests := []struct {
		name    string
		options [][2]string
		dropIdx int64
	}{
		{"data ack", nil, 3},
		{"oack ack", [][2]string{{"blksize", "1000"}}, 0},
		{"last ack", [][2]string{{"blksize", "1000"}}, 5},
		{"window ack", [][2]string{{"blksize", "512"}, {"windowsize", "4"}}, 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := start(t, &Server{Timeout: 100 * time.Millisecond})
			writeFile(t, ts.root, "f", pattern(4500))
			var got bytes.Buffer
			drop := func(idx int64, n int) bool { return idx == tc.dropIdx && n == 1 }
			res, err := clientGet(ts.addr, "f", clientOpts{options: tc.options, drop: drop, timeout: 3 * time.Second}, &got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), pattern(4500)) {
				t.Fatal("content differs after a lost ACK")
			}
			tr := ts.waitTransfers(t, 1)[0]
			if tc.dropIdx == 5 {
				// The last ACK was lost: the server sends the last block
				// again; the client (already done) ignores it, the server
				// gives up after its retries and reports the failure.
				return
			}
			if tr.Retransmits == 0 || tr.Err != nil {
				t.Fatalf("transfer %+v: want a retransmission and success", tr)
			}
			if tc.dropIdx > 0 && res.dupData == 0 {
				t.Error("the client saw no retransmitted block")
			}
		})
	}
}

// TestDuplicateAcks: every ACK arrives twice; the server must not answer the
// duplicates (the sorcerer's apprentice bug would double every block).
func TestDuplicateAcks(t *testing.T) {
	ts := start(t, &Server{Timeout: 5 * time.Second})
	writeFile(t, ts.root, "f", pattern(512*40+3))
	var got bytes.Buffer
	res, err := clientGet(ts.addr, "f", clientOpts{dupAcks: true}, &got)
	if err != nil {
		t.Fatal(err)
	}
	if res.dupData != 0 || res.dataPackets != 41 {
		t.Fatalf("%d DATA packets with %d duplicates; want 41 and 0", res.dataPackets, res.dupData)
	}
	if !bytes.Equal(got.Bytes(), pattern(512*40+3)) {
		t.Fatal("content differs")
	}
}

// TestBlockWrap sends a file of more than 65535 blocks of 512 bytes.
func TestBlockWrap(t *testing.T) {
	if testing.Short() {
		t.Skip("33 MiB transfer")
	}
	ts := start(t, &Server{})
	size := 65536*512 + 700
	p := filepath.Join(ts.root, "big")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(pattern(size)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	h := sha256.New()
	res, err := clientGet(ts.addr, "big", clientOpts{options: [][2]string{{"windowsize", "16"}, {"tsize", "0"}}}, h)
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(pattern(size))
	if !bytes.Equal(h.Sum(nil), want[:]) || res.bytes != int64(size) {
		t.Fatalf("got %d bytes with a different digest", res.bytes)
	}
	if res.dataPackets != 65538 {
		t.Errorf("%d DATA packets, want 65538", res.dataPackets)
	}
}

func TestNetASCII(t *testing.T) {
	ts := start(t, &Server{})
	writeFile(t, ts.root, "t.txt", []byte("a\nb\rc\r\n"))
	var got bytes.Buffer
	if _, err := clientGet(ts.addr, "t.txt", clientOpts{mode: "NetASCII"}, &got); err != nil {
		t.Fatal(err)
	}
	if want := "a\r\nb\r\x00c\r\x00\r\n"; got.String() != want {
		t.Fatalf("got %q, want %q", got.String(), want)
	}
}

func TestRefusals(t *testing.T) {
	outside := t.TempDir()
	writeFile(t, outside, "secret", []byte("secret"))
	root := t.TempDir()
	writeFile(t, root, "42/Image", []byte("kernel"))
	writeFile(t, root, "sub/inside", []byte("inside"))
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "42", "outdir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../sub/inside", filepath.Join(root, "42", "link")); err != nil {
		t.Fatal(err)
	}
	ts := start(t, &Server{Root: root})
	tests := []struct {
		name string
		file string
		mode string
		code ErrorCode // 0xffff: served
		want string
	}{
		{"per-job file", "42/Image", "", 0xffff, "kernel"},
		{"leading slash", "/42/Image", "", 0xffff, "kernel"},
		{"absolute inside root", root + "/42/Image", "", 0xffff, "kernel"},
		{"symlink inside root", "42/link", "", 0xffff, "inside"},
		{"missing", "42/nothing", "", ErrFileNotFound, ""},
		{"dotdot", "../" + filepath.Base(outside) + "/secret", "", ErrAccessViolation, ""},
		{"dotdot inside", "42/../42/Image", "", ErrAccessViolation, ""},
		{"dotdot deep", "42/../../secret", "", ErrAccessViolation, ""},
		{"backslash dotdot", "42\\..\\..\\secret", "", ErrAccessViolation, ""},
		{"absolute outside root", outside + "/secret", "", ErrFileNotFound, ""},
		{"symlink escaping", "escape", "", ErrAccessViolation, ""},
		{"dir symlink escaping", "42/outdir/secret", "", ErrAccessViolation, ""},
		{"directory", "42", "", ErrAccessViolation, ""},
		{"mail mode", "42/Image", "mail", ErrIllegalOp, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got bytes.Buffer
			_, err := clientGet(ts.addr, tc.file, clientOpts{mode: tc.mode}, &got)
			if tc.code == 0xffff {
				if err != nil || got.String() != tc.want {
					t.Fatalf("got %q, %v; want %q", got.String(), err, tc.want)
				}
				return
			}
			var re *remoteError
			if !errors.As(err, &re) || re.code != tc.code {
				t.Fatalf("got %v (content %q), want TFTP error %d", err, got.String(), tc.code)
			}
		})
	}
}

// TestJobFolders: with JobFolders a request stays in the folder its first
// element names; a link from one job's folder into another's (or to the
// root) is refused.
func TestJobFolders(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "42/kernel/Image", []byte("kernel 42"))
	writeFile(t, root, "43/kernel/Image", []byte("kernel 43"))
	writeFile(t, root, "top", []byte("top"))
	for link, target := range map[string]string{"42/other": "../43/kernel/Image", "42/up": "..", "42/own": "kernel/Image"} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("42", filepath.Join(root, "44")); err != nil {
		t.Fatal(err)
	}
	ts := start(t, &Server{Root: root, JobFolders: true})
	tests := []struct {
		file string
		code ErrorCode // 0xffff: served
		want string
	}{
		{"42/kernel/Image", 0xffff, "kernel 42"},
		{"43/kernel/Image", 0xffff, "kernel 43"},
		{"42/own", 0xffff, "kernel 42"},
		{"42/other", ErrAccessViolation, ""},
		{"42/up/top", ErrAccessViolation, ""},
		{"42/up/43/kernel/Image", ErrAccessViolation, ""},
		{"top", ErrFileNotFound, ""},
		{"99/kernel/Image", ErrFileNotFound, ""},
		{"42/kernel", ErrAccessViolation, ""},
	}
	for _, tc := range tests {
		var got bytes.Buffer
		_, err := clientGet(ts.addr, tc.file, clientOpts{}, &got)
		if tc.code == 0xffff {
			if err != nil || got.String() != tc.want {
				t.Errorf("%s: got %q, %v; want %q", tc.file, got.String(), err, tc.want)
			}
			continue
		}
		var re *remoteError
		if !errors.As(err, &re) || re.code != tc.code || got.Len() != 0 {
			t.Errorf("%s: got %v (content %q), want TFTP error %d", tc.file, err, got.String(), tc.code)
		}
	}
}

// rawExchange sends one packet to addr and returns the first answer.
func rawExchange(t *testing.T, addr string, pkt []byte) packet {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ra, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.WriteTo(pkt, ra); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 1500)
	n, _, err := conn.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := parsePacket(bytes.Clone(buf[:n]))
	if err != nil {
		t.Fatal(err)
	}
	return pk
}

func TestWRQAndGarbageRefused(t *testing.T) {
	ts := start(t, &Server{})
	writeFile(t, ts.root, "f", []byte("x"))
	tests := []struct {
		name string
		pkt  []byte
		code ErrorCode
	}{
		{"WRQ", []byte("\x00\x02f\x00octet\x00"), ErrAccessViolation},
		{"WRQ new file", []byte("\x00\x02new\x00octet\x00"), ErrAccessViolation},
		{"DATA to port 69", []byte("\x00\x03\x00\x01abc"), ErrIllegalOp},
		{"no mode", []byte("\x00\x01f\x00"), ErrIllegalOp},
		{"unterminated", []byte("\x00\x01f\x00octet"), ErrIllegalOp},
		{"one byte", []byte("\x01"), ErrIllegalOp},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pk := rawExchange(t, ts.addr, tc.pkt)
			if pk.op != opERROR || pk.code != tc.code {
				t.Fatalf("answer %+v, want ERROR %d", pk, tc.code)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(ts.root, "new")); err == nil {
		t.Fatal("a WRQ created a file")
	}
}

// TestUnknownTID: a packet from another port during a transfer gets error
// 5 and does not disturb the transfer.
func TestUnknownTID(t *testing.T) {
	ts := start(t, &Server{Timeout: 200 * time.Millisecond})
	writeFile(t, ts.root, "f", pattern(2000))
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ra, _ := net.ResolveUDPAddr("udp", ts.addr)
	if _, err := conn.WriteTo([]byte("\x00\x01f\x00octet\x00"), ra); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, tid, err := conn.ReadFrom(buf) // DATA 1 from the transfer's port
	if err != nil {
		t.Fatal(err)
	}
	intruder := rawExchange(t, tid.String(), ackPacket(1))
	if intruder.op != opERROR || intruder.code != ErrUnknownTID {
		t.Fatalf("intruder got %+v, want ERROR 5", intruder)
	}
	if _, err := conn.WriteTo(ackPacket(1), tid); err != nil {
		t.Fatal(err)
	}
	n, _, err := conn.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	if pk, err := parsePacket(buf[:n]); err != nil || pk.op != opDATA || pk.block != 2 {
		t.Fatalf("after the intruder: %+v, %v; want DATA 2", pk, err)
	}
}

// TestGiveUp: a client that never acknowledges makes the server give up
// after its retries, and the hook reports the failure.
func TestGiveUp(t *testing.T) {
	ts := start(t, &Server{Timeout: 20 * time.Millisecond, Retries: 3})
	writeFile(t, ts.root, "f", pattern(2000))
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ra, _ := net.ResolveUDPAddr("udp", ts.addr)
	if _, err := conn.WriteTo([]byte("\x00\x01f\x00octet\x00"), ra); err != nil {
		t.Fatal(err)
	}
	tr := ts.waitTransfers(t, 1)[0]
	if tr.Err == nil || tr.Retransmits != 3 {
		t.Fatalf("transfer %+v: want an error after 3 retransmissions", tr)
	}
}

func TestServeStopsOnCancel(t *testing.T) {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	root := t.TempDir()
	writeFile(t, root, "f", pattern(5000))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	srv := &Server{Root: root, Timeout: time.Minute, Logger: slog.New(slog.DiscardHandler)}
	go func() { errc <- srv.Serve(ctx, conn) }()
	// Start a transfer and leave it hanging (never ACK).
	c, _ := net.ListenPacket("udp", "127.0.0.1:0")
	defer c.Close()
	if _, err := c.WriteTo([]byte("\x00\x01f\x00octet\x00"), conn.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, _, err := c.ReadFrom(buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	// The hanging client is told the server stopped.
	n, _, err := c.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	if pk, _ := parsePacket(buf[:n]); pk.op != opERROR {
		t.Fatalf("got %+v, want an ERROR", pk)
	}
}

func TestListenAndServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	srv := &Server{Root: t.TempDir()}
	if err := srv.ListenAndServe(ctx, "127.0.0.1:0"); err != nil {
		t.Fatalf("cancelled ListenAndServe: %v", err)
	}
	if err := srv.ListenAndServe(context.Background(), "256.0.0.1:0"); err == nil {
		t.Fatal("bad address accepted")
	}
	if err := (&Server{}).Serve(ctx, nil); err == nil {
		t.Fatal("empty root accepted")
	}
}

// Interop with real clients, when installed.

func TestCurlClient(t *testing.T) {
	curl := testenv.NeedTool(t, "curl")
	out, _ := exec.Command(curl, "--version").Output()
	testenv.Need(t, bytes.Contains(out, []byte(" tftp")), "curl is built without tftp")
	ts := start(t, &Server{})
	data := pattern(3*1468 + 100)
	writeFile(t, ts.root, "7/ramdisk/initrd.gz", data)
	for _, blk := range []string{"512", "1468", "8192"} {
		t.Run(blk, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "out")
			cmd := exec.Command(curl, "-sS", "--max-time", "20", "--tftp-blksize", blk, "-o", dst,
				"tftp://"+ts.addr+"/7/ramdisk/initrd.gz")
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("curl: %v\n%s", err, b)
			}
			got, err := os.ReadFile(dst)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("curl got %d bytes (err %v), want %d", len(got), err, len(data))
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		cmd := exec.Command(curl, "-sS", "--max-time", "20", "-o", filepath.Join(t.TempDir(), "x"), "tftp://"+ts.addr+"/nothing")
		if err := cmd.Run(); err == nil {
			t.Fatal("curl succeeded on a missing file")
		}
	})
}

func TestBusyboxClient(t *testing.T) {
	bb := testenv.NeedTool(t, "busybox")
	out, _ := exec.Command(bb, "--list").Output()
	testenv.Need(t, bytes.Contains(out, []byte("tftp\n")), "busybox is built without tftp")
	ts := start(t, &Server{})
	data := pattern(20_000)
	writeFile(t, ts.root, "f.bin", data)
	host, port, _ := net.SplitHostPort(ts.addr)
	for _, args := range [][]string{{}, {"-b", "1468"}} {
		t.Run(fmt.Sprint(args), func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "out")
			cmd := exec.Command(bb, append(append([]string{"tftp", "-g", "-r", "f.bin", "-l", dst}, args...), host, port)...)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("busybox tftp: %v\n%s", err, b)
			}
			got, err := os.ReadFile(dst)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("busybox got %d bytes (err %v), want %d", len(got), err, len(data))
			}
		})
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte("\x00\x01arm64/Image\x00octet\x00timeout\x005\x00blksize\x001468\x00"))
	f.Add([]byte("\x00\x02f\x00netascii\x00"))
	f.Add([]byte("\x00\x01f\x00octet\x00tsize\x00"))
	f.Add([]byte("\x00\x01"))
	f.Add([]byte("\x00\x06blksize\x001468\x00"))
	f.Add([]byte("\x00\x05\x00\x01File not found\x00"))
	f.Add([]byte("\x00\x03\x00\x01data"))
	f.Add([]byte("\x00\x04\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := parseRequest(b); err == nil {
			if r.filename == "" || len(r.order) != len(r.options) {
				t.Fatalf("inconsistent request %+v", r)
			}
		}
		if pk, err := parsePacket(b); err == nil && pk.op == opOACK {
			// An OACK re-encodes to something that parses to the same options.
			names := make([]string, 0, len(pk.options))
			for k := range pk.options {
				names = append(names, k)
			}
			again, err := parsePacket(oackPacket(names, pk.options))
			if err != nil || len(again.options) != len(pk.options) {
				t.Fatalf("OACK round trip: %v %v", again.options, err)
			}
		}
	})
}
