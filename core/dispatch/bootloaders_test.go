package dispatch

// Issue 17: depthcharge's FIT image and cmdline file, and boot failures
// of barebox and depthcharge boards, through the dispatcher with scripted
// consoles (connection_command) and the drivers built to WASM.

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/hosttools"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/sdk"
)

// scriptedDepthcharge prints depthcharge's netboot start and prompt; its
// tftpboot checks that the FIT image and the cmdline file are in the TFTP
// root ($1) and lists the FIT image with mkimage -l and the command line,
// then starts the kernel, or with fail ($3) fails as depthcharge does.
const scriptedDepthcharge = `root=$1; received=$2; fail=$3
printf 'Starting depthcharge on Bench...\r\nStarting netboot on bench...\r\ndpch: '
while IFS= read -r line; do
	printf '%s\n' "$line" >> "$received"
	printf '%s\r\n' "$line"
	case "$line" in
	tftpboot*)
		if [ -n "$fail" ]; then printf 'Waiting for link\r\nTftp failed.\r\ndpch: '; continue; fi
		set -- $line
		mkimage -l "$root/$3" | sed 's/$/\r/'
		printf 'cmdline: %s\r\n' "$(cat "$root/$4")"
		printf 'Starting kernel ...\r\n[    0.000000] Linux version 6.1.0 (scripted)\r\n/ # ' ;;
	*) printf 'dpch: ' ;;
	esac
done
`

// scriptedBarebox stops at the prompt on a line and fails its bootm as
// barebox does when the TFTP server has no such file.
const scriptedBarebox = `received=$1
printf 'barebox 2023.01.0 #1\r\nHit m for menu or any other key to stop autoboot:    3'
read -r line
printf '\r\nbarebox@Bench:/ '
while IFS= read -r line; do
	printf '%s\n' "$line" >> "$received"
	printf '%s\r\n' "$line"
	case "$line" in
	bootm*) printf 'ERROR: could not open /mnt/tftp/4244/kernel/zImage: No such file or directory\r\nbarebox@Bench:/ ' ;;
	*) printf 'barebox@Bench:/ ' ;;
	esac
done
`

