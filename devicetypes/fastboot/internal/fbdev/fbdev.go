package fbdev

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/creack/pty"
)

// MaxDownload is the max-download-size the device reports.
const MaxDownload = 64 << 20

// Prompt is the prompt of the device's shell once its "OS" runs.
const Prompt = "fbdev-os# "

// Device is a running fastboot test device.
type Device struct {
	fb, con net.Listener
	parts   []string

	mu       sync.Mutex
	commands []string          // the fastboot commands received, in order
	flashed  map[string][]byte // partition -> the bytes flashed last
	booted   []byte            // the image of the last `boot`
	mode     string            // "fastboot" or "os"
	consoles map[net.Conn]*shell
	closed   bool
	wg       sync.WaitGroup
}

// shell is the OS's shell on one console connection.
type shell struct {
	cmd *exec.Cmd
	pty *os.File
}

// Start starts a device that accepts flashing the named partitions, on
// two ports of 127.0.0.1 (fastboot and the console). Close stops it.
func Start(partitions ...string) (*Device, error) {
	fb, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fbdev: fastboot port: %w", err)
	}
	con, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fb.Close()
		return nil, fmt.Errorf("fbdev: console port: %w", err)
	}
	d := &Device{fb: fb, con: con, parts: partitions, flashed: map[string][]byte{}, mode: "fastboot", consoles: map[net.Conn]*shell{}}
	d.wg.Add(2)
	go d.accept(fb, d.serveFastboot)
	go d.accept(con, d.serveConsole)
	return d, nil
}

// Addr is the fastboot address (fastboot -s tcp:ADDR).
func (d *Device) Addr() string { return d.fb.Addr().String() }

// ConsoleAddr is the console's address (a connection_tcp).
func (d *Device) ConsoleAddr() string { return d.con.Addr().String() }

// Commands returns the fastboot commands received so far.
func (d *Device) Commands() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.commands)
}

// Flashed returns the bytes last flashed to a partition.
func (d *Device) Flashed(part string) ([]byte, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	b, ok := d.flashed[part]
	return b, ok
}

// Booted returns the image of the last `fastboot boot`.
func (d *Device) Booted() []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.booted
}

// ResetOn makes a file at path the device's reset line: when the file
// appears the device resets into fastboot mode (its OS's shells stop) and
// removes the file. A power command that creates it and waits until it is
// gone resets the device synchronously:
//
//	touch PATH; while [ -e PATH ]; do sleep 0.05; done
func (d *Device) ResetOn(path string) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		for {
			d.mu.Lock()
			closed := d.closed
			d.mu.Unlock()
			if closed {
				return
			}
			if _, err := os.Stat(path); err == nil {
				d.reset()
				_ = os.Remove(path)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
}

// reset stops the OS: fastboot mode, no shell on any console.
func (d *Device) reset() {
	d.mu.Lock()
	d.mode = "fastboot"
	var shells []*shell
	for c, sh := range d.consoles {
		if sh != nil {
			shells = append(shells, sh)
			d.consoles[c] = nil
		}
	}
	d.mu.Unlock()
	for _, sh := range shells {
		sh.stop()
	}
	d.consoleLine("fbdev: reset, fastboot mode")
}

// Close stops the device, its consoles and their shells.
func (d *Device) Close() error {
	d.mu.Lock()
	d.closed = true
	for c := range d.consoles {
		c.Close()
	}
	d.mu.Unlock()
	d.fb.Close()
	d.con.Close()
	d.wg.Wait()
	return nil
}

func (d *Device) accept(ln net.Listener, serve func(net.Conn)) {
	defer d.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			serve(c)
		}()
	}
}

// console writes a line on every console.
func (d *Device) consoleLine(format string, args ...any) {
	line := fmt.Sprintf(format, args...) + "\r\n"
	d.mu.Lock()
	defer d.mu.Unlock()
	for c := range d.consoles {
		_, _ = c.Write([]byte(line))
	}
}

func (d *Device) serveConsole(c net.Conn) {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		c.Close()
		return
	}
	d.consoles[c] = nil
	mode := d.mode
	d.mu.Unlock()
	if mode == "os" {
		d.startShell(c)
	} else {
		_, _ = c.Write([]byte("fbdev: fastboot mode, waiting for commands\r\n"))
	}
	// Console input goes to the shell when one runs; before, it is dropped.
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			d.mu.Lock()
			sh := d.consoles[c]
			d.mu.Unlock()
			if sh != nil {
				_, _ = sh.pty.Write(buf[:n])
			}
		}
		if err != nil {
			break
		}
	}
	d.mu.Lock()
	sh := d.consoles[c]
	delete(d.consoles, c)
	d.mu.Unlock()
	c.Close()
	if sh != nil {
		sh.stop()
	}
}

// boot "starts the OS": a shell on every console.
func (d *Device) boot(why string) {
	d.mu.Lock()
	d.mode = "os"
	conns := make([]net.Conn, 0, len(d.consoles))
	for c, sh := range d.consoles {
		if sh == nil {
			conns = append(conns, c)
		}
	}
	d.mu.Unlock()
	d.consoleLine("fbdev: %s, starting the OS", why)
	for _, c := range conns {
		d.startShell(c)
	}
}

