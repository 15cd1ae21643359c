package dispatch

// Issue 17: deploy to nbd through the dispatcher, with Debian's nbd-server
// and a scripted U-Boot board; an NBD client written here reads the export.

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/testenv"
)

// nbdRead reads n bytes at offset 0 of the default export of the NBD
// server at addr: the fixed newstyle handshake, NBD_OPT_EXPORT_NAME "",
// one NBD_CMD_READ (the protocol of nbd's doc/proto.md, written out).
func nbdRead(addr string, n uint32) ([]byte, uint64, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	hello := make([]byte, 18)
	if _, err := io.ReadFull(c, hello); err != nil {
		return nil, 0, fmt.Errorf("greeting: %w", err)
	}
	if string(hello[:8]) != "NBDMAGIC" || string(hello[8:16]) != "IHAVEOPT" {
		return nil, 0, fmt.Errorf("not a newstyle NBD server: %q", hello)
	}
	const fixedNewstyle, noZeroes = 1, 2
	var req bytes.Buffer
	binary.Write(&req, binary.BigEndian, uint32(fixedNewstyle|noZeroes))
	req.WriteString("IHAVEOPT")
	binary.Write(&req, binary.BigEndian, uint32(1)) // NBD_OPT_EXPORT_NAME
	binary.Write(&req, binary.BigEndian, uint32(0)) // the default export
	if _, err := c.Write(req.Bytes()); err != nil {
		return nil, 0, err
	}
	var size uint64
	var flags uint16
	if err := binary.Read(c, binary.BigEndian, &size); err != nil {
		return nil, 0, fmt.Errorf("export: %w", err)
	}
	if err := binary.Read(c, binary.BigEndian, &flags); err != nil {
		return nil, 0, err
	}
	req.Reset()
	binary.Write(&req, binary.BigEndian, uint32(0x25609513)) // request magic
	binary.Write(&req, binary.BigEndian, uint16(0))          // flags
	binary.Write(&req, binary.BigEndian, uint16(0))          // NBD_CMD_READ
	binary.Write(&req, binary.BigEndian, uint64(42))         // handle
	binary.Write(&req, binary.BigEndian, uint64(0))          // offset
	binary.Write(&req, binary.BigEndian, n)
	if _, err := c.Write(req.Bytes()); err != nil {
		return nil, 0, err
	}
	var reply struct {
		Magic, Error uint32
		Handle       uint64
	}
	if err := binary.Read(c, binary.BigEndian, &reply); err != nil {
		return nil, 0, fmt.Errorf("reply: %w", err)
	}
	if reply.Magic != 0x67446698 || reply.Error != 0 || reply.Handle != 42 {
		return nil, 0, fmt.Errorf("reply %+v", reply)
	}
	data := make([]byte, n)
	_, err = io.ReadFull(c, data)
	return data, size, err
}

// TestNBDDeploy runs a deploy to nbd and an nbd boot on a scripted U-Boot
// board: the worker exports the nbdroot with nbd-server while the job runs
// (read back over NBD), the board's bootargs name the export, and the
// server is gone when the job ends.
func TestNBDDeploy(t *testing.T) {
	testenv.NeedTool(t, "nbd-server")
	d := newDispatcher(t)
	dir := t.TempDir()
	root := bytes.Repeat([]byte("lavalab nbdroot "), 1<<12) // 64 KiB
	for name, data := range map[string][]byte{"zImage": []byte("kernel"), "initrd.cpio": []byte("070701 initrd"), "board.dtb": []byte("dtb"), "rootfs.ext4": root} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dict, received := ubootDict(t, false)
	def := fmt.Appendf(nil, `job_name: nbd
device_type: soca9
visibility: public
timeouts:
  job: {minutes: 2}
  action: {minutes: 1}
actions:
- deploy:
    to: nbd
    kernel: {url: 'file://%[1]s/zImage', type: zimage}
    initrd: {url: 'file://%[1]s/initrd.cpio'}
    dtb: {url: 'file://%[1]s/board.dtb'}
    nbdroot: {url: 'file://%[1]s/rootfs.ext4'}
- boot:
    method: u-boot
    commands: nbd
    prompts: ['/ # ']
`, dir)
	// Without a board (lava-run --plan-only): the port is LAVA's placeholder.
	plans, err := d.Plan(context.Background(), Request{JobID: 4247, Definition: def, DeviceName: "soca9-01", Dictionary: dict, Driver: loadDriver(t, "soca9")})
	if err != nil {
		t.Fatal(err)
	}
	var planned []string
	for _, p := range plans {
		for _, s := range p.Steps {
			if s.Commands != nil {
				planned = append(planned, s.Commands.Commands...)
			}
		}
	}
	if !strings.Contains(strings.Join(planned, "\n"), "nbd.server=127.0.0.1 nbd.port={NBDSERVERPORT} ") {
		t.Errorf("plan-only: the bootargs lack the NBD placeholder port: %q", planned)
	}

	rec := &recorder{}
	served := regexp.MustCompile(`^serving nbdroot over NBD at (\S+) `)
	var addr string
	var read []byte
	var size uint64
	var readErr error
	rec.hook = func(r model.LogRecord) {
		if m := served.FindStringSubmatch(r.Message); m != nil {
			addr = m[1]
			read, size, readErr = nbdRead(addr, 512)
		}
	}
	out := d.Run(context.Background(), Request{JobID: 4247, Definition: def, DeviceName: "soca9-01", Dictionary: dict, Driver: loadDriver(t, "soca9")}, rec)
	wantComplete(t, out, rec)
	if addr == "" {
		t.Fatalf("no NBD export logged:\n%s", rec.text())
	}
	if readErr != nil || !bytes.Equal(read, root[:512]) || size != uint64(len(root)) {
		t.Errorf("reading the export at %s: %v, size %d, %q", addr, readErr, size, read)
	}
	host, port, _ := net.SplitHostPort(addr)
	got, _ := os.ReadFile(received)
	if want := "nbd.server=" + host + " nbd.port=" + port + " root=/dev/ram0"; !strings.Contains(string(got), want) {
		t.Errorf("the board's commands lack %q:\n%s", want, got)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("nbd-server still listens on %s after the job", addr)
	}
}