// bootFiles writes a kernel, a dtb and a ramdisk for a job and returns
// their folder.
func bootFiles(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range map[string]string{"Image": strings.Repeat("kernel ", 4096), "board.dtb": "\xd0\x0d\xfe\xed dtb", "ramdisk.cpio": "070701 ramdisk"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func scriptFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "console.sh")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDepthchargeBoot runs a depthcharge job: the deploy assembles the FIT
// image with mkimage (the arm64 kernel compressed with lzma), the boot
// writes the cmdline file, and the board's tftpboot finds both.
func TestDepthchargeBoot(t *testing.T) {
	testenv.NeedTool(t, "mkimage")
	for _, fail := range []bool{false, true} {
		t.Run(map[bool]string{false: "boots", true: "tftp-fails"}[fail], func(t *testing.T) {
			work := t.TempDir()
			d, err := New(context.Background(), Options{WorkDir: work, TFTPHost: "127.0.0.1", TFTPAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
				FileURLDirs: []string{os.TempDir()}, Logger: slog.New(slog.DiscardHandler), Tools: testTools(t)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			files := bootFiles(t)
			script := scriptFile(t, scriptedDepthcharge)
			tmp := t.TempDir()
			received, powerOff := filepath.Join(tmp, "received"), filepath.Join(tmp, "power-off")
			f := "''"
			if fail {
				f = "fail"
			}
			dict := fmt.Appendf(nil, "{%% extends 'depthcharge.jinja2' %%}\n{%% set mkimage_fit_arch = 'arm64' %%}\n{%% set console_device = 'ttyS2' %%}\n"+
				"{%% set connection_command = 'sh %s %s %s %s' %%}\n{%% set power_off_command = 'touch %s' %%}\n",
				script, filepath.Join(work, "jobs"), received, f, powerOff)
			def := fmt.Appendf(nil, `job_name: depthcharge
device_type: depthcharge
visibility: public
timeouts:
  job: {minutes: 2}
  action: {minutes: 1}
actions:
- deploy:
    to: tftp
    kernel: {url: 'file://%[1]s/Image', type: image}
    dtb: {url: 'file://%[1]s/board.dtb'}
    ramdisk: {url: 'file://%[1]s/ramdisk.cpio'}
- boot:
    method: depthcharge
    commands: ramdisk
    extra_kernel_args: loglevel=8
    prompts: ['/ # ']
`, files)
			rec := &recorder{}
			out := d.Run(context.Background(), Request{JobID: 4243, Definition: def, DeviceName: "chromebook-01", Dictionary: dict, Driver: loadDriver(t, "depthcharge")}, rec)
			if _, err := os.Stat(powerOff); err != nil {
				t.Errorf("the board was not powered off at the end: %v", err)
			}
			got, _ := os.ReadFile(received)
			if want := "tftpboot 127.0.0.1 4243/kernel/image.itb 4243/kernel/cmdline \n"; string(got) != want {
				t.Errorf("the board received %q, want %q", got, want)
			}
			if fail {
				if out.Health != model.JobIncomplete || out.ErrorType != sdk.ErrorInfrastructure || !strings.Contains(out.Error, `"Tftp failed."`) {
					t.Fatalf("outcome %s %s: %s\nwant Incomplete with depthcharge's Tftp failed.\n%s", out.Health, out.ErrorType, out.Error, rec.text())
				}
				return
			}
			wantComplete(t, out, rec)
			for _, want := range []string{
				"fit: mkimage -D '-I dts -O dtb -p 2048' -f auto -A arm64 -O linux -T kernel -C lzma -d " + filepath.Join(work, "jobs", "4243", "kernel", "Image.lzma"),
				"Image 0 (kernel-1)", "Compression:  lzma compressed", "Image 1 (fdt-1)", "Image 2 (ramdisk-1)",
				"cmdline: console=ttyS2,115200n8 root=/dev/ram0 ip=dhcp loglevel=8",
			} {
				if !rec.has("", want) {
					t.Errorf("the log lacks %q:\n%s", want, rec.text())
				}
			}
		})
	}
}

// TestBareboxBootFails: a bootm that barebox cannot load ends the job
// Incomplete with barebox's own error line, and the board is powered off.
func TestBareboxBootFails(t *testing.T) {
	d := newDispatcher(t)
	files := bootFiles(t)
	tmp := t.TempDir()
	received, powerOff := filepath.Join(tmp, "received"), filepath.Join(tmp, "power-off")
	dict := fmt.Appendf(nil, "{%% extends 'barebox.jinja2' %%}\n{%% set bootloader_prompt = 'barebox@Bench:/ ' %%}\n{%% set interrupt_prompt = 'stop autoboot' %%}\n"+
		"{%% set connection_command = 'sh %s %s' %%}\n{%% set power_off_command = 'touch %s' %%}\n", scriptFile(t, scriptedBarebox), received, powerOff)
	def := fmt.Appendf(nil, `job_name: barebox
device_type: barebox
visibility: public
timeouts:
  job: {minutes: 2}
  action: {minutes: 1}
actions:
- deploy:
    to: tftp
    kernel: {url: 'file://%[1]s/Image', type: zimage}
    dtb: {url: 'file://%[1]s/board.dtb'}
    ramdisk: {url: 'file://%[1]s/ramdisk.cpio'}
- boot:
    method: barebox
    commands: ramdisk
    prompts: ['/ # ']
`, files)
	rec := &recorder{}
	out := d.Run(context.Background(), Request{JobID: 4244, Definition: def, DeviceName: "barebox-01", Dictionary: dict, Driver: loadDriver(t, "barebox")}, rec)
	want := "ERROR: could not open /mnt/tftp/4244/kernel/zImage: No such file or directory"
	if out.Health != model.JobIncomplete || out.ErrorType != sdk.ErrorInfrastructure || !strings.Contains(out.Error, want) {
		t.Fatalf("outcome %s %s: %s\nwant Incomplete with %q\n%s", out.Health, out.ErrorType, out.Error, want, rec.text())
	}
	if _, err := os.Stat(powerOff); err != nil {
		t.Errorf("the board was not powered off at the end: %v", err)
	}
	got, _ := os.ReadFile(received)
	if want := "bootm -v -r /mnt/tftp/4244/ramdisk/ramdisk.cpio -o /mnt/tftp/4244/dtb/board.dtb /mnt/tftp/4244/kernel/Image\n"; string(got) != want {
		t.Errorf("the board received %q, want %q", got, want)
	}
}

// TestFITArgs: mkimage's arguments are LAVA's prepare-fit command
// (lava_dispatcher/actions/deploy/prepare.py, written out here), but for
// the -D value's shell quotes: no shell runs mkimage here.
func TestFITArgs(t *testing.T) {
	lava := func(arch, comp, load, kernel, dtb, ramdisk, out string) []string {
		cmd := []string{"mkimage", "-D", `"-I dts -O dtb -p 2048"`, "-f", "auto", "-A", arch, "-O", "linux", "-T", "kernel", "-C", comp, "-d", kernel, "-a", load}
		if dtb != "" {
			cmd = append(cmd, "-b", dtb)
		}
		if ramdisk != "" {
			cmd = append(cmd, "-i", ramdisk)
		}
		return append(cmd, out)
	}
	for _, c := range [][7]string{
		{"arm64", "lzma", "0", "/w/Image.lzma", "/w/b.dtb", "/w/r.cpio.gz", "/w/image.itb"},
		{"arm", "none", "0x80008000", "/w/zImage", "/w/b.dtb", "", "/w/image.itb"},
		{"arm", "none", "0", "/w/zImage", "", "", "/w/image.itb"},
	} {
		want := lava(c[0], c[1], c[2], c[3], c[4], c[5], c[6])[1:]
		want[1] = strings.Trim(want[1], `"`)
		if got := FITArgs(c[0], c[1], c[2], c[3], c[4], c[5], c[6]); !reflect.DeepEqual(got, want) {
			t.Errorf("FITArgs%v:\n got %q\nwant %q", c, got, want)
		}
	}
}

// TestExamplePlans17 plans the examples of issue 17 without a board (as
// lava-run --plan-only does): each example job on its example device gets
// the plan its driver gives, the sandbox's verdict included.
func TestExamplePlans17(t *testing.T) {
	root := testenv.RepoRoot(t)
	d := newDispatcherTools(t, testTools(t, hosttools.Rule{Name: "ssh", DeviceTypes: []string{"ssh"}}))
	for _, c := range []struct{ job, device, driver, kinds string }{
		{"barebox-ramdisk", "barebox-01.jinja2", "barebox", "serve|connect power power interrupt commands expect wait_shell|test_shell"},
		{"depthcharge-ramdisk", "depthcharge-01.jinja2", "depthcharge", "serve fit|file connect power expect expect commands expect wait_shell|test_shell"},
		{"ssh-smoke", "ssh-01.jinja2", "ssh", "|connect wait_shell|test_shell"},
		{"uboot-nbd", "uboot-01.jinja2", "uboot", "serve|connect power power interrupt commands expect login wait_shell"},
		{"uefi-menu-ramdisk", "uefi-01.jinja2", "qemu-uefi-arm64", "serve|connect power power interrupt menu expect wait_shell|test_shell"},
		{"uefi-shell-ramdisk", "uefi-shell-01.jinja2", "qemu-uefi-arm64", "serve|connect power power interrupt menu expect interrupt commands expect wait_shell|test_shell"},
	} {
		t.Run(c.job, func(t *testing.T) {
			def, err := os.ReadFile(filepath.Join(root, "examples", "jobs", c.job+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			dict, err := os.ReadFile(filepath.Join(root, "examples", "devices", c.device))
			if err != nil {
				t.Fatal(err)
			}
			plans, err := d.Plan(context.Background(), Request{JobID: 1, Definition: def, DeviceName: strings.TrimSuffix(c.device, ".jinja2"), Dictionary: dict, Driver: loadDriver(t, c.driver)})
			if err != nil {
				t.Fatal(err)
			}
			var stages []string
			for _, p := range plans {
				var kinds []string
				for _, s := range p.Steps {
					kinds = append(kinds, s.Kind)
				}
				stages = append(stages, strings.Join(kinds, " "))
			}
			if got := strings.Join(stages, "|"); got != c.kinds {
				t.Errorf("plan kinds %q, want %q", got, c.kinds)
			}
		})
	}
}
