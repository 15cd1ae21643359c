package dispatch

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cavaliergopher/cpio"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/ubootimg"
	"github.com/lavalab/lavalab/sdk"
)

// ramdiskGz is a gzipped cpio newc archive with one file, /init.
func ramdiskGz(t *testing.T) []byte {
	t.Helper()
	var raw bytes.Buffer
	cw := cpio.NewWriter(&raw)
	body := "#!/bin/sh\necho original-ramdisk\n"
	if err := cw.WriteHeader(&cpio.Header{Name: "init", Mode: cpio.TypeReg | 0o755, Size: int64(len(body))}); err != nil {
		t.Fatal(err)
	}
	cw.Write([]byte(body))
	if err := cw.Close(); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw.Bytes())
	zw.Close()
	return gz.Bytes()
}

// tftpGet reads a file with a plain RFC 1350 read request (512-byte blocks).
func tftpGet(t *testing.T, server net.Addr, name string) []byte {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rrq := append([]byte{0, 1}, []byte(name+"\x00octet\x00")...)
	if _, err := c.WriteTo(rrq, server); err != nil {
		t.Fatal(err)
	}
	var out []byte
	buf := make([]byte, 600)
	for want := uint16(1); ; want++ {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			t.Fatalf("tftp %s: %v", name, err)
		}
		if n < 4 || binary.BigEndian.Uint16(buf) != 3 {
			t.Fatalf("tftp %s: not a DATA packet: %q", name, buf[:n])
		}
		if blk := binary.BigEndian.Uint16(buf[2:]); blk != want {
			t.Fatalf("tftp %s: block %d, want %d", name, blk, want)
		}
		out = append(out, buf[4:n]...)
		c.WriteTo([]byte{0, 4, byte(want >> 8), byte(want)}, from)
		if n-4 < 512 {
			return out
		}
	}
}

func TestDeployRamdiskOverlayServed(t *testing.T) {
	rd := ramdiskGz(t)
	sum := sha256.Sum256(rd)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ramdisk.cpio.gz":
			w.Write(rd)
		case "/Image":
			w.Write([]byte("a kernel"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	d := newDispatcher(t)
	dict := localDict(t, "  add_header: u-boot\n  mkimage_arch: arm64\n")
	def := func(sha string) []byte {
		return jobWith("", `- deploy:
    to: tftp
    kernel:
      url: `+srv.URL+`/Image
      type: image
    ramdisk:
      url: `+srv.URL+`/ramdisk.cpio.gz
      compression: gz
      sha256sum: `+sha+`
`+bootAction+`- test:
    definitions:
    - from: inline
      name: smoke
      path: inline/smoke.yaml
      repository:
        metadata:
          format: Lava-Test Test Definition 1.0
          name: smoke
`+smokeSteps)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var httpBody, tftpBody []byte
	var httpErr error
	rec := &recorder{}
	rec.hook = func(r model.LogRecord) {
		if r.Level == model.LevelInfo && strings.HasPrefix(r.Message, "end: 1 tftp-deploy") {
			// The deploy is over: fetch the ramdisk as a board would, then
			// cancel the job.
			var resp *http.Response
			if resp, httpErr = http.Get(d.httpBase(4242) + "ramdisk/ramdisk.cpio"); httpErr == nil {
				httpBody, httpErr = io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					httpErr = errors.New(resp.Status)
				}
			}
			tftpBody = tftpGet(t, d.TFTPAddr(), "4242/ramdisk/ramdisk.cpio")
			cancel()
		}
	}
	out := d.Run(ctx, Request{JobID: 4242, Definition: def(hex.EncodeToString(sum[:])), Dictionary: dict, Driver: loadLocal(t)}, rec)
	if out.Health != model.JobCanceled {
		t.Fatalf("outcome %s %s: %s\n%s", out.Health, out.ErrorType, out.Error, rec.text())
	}
	if httpErr != nil {
		t.Fatalf("http: %v", httpErr)
	}
	if !bytes.Equal(httpBody, tftpBody) {
		t.Fatalf("http (%d bytes) and tftp (%d bytes) serve different ramdisks", len(httpBody), len(tftpBody))
	}
	h, err := ubootimg.Verify(bytes.NewReader(httpBody))
	if err != nil || h.Type != ubootimg.TypeRamdisk || h.Arch != ubootimg.ArchARM64 {
		t.Fatalf("u-boot header: %+v %v", h, err)
	}
	// Fetched gz-compressed, the ramdisk is served compressed again.
	zr, err := gzip.NewReader(bytes.NewReader(httpBody[ubootimg.HeaderSize:]))
	if err != nil {
		t.Fatalf("the ramdisk is not gzip-compressed again: %v", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	r := cpio.NewReader(bytes.NewReader(raw))
	for {
		hdr, err := r.Next()
		if err == io.EOF {
			break // the overlay is a second archive after this one's trailer
		}
		if err != nil {
			t.Fatal(err)
		}
		names[hdr.Name] = true
	}
	if !names["init"] {
		t.Errorf("the original ramdisk content is gone: %v", names)
	}
	if !bytes.Contains(raw, []byte("bin/lava-test-runner")) || !bytes.Contains(raw, []byte("0_smoke/run.sh")) {
		t.Error("the test overlay was not appended to the ramdisk")
	}
	if !rec.has(model.LevelInfo, "kernel: Image") {
		t.Errorf("kernel download not logged")
	}

	// The same ramdisk again comes from the cache; a wrong checksum is a
	// Job error.
	rec2 := &recorder{}
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	rec2.hook = func(r model.LogRecord) {
		if strings.HasPrefix(r.Message, "end: 1 tftp-deploy") {
			cancel2()
		}
	}
	d.Run(ctx2, Request{JobID: 4243, Definition: def(hex.EncodeToString(sum[:])), Dictionary: dict, Driver: loadLocal(t)}, rec2)
	if !rec2.has(model.LevelInfo, "(from cache)") {
		t.Errorf("second download not from the cache:\n%s", rec2.text())
	}
	out = runJob(t, d, def(strings.Repeat("0", 64)), dict, &recorder{})
	if out.Health != model.JobIncomplete || out.ErrorType != sdk.ErrorJob || !strings.Contains(out.Error, "sha256") {
		t.Errorf("checksum mismatch: %s %s: %s", out.Health, out.ErrorType, out.Error)
	}
}
