package dispatch

// Issue 17 (depthcharge): the FIT and file steps. Both work on the job's
// own deployed files on the worker; neither runs a program a driver names.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"time"

	"github.com/ulikunitz/xz/lzma"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/power"
	"github.com/lavalab/lavalab/sdk"
)

// FITArgs returns mkimage's arguments for a FIT image of kernel (already
// compressed as compression says), dtb and ramdisk (either may be empty),
// written to out: LAVA's prepare-fit command (its -D value without the
// shell quotes LAVA puts around it; with -f auto mkimage does not run dtc).
func FITArgs(arch, compression, loadAddr, kernel, dtb, ramdisk, out string) []string {
	if compression == "" {
		compression = "none"
	}
	args := []string{"-D", "-I dts -O dtb -p 2048", "-f", "auto", "-A", arch, "-O", "linux", "-T", "kernel",
		"-C", compression, "-d", kernel, "-a", loadAddr}
	if dtb != "" {
		args = append(args, "-b", dtb)
	}
	if ramdisk != "" {
		args = append(args, "-i", ramdisk)
	}
	return append(args, out)
}

// fit assembles the FIT image of a FIT step beside the kernel and records
// it as the artifact "fit".
func (j *run) fit(ctx context.Context, f *sdk.FITStep) error {
	if err := f.Validate(); err != nil {
		return errorf(sdk.ErrorBug, "%v", err)
	}
	k, ok := j.worker.Artifacts["kernel"]
	if !ok || k.LocalPath == "" {
		return errorf(sdk.ErrorJob, "fit: no kernel was deployed")
	}
	mkimage, err := exec.LookPath("mkimage")
	if err != nil {
		return errorf(sdk.ErrorInfrastructure, "fit: mkimage is not installed on this worker (Debian's u-boot-tools): %v", err)
	}
	dir := filepath.Dir(k.LocalPath)
	kernel := k.LocalPath
	if f.Compression == "lzma" {
		kernel = k.LocalPath + ".lzma"
		if err := lzmaFile(k.LocalPath, kernel); err != nil {
			return errorf(sdk.ErrorInfrastructure, "fit: lzma %s: %v", filepath.Base(k.LocalPath), err)
		}
		j.log.info("fit: kernel compressed with lzma (%s)", filepath.Base(kernel))
	}
	ramdisk := j.worker.Artifacts["ramdisk"].LocalPath
	if ramdisk == "" {
		ramdisk = j.worker.Artifacts["initrd"].LocalPath
	}
	out := filepath.Join(dir, sdk.FITName)
	args := FITArgs(f.Arch, f.Compression, f.LoadAddr, kernel, j.worker.Artifacts["dtb"].LocalPath, ramdisk, out)
	line := "mkimage"
	for _, a := range args {
		line += " " + shellWord(a)
	}
	j.log.info("fit: %s", line)
	timeout := 2 * time.Minute
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	err = power.RunArgv(ctx, line, mkimage, args, timeout, os.Environ(), func(l string, stderr bool) {
		j.log.log(model.LevelDebug, ">> %s", l)
	})
	if err != nil {
		return errorf(sdk.ErrorInfrastructure, "fit: FIT image creation failed: %v", err)
	}
	j.worker.Artifacts["fit"] = sdk.Artifact{
		TFTPPath:  path.Join(path.Dir(k.TFTPPath), sdk.FITName),
		LocalPath: out,
		URL:       j.worker.HTTPBaseURL + "kernel/" + sdk.FITName,
	}
	return nil
}

// shellWord quotes a word for a log line when it needs it.
func shellWord(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == '/' || r == ':' || r == '=') {
			return "'" + s + "'"
		}
	}
	return s
}

// lzmaFile writes in compressed as LZMA ("lzma --keep": the .lzma format).
func lzmaFile(in, out string) (err error) {
	r, err := os.Open(in)
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := os.Create(out)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(out)
		}
	}()
	zw, err := lzma.NewWriter(w)
	if err != nil {
		return err
	}
	if _, err := io.Copy(zw, r); err != nil {
		return err
	}
	return zw.Close()
}

// writeFile writes a file step's text beside a deployed artifact and
// records it as the artifact of role Name. It never replaces a deployed
// file.
func (j *run) writeFile(f *sdk.FileStep) error {
	if err := f.Validate(); err != nil {
		return errorf(sdk.ErrorBug, "%v", err)
	}
	b, ok := j.worker.Artifacts[f.Beside]
	if !ok || b.LocalPath == "" {
		return errorf(sdk.ErrorJob, "file %s: no %s was deployed to put it beside", f.Name, f.Beside)
	}
	dest := filepath.Join(filepath.Dir(b.LocalPath), f.Name)
	for role, a := range j.worker.Artifacts {
		if a.LocalPath == dest && role != f.Name {
			return errorf(sdk.ErrorJob, "file %s: would replace the deployed %s", f.Name, role)
		}
	}
	if err := os.Remove(dest); err != nil && !errors.Is(err, os.ErrNotExist) {
		return errorf(sdk.ErrorInfrastructure, "file %s: %v", f.Name, err)
	}
	w, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return errorf(sdk.ErrorInfrastructure, "file %s: %v", f.Name, err)
	}
	_, err = io.WriteString(w, f.Text)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return errorf(sdk.ErrorInfrastructure, "file %s: %v", f.Name, err)
	}
	j.log.info("wrote %s beside the %s: %s", f.Name, f.Beside, fmt.Sprintf("%q", f.Text))
	j.worker.Artifacts[f.Name] = sdk.Artifact{
		TFTPPath:  path.Join(path.Dir(b.TFTPPath), f.Name),
		LocalPath: dest,
		URL:       j.worker.HTTPBaseURL + f.Beside + "/" + f.Name,
	}
	return nil
}