// startShell starts sh in a pty whose output goes to the console c.
func (d *Device) startShell(c net.Conn) {
	cmd := exec.Command("/bin/sh")
	cmd.Env = append(os.Environ(), "PS1="+Prompt, "TERM=dumb", "ENV=")
	f, err := pty.Start(cmd)
	if err != nil {
		_, _ = c.Write([]byte("fbdev: cannot start a shell: " + err.Error() + "\r\n"))
		return
	}
	sh := &shell{cmd: cmd, pty: f}
	d.mu.Lock()
	if _, ok := d.consoles[c]; !ok || d.closed {
		d.mu.Unlock()
		sh.stop()
		return
	}
	d.consoles[c] = sh
	d.mu.Unlock()
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		_, _ = io.Copy(c, f)
	}()
}

func (s *shell) stop() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.pty.Close()
}

// The TCP transport: a handshake, then packets of an 8-byte big-endian
// length and the bytes.
func readPacket(c net.Conn) ([]byte, error) {
	var hdr [8]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint64(hdr[:])
	if n > MaxDownload {
		return nil, fmt.Errorf("packet of %d bytes", n)
	}
	b := make([]byte, n)
	_, err := io.ReadFull(c, b)
	return b, err
}

func writePacket(c net.Conn, s string) error {
	var hdr [8]byte
	binary.BigEndian.PutUint64(hdr[:], uint64(len(s)))
	_, err := c.Write(append(hdr[:], s...))
	return err
}

func (d *Device) record(cmd string) {
	d.mu.Lock()
	d.commands = append(d.commands, cmd)
	d.mu.Unlock()
}

// serveFastboot serves one fastboot client connection.
func (d *Device) serveFastboot(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Minute))
	var hs [4]byte
	if _, err := io.ReadFull(c, hs[:]); err != nil || !bytes.HasPrefix(hs[:], []byte("FB")) {
		return
	}
	if _, err := c.Write([]byte("FB01")); err != nil {
		return
	}
	var data []byte
	for {
		p, err := readPacket(c)
		if err != nil {
			return
		}
		cmd := string(p)
		d.record(cmd)
		reply, after := d.command(c, cmd, &data)
		if reply != "" {
			if err := writePacket(c, reply); err != nil {
				return
			}
		}
		if after != nil {
			after()
		}
		if errors.Is(d.stop(cmd), errClose) {
			return
		}
	}
}

var errClose = errors.New("close")

// stop says whether the connection ends after cmd (the device reboots).
func (d *Device) stop(cmd string) error {
	if strings.HasPrefix(cmd, "reboot") || cmd == "boot" || cmd == "continue" {
		return errClose
	}
	return nil
}

// command answers one fastboot command; after runs once the answer is sent.
func (d *Device) command(c net.Conn, cmd string, data *[]byte) (reply string, after func()) {
	name, arg, _ := strings.Cut(cmd, ":")
	switch name {
	case "getvar":
		return d.getvar(arg)
	case "download":
		n, err := strconv.ParseUint(arg, 16, 32)
		if err != nil || n > MaxDownload {
			return "FAILbad download size " + arg, nil
		}
		if err := writePacket(c, fmt.Sprintf("DATA%08x", n)); err != nil {
			return "", nil
		}
		buf := make([]byte, 0, n)
		for uint64(len(buf)) < n {
			p, err := readPacket(c)
			if err != nil {
				return "", nil
			}
			buf = append(buf, p...)
		}
		if uint64(len(buf)) != n {
			return "FAILdownloaded too much", nil
		}
		*data = buf
		return "OKAY", nil
	case "flash":
		if !slices.Contains(d.parts, arg) {
			return "FAILpartition does not exist", nil
		}
		if *data == nil {
			return "FAILno image downloaded", nil
		}
		d.mu.Lock()
		d.flashed[arg] = *data
		d.mu.Unlock()
		d.consoleLine("fbdev: flashed %s (%d bytes)", arg, len(*data))
		return "OKAY", nil
	case "erase":
		if !slices.Contains(d.parts, arg) {
			return "FAILpartition does not exist", nil
		}
		d.mu.Lock()
		delete(d.flashed, arg)
		d.mu.Unlock()
		return "OKAY", nil
	case "boot":
		if *data == nil {
			return "FAILno image downloaded", nil
		}
		d.mu.Lock()
		d.booted = *data
		d.mu.Unlock()
		return "OKAY", func() { d.boot("booting the downloaded image") }
	case "continue":
		return "OKAY", func() { d.boot("continuing") }
	case "reboot":
		return "OKAY", func() { d.boot("rebooting") }
	case "reboot-bootloader", "reboot-fastboot":
		return "OKAY", func() { d.consoleLine("fbdev: rebooting into fastboot") }
	}
	return "FAILunknown command " + name, nil
}

func (d *Device) getvar(v string) (string, func()) {
	name, arg, _ := strings.Cut(v, ":")
	switch name {
	case "max-download-size":
		return fmt.Sprintf("OKAY0x%08x", MaxDownload), nil
	case "product":
		return "OKAYfbdev", nil
	case "version":
		return "OKAY0.4", nil
	case "serialno":
		return "OKAYfbdev-01", nil
	case "is-userspace", "is-logical", "has-slot", "secure", "unlocked":
		if name == "unlocked" {
			return "OKAYyes", nil
		}
		return "OKAYno", nil
	case "partition-type":
		if slices.Contains(d.parts, arg) {
			return "OKAYraw", nil
		}
	case "partition-size":
		if slices.Contains(d.parts, arg) {
			return fmt.Sprintf("OKAY0x%08x", MaxDownload), nil
		}
	}
	return "FAILunknown variable " + v, nil
}
