package dispatch

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/sdk"
)

// scriptedUBoot is a board console run by connection_command: it prints an
// autoboot countdown, answers the interrupt with the prompt, echoes each
// command into the file received and answers with the prompt, except that
// with hang set "dhcp" never returns (the network does not answer). A boot
// command prints the kernel start and a shell prompt.
const scriptedUBoot = `received=$1; hang=$2
printf 'U-Boot 2023.01 (scripted)\r\n\r\nHit any key to stop autoboot:  1 '
read -r line
printf '\r\n=> '
while IFS= read -r line; do
	printf '%s\n' "$line" >> "$received"
	printf '%s\r\n' "$line"
	case "$line" in
	dhcp*)
		printf 'BOOTP broadcast 1\r\n'
		if [ -n "$hang" ]; then exec sleep 600; fi
		printf 'DHCP client bound to address 10.0.2.15\r\n=> ' ;;
	bootz*|booti*|bootm*)
		printf 'Starting kernel ...\r\n\r\n[    0.000000] Linux version 6.1.0 (scripted)\r\n/ # ' ;;
	*)
		printf '=> ' ;;
	esac
done
`

// nfsJob deploys a kernel, a dtb and an NFS root from files and boots them
// with the nfs commands; timeouts are extra lines under timeouts.
func nfsJob(t *testing.T, timeouts string) []byte {
	t.Helper()
	dir := t.TempDir()
	for name, data := range map[string]string{"zImage": "kernel", "socfpga.dtb": "dtb"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var tgz bytes.Buffer
	zw := gzip.NewWriter(&tgz)
	tw := tar.NewWriter(zw)
	for _, f := range []struct{ name, body string }{{"etc/hostname", "nfsboard\n"}, {"sbin/init", "#!/bin/sh\n"}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o755, Size: int64(len(f.body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rootfs.tar.gz"), tgz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return fmt.Appendf(nil, `job_name: soca9 nfs
device_type: soca9
visibility: public
timeouts:
  job: {minutes: 10}
  action: {minutes: 5}
%sactions:
- deploy:
    to: nfs
    kernel: {url: 'file://%[2]s/zImage', type: zimage}
    dtb: {url: 'file://%[2]s/socfpga.dtb'}
    nfsrootfs: {url: 'file://%[2]s/rootfs.tar.gz', compression: gz}
- boot:
    method: u-boot
    commands: nfs
    prompts: ['/ # ']
`, timeouts, dir)
}

// ubootDict is a soca9 dictionary whose console is the scripted U-Boot;
// received is where it writes the commands it got.
func ubootDict(t *testing.T, hang bool) (dict []byte, received string) {
	t.Helper()
	testenv.NeedTool(t, "sh")
	dir := t.TempDir()
	script := filepath.Join(dir, "uboot.sh")
	if err := os.WriteFile(script, []byte(scriptedUBoot), 0o644); err != nil {
		t.Fatal(err)
	}
	received = filepath.Join(dir, "received")
	h := "''"
	if hang {
		h = "hang"
	}
	return fmt.Appendf(nil, "{%% extends 'soca9.jinja2' %%}\n{%% set connection_command = 'sh %s %s %s' %%}\n", script, received, h), received
}

func newNFSDispatcher(t *testing.T, export string) *Dispatcher {
	t.Helper()
	d, err := New(context.Background(), Options{WorkDir: t.TempDir(), TFTPHost: "127.0.0.1", TFTPAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", FileURLDirs: []string{os.TempDir()},
		NFSExport: export, NFSServerIP: "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// TestNFSBoot: with an exported NFS directory the nfsrootfs is unpacked
// under it, the board's bootargs name it with {NFS_SERVER_IP}, and it is
// removed after the job.
func TestNFSBoot(t *testing.T) {
	export := t.TempDir()
	d := newNFSDispatcher(t, export)
	dict, received := ubootDict(t, false)
	rec := &recorder{}
	var sawRoot bool
	rec.hook = func(r model.LogRecord) {
		// While the job runs, the unpacked root is in the export.
		if strings.HasPrefix(r.Message, "serving nfsrootfs over NFS as 192.0.2.7:") {
			root := strings.TrimPrefix(r.Message, "serving nfsrootfs over NFS as 192.0.2.7:")
			b, err := os.ReadFile(filepath.Join(root, "etc", "hostname"))
			sawRoot = err == nil && string(b) == "nfsboard\n" && strings.HasPrefix(root, export+string(filepath.Separator))
		}
	}
	out := d.Run(context.Background(), Request{JobID: 77, Definition: nfsJob(t, ""), DeviceName: "soca9-01", Dictionary: dict,
		Driver: loadDriver(t, "soca9")}, rec)
	wantComplete(t, out, rec)
	if !sawRoot {
		t.Errorf("the nfsrootfs was not unpacked in the export while the job ran:\n%s", rec.text())
	}
	got, err := os.ReadFile(received)
	if err != nil {
		t.Fatal(err)
	}
	want := "nfsroot=192.0.2.7:" + filepath.Join(export, "jobs", "77", "nfsrootfs", "rootfs.tar") + ",tcp,hard"
	if !strings.Contains(string(got), want) {
		t.Errorf("the board's commands lack %q:\n%s", want, got)
	}
	if _, err := os.Stat(filepath.Join(export, "jobs", "77")); !os.IsNotExist(err) {
		t.Errorf("the job's NFS root is still in the export after the job (%v)", err)
	}
}

// TestNFSRefused: a worker that exports no NFS directory refuses the serve
// step, naming it, before the board is touched.
func TestNFSRefused(t *testing.T) {
	d := newNFSDispatcher(t, "")
	dict, received := ubootDict(t, false)
	rec := &recorder{}
	out := d.Run(context.Background(), Request{JobID: 78, Definition: nfsJob(t, ""), DeviceName: "soca9-01", Dictionary: dict,
		Driver: loadDriver(t, "soca9")}, rec)
	if out.Health != model.JobIncomplete || out.ErrorType != sdk.ErrorInfrastructure ||
		!strings.Contains(out.Error, "serve step nfs-deploy: the driver asks for the nfsrootfs over NFS and this worker exports no NFS directory") {
		t.Fatalf("outcome %s %s: %s\n%s", out.Health, out.ErrorType, out.Error, rec.text())
	}
	if _, err := os.Stat(received); !os.IsNotExist(err) {
		t.Errorf("the board got commands (%v)", err)
	}
}

// TestBootloaderCommandTimeout: timeouts.connections.bootloader-commands
// bounds each U-Boot command's wait for the prompt: a dhcp that never
// returns fails the job after it, naming the command, long before the
// action's 5 minutes.
func TestBootloaderCommandTimeout(t *testing.T) {
	d := newNFSDispatcher(t, t.TempDir())
	dict, received := ubootDict(t, true)
	rec := &recorder{}
	def := nfsJob(t, "  connections: {bootloader-commands: {seconds: 1}}\n")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	out := d.Run(ctx, Request{JobID: 79, Definition: def, DeviceName: "soca9-01", Dictionary: dict, Driver: loadDriver(t, "soca9")}, rec)
	if ctx.Err() != nil {
		t.Fatal("the job ran until the test's bound: the per-command timeout did not end it")
	}
	want := `bootloader command 2 "dhcp": timed out after 1s waiting for`
	if out.Health != model.JobIncomplete || out.ErrorType != sdk.ErrorInfrastructure || !strings.Contains(out.Error, want) ||
		!strings.Contains(out.Error, "uboot-action") {
		t.Fatalf("outcome %s %s: %s\nwant an Infrastructure error in uboot-action with %q\n%s", out.Health, out.ErrorType, out.Error, want, rec.text())
	}
	got, err := os.ReadFile(received)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "setenv autoload no\ndhcp\n" {
		t.Errorf("board received %q: nothing after dhcp should be sent", got)
	}
}
