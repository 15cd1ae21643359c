package dispatch

// The attack suite's worker side (issue 13): what a job submitter could
// try against the worker's artifact servers. Each case asserts that
// nothing of the worker's own files leaked.

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/sdk"
)

// marker is the content of the "secret" files outside the job folder.
const marker = "WORKER-SECRET-4c1d"

// tftpTry reads a file over TFTP, returning the bytes or the error
// packet's message.
func tftpTry(t *testing.T, server net.Addr, name string) ([]byte, string) {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.WriteTo(append([]byte{0, 1}, []byte(name+"\x00octet\x00")...), server); err != nil {
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
		if n >= 4 && binary.BigEndian.Uint16(buf) == 5 {
			return out, string(bytes.TrimRight(buf[4:n], "\x00"))
		}
		if n < 4 || binary.BigEndian.Uint16(buf) != 3 {
			t.Fatalf("tftp %s: not a DATA packet: %q", name, buf[:n])
		}
		out = append(out, buf[4:n]...)
		c.WriteTo([]byte{0, 4, byte(want >> 8), byte(want)}, from)
		if n-4 < 512 {
			return out, ""
		}
	}
}

func httpTry(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// leakTar is a tar with the links of the report: leak -> a file outside,
// rootdir -> /, and the same through relative "..": plus one honest file.
func leakTar(t *testing.T, secret string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, h := range []tar.Header{
		{Name: "ok", Typeflag: tar.TypeReg, Mode: 0o644, Size: 2},
		{Name: "leak", Typeflag: tar.TypeSymlink, Linkname: secret},
		{Name: "passwd", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"},
		{Name: "rootdir", Typeflag: tar.TypeSymlink, Linkname: "/"},
		{Name: "sub/up", Typeflag: tar.TypeSymlink, Linkname: "../../../../../../../../"},
	} {
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write([]byte("ok"))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestAttackArtifactServing: a job deploying a tar of hostile links, and
// a board (or anyone on the lab network) asking the HTTP and TFTP servers
// for the worker's files, other jobs' files and folder listings.
func TestAttackArtifactServing(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "shadow")
	if err := os.WriteFile(secret, []byte(marker), 0o644); err != nil {
		t.Fatal(err)
	}
	passwd, _ := os.ReadFile("/etc/passwd")
	tarBody := leakTar(t, secret)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/leak.tar" {
			w.Write(tarBody)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	d := newDispatcher(t)
	def := jobWith("", `- deploy:
    to: tftp
    kernel:
      url: `+srv.URL+`/leak.tar
      archive: tar
`+bootAction)
	leaked := func(body string) bool {
		return strings.Contains(body, marker) || (len(passwd) > 0 && strings.Contains(body, "root:x:0")) ||
			(len(passwd) > 0 && strings.Contains(body, string(passwd[:min(len(passwd), 32)])))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base := d.httpBase(4242)
	host := strings.TrimSuffix(base, "/4242/"+d.art.secret("4242")+"/")
	type probe struct {
		name, url string
		code      int
	}
	var probes []probe
	var checked bool
	rec := &recorder{}
	rec.hook = func(r model.LogRecord) {
		if r.Level != model.LevelInfo || !strings.HasPrefix(r.Message, "end: 1 tftp-deploy") {
			return
		}
		defer cancel()
		checked = true
		probes = []probe{
			{"the job's own file", base + "kernel/leak.tar/ok", 200},
			{"symlink to a file outside", base + "kernel/leak.tar/leak", 404},
			{"symlink to /etc/passwd", base + "kernel/leak.tar/passwd", 404},
			{"rootdir -> / then /etc/passwd", base + "kernel/leak.tar/rootdir/etc/passwd", 404},
			{"rootdir -> / then the secret", base + "kernel/leak.tar/rootdir" + secret, 404},
			{"../.. link then /etc/passwd", base + "kernel/leak.tar/sub/up/etc/passwd", 404},
			{"dot-dot in the URL", base + "kernel/../../../../etc/passwd", 404},
			{"encoded dot-dot", base + "kernel/%2e%2e/%2e%2e/%2e%2e/etc/passwd", 404},
			{"listing of the server root", host + "/", 404},
			{"listing of the job folder", base, 404},
			{"listing of a role folder", base + "kernel/", 404},
			{"listing of the tar folder", base + "kernel/leak.tar/", 404},
			{"no secret (guessed path)", host + "/4242/kernel/leak.tar/ok", 404},
			{"another job's secret", host + "/4242/" + d.art.secret("4243") + "/kernel/leak.tar/ok", 404},
			{"a secret of the wrong length", host + "/4242/" + d.art.secret("4242")[:16] + "/kernel/leak.tar/ok", 404},
		}
		for i, p := range probes {
			code, body := httpTry(t, p.url)
			if code != p.code {
				t.Errorf("HTTP %s: %s answered %d, want %d (%.80q)", p.name, p.url, code, p.code, body)
			}
			if leaked(body) || strings.Contains(body, "leak.tar") || strings.Contains(body, "kernel") {
				t.Errorf("HTTP %s: the answer leaks: %.200q", p.name, body)
			}
			probes[i].code = code
		}
		for _, name := range []string{"4242/kernel/leak.tar/leak", "4242/kernel/leak.tar/passwd",
			"4242/kernel/leak.tar/rootdir/etc/passwd", "4242/kernel/leak.tar/sub/up/etc/passwd", "4242/../../etc/passwd",
			"/etc/passwd", "4242/kernel/leak.tar"} {
			got, errMsg := tftpTry(t, d.TFTPAddr(), name)
			if errMsg == "" || leaked(string(got)) {
				t.Errorf("TFTP %s: served %d bytes (%.40q)", name, len(got), got)
			}
		}
		if got, errMsg := tftpTry(t, d.TFTPAddr(), "4242/kernel/leak.tar/ok"); errMsg != "" || string(got) != "ok" {
			t.Errorf("TFTP of the job's own file: %q %s", got, errMsg)
		}
	}
	d.Run(ctx, Request{JobID: 4242, Definition: def, Dictionary: localDict(t, ""), Driver: loadLocal(t)}, rec)
	if !checked {
		t.Fatalf("the deploy never ended:\n%s", rec.text())
	}
	// Finished: the job's folder is gone, its URLs answer 404.
	if code, _ := httpTry(t, base+"kernel/leak.tar/ok"); code != 404 {
		t.Errorf("a finished job's file answered %d", code)
	}
	if _, err := os.Stat(filepath.Join(d.jobsDir, "4242")); !os.IsNotExist(err) {
		t.Errorf("the finished job's folder is still there: %v", err)
	}
	if leaked(rec.text()) {
		t.Error("the job log leaks the worker's files")
	}
}

// TestAttackFileURL: a file:// artifact outside the folders the worker's
// admin allows is refused (a Job error), and neither copied into the job
// folder nor quoted in the log or the outcome.
func TestAttackFileURL(t *testing.T) {
	allowed, outside := t.TempDir(), t.TempDir()
	secret := filepath.Join(outside, "shadow")
	if err := os.WriteFile(secret, []byte(marker+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(allowed, "shadow")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(allowed, "Image"), []byte("a kernel"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("a kernel")) }))
	defer srv.Close()
	for _, dirs := range [][]string{nil, {allowed}} {
		d, err := New(context.Background(), Options{WorkDir: t.TempDir(), TFTPHost: "127.0.0.1", TFTPAddr: "127.0.0.1:0",
			HTTPAddr: "127.0.0.1:0", FileURLDirs: dirs, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		for _, u := range []string{"file://" + secret, "file://" + allowed + "/shadow", "file://" + allowed + "/../" + filepath.Base(outside) + "/shadow"} {
			for _, role := range []string{"kernel", "ramdisk"} {
				rec := &recorder{}
				deploy := "    kernel:\n      url: '" + u + "'\n"
				if role == "ramdisk" {
					deploy = "    kernel:\n      url: " + srv.URL + "/Image\n    ramdisk:\n      url: '" + u + "'\n"
				}
				def := jobWith("", "- deploy:\n    to: tftp\n"+deploy+bootAction)
				out := runJob(t, d, def, localDict(t, ""), rec)
				if out.Health != model.JobIncomplete || out.ErrorType != sdk.ErrorJob || !strings.Contains(out.Error, "refused") {
					t.Errorf("allowed %v, %s %s: %s %s: %s", dirs, role, u, out.Health, out.ErrorType, out.Error)
				}
				if strings.Contains(out.Error, marker) || strings.Contains(rec.text(), marker) {
					t.Errorf("allowed %v, %s %s: the secret is in the log or the outcome", dirs, role, u)
				}
			}
		}
	}
}

// TestAttackRamdiskBytesNotQuoted: a ramdisk that is neither cpio nor
// gzip fails without its first bytes in the message.
func TestAttackRamdiskBytesNotQuoted(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ramdisk"), []byte(marker+" and more"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := newDispatcher(t)
	rec := &recorder{}
	def := jobWith("", "- deploy:\n    to: tftp\n    kernel:\n      url: 'file://"+dir+"/ramdisk'\n    ramdisk:\n      url: 'file://"+dir+"/ramdisk'\n"+bootAction+
		"- test:\n    definitions:\n    - from: inline\n      name: smoke\n      path: inline/smoke.yaml\n      repository:\n        metadata:\n          format: Lava-Test Test Definition 1.0\n          name: smoke\n"+smokeSteps)
	out := runJob(t, d, def, localDict(t, ""), rec)
	if out.Health != model.JobIncomplete || !strings.Contains(out.Error, "not a cpio") {
		t.Fatalf("%s %s: %s\n%s", out.Health, out.ErrorType, out.Error, rec.text())
	}
	hexMarker := fmt.Sprintf("% x", marker[:8])
	for _, s := range []string{out.Error, rec.text()} {
		if strings.Contains(s, marker[:8]) || strings.Contains(s, hexMarker) {
			t.Errorf("the ramdisk's bytes are quoted: %s", s)
		}
	}
}
