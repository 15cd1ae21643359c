package dispatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/gzip"

	"github.com/lavalab/lavalab/core/artifacts"
	"github.com/lavalab/lavalab/core/testshell"
	"github.com/lavalab/lavalab/core/ubootimg"
	"github.com/lavalab/lavalab/sdk"
)

// buildOverlay builds the job's LAVA test shell overlay.
func (j *run) buildOverlay(ctx context.Context) error {
	tj, err := testshell.JobFromYAML(j.id, j.r.Definition)
	if err != nil {
		return errorf(sdk.ErrorJob, "test definitions: %v", err)
	}
	tj.DispatcherIP = j.d.o.TFTPHost
	if env := sdk.Values(j.p.Settings).Map("environment"); env != nil {
		tj.DeviceEnvironment = env
	}
	tj.Multinode = j.overlayMultinode() // issue 21: multinode.go
	j.log.info("building the test overlay (%d test stage(s))", len(tj.Stages))
	opts := j.overlayOptions()
	ov, err := testshell.Build(ctx, tj, opts)
	if err != nil {
		return errorf(sdk.ErrorJob, "test overlay: %v", err)
	}
	for _, r := range ov.Runs {
		j.log.debug("test definition %s from %s %s %s", r.ID, r.From, r.Repository, r.Path)
	}
	j.overlay = ov
	return nil
}

func (j *run) overlayOptions() testshell.Options {
	s := sdk.Values(j.p.Settings)
	opts := testshell.Options{
		ResultsDir: s.String("lava_test_results_dir", testshell.DefaultResultsDir),
		Shell:      s.String("lava_test_sh_cmd", testshell.DefaultShell),
		Fetcher:    artifacts.Streamer{D: j.d.dl},
		TempDir:    j.dir,
		Logger:     j.d.o.Logger,
	}
	for _, st := range j.p.Stages {
		if st.Action.Kind == sdk.ActionDeploy {
			if os := st.Action.Params.String("os", ""); os != "" {
				opts.OS = os
			}
		}
	}
	return opts
}

// artifact returns the facts of a deployed file.
func (j *run) artifact(rs resource, name string) sdk.Artifact {
	rel := j.id + "/" + rs.Role + "/" + name
	return sdk.Artifact{
		TFTPPath: rel,
		URL:      j.worker.HTTPBaseURL + rs.Role + "/" + name,
		Type:     rs.Params.String("type", ""),
		ImageArg: rs.Params.String("image_arg", ""),
		Format:   rs.Params.String("format", ""),
	}
}

// deploy downloads the stage's artifacts into the job folder, adds the
// overlay to a ramdisk or NFS root and a u-boot header where the device
// wants one, and records the artifacts for the driver.
func (j *run) deploy(ctx context.Context, st *stage) error {
	if st.Action.Method == "docker" {
		return j.deployDocker(st) // issue 21: deploy_docker.go
	}
	for _, rs := range st.Resources {
		name := artifacts.FileName(rs.Res)
		dest, err := j.d.artifactPath(j.id, rs.Role, name)
		if err != nil {
			return errorf(sdk.ErrorJob, "%s: %v", rs.Role, err)
		}
		j.log.info("downloading %s: %s", rs.Role, rs.Res.URL)
		var last int64 = -1
		res, err := j.d.dl.Fetch(ctx, rs.Res, dest, func(done, total int64) {
			if done == last {
				return
			}
			last = done
			if total > 0 {
				j.log.debug("%s: %d / %d bytes (%d%%)", rs.Role, done, total, done*100/total)
			} else {
				j.log.debug("%s: %d bytes", rs.Role, done)
			}
		})
		if err != nil {
			var ce *artifacts.ChecksumError
			if errors.As(err, &ce) || errors.Is(err, artifacts.ErrFileRefused) {
				return errorf(sdk.ErrorJob, "%s: %v", rs.Role, err)
			}
			if ctx.Err() != nil {
				return err
			}
			return errorf(sdk.ErrorInfrastructure, "%s: %v", rs.Role, err)
		}
		cached := ""
		if res.FromCache {
			cached = " (from cache)"
		}
		j.log.info("%s: %s, %d bytes, sha256 %s%s", rs.Role, filepath.Base(res.Path), res.Size, res.SHA256, cached)
		a := j.artifact(rs, name)
		a.LocalPath = res.Path
		switch rs.Role {
		case "ramdisk", "initrd":
			if a, err = j.ramdisk(ctx, rs, a); err != nil {
				return err
			}
		case "nfsrootfs":
			if j.overlay != nil && rs.Params.Bool("install_overlay", true) {
				if err := j.overlay.Unpack(ctx, res.Path); err != nil {
					return errorf(sdk.ErrorInfrastructure, "nfsrootfs: overlay: %v", err)
				}
				j.overlayOn, j.overlayInImage = true, true
				j.log.info("nfsrootfs: test overlay unpacked at %s", j.overlay.Root)
			}
		}
		j.worker.Artifacts[rs.Role] = a
	}
	return nil
}

// ramdisk prepares a ramdisk: strips a u-boot header the job says it has,
// appends the test overlay (install_overlay, default true), and adds a u-boot
// header when the device wants one (add_header: u-boot).
func (j *run) ramdisk(ctx context.Context, rs resource, a sdk.Artifact) (sdk.Artifact, error) {
	s := sdk.Values(j.p.Settings)
	path := a.LocalPath
	hasHeader := rs.Params.String("header", "") == "u-boot"
	addHeader := s.String("add_header", "") == "u-boot" || hasHeader
	withOverlay := j.overlay != nil && rs.Params.Bool("install_overlay", true)
	if !withOverlay && !(addHeader && !hasHeader) {
		a.UBootHeader = hasHeader
		return a, nil
	}
	if withOverlay {
		out := path + ".overlay"
		// A ramdisk fetched gz-compressed was unpacked on download: the
		// board gets it compressed again, as LAVA does (half the TFTP).
		recompress := rs.Params.String("compression", "") == "gz"
		if err := j.appendOverlay(ctx, path, out, hasHeader, recompress); err != nil {
			return a, errorf(sdk.ErrorInfrastructure, "%s: test overlay: %v", rs.Role, err)
		}
		if err := os.Rename(out, path); err != nil {
			return a, errorf(sdk.ErrorInfrastructure, "%s: %v", rs.Role, err)
		}
		hasHeader = false
		j.overlayOn, j.overlayInImage = true, true
		if recompress {
			j.log.info("%s: test overlay appended, compressed again (gz)", rs.Role)
		} else {
			j.log.info("%s: test overlay appended", rs.Role)
		}
	}
	if addHeader && !hasHeader {
		// Issue 16: LAVA's template variable is uboot_mkimage_arch (the
		// settings' name); mkimage_arch is its rendered name, still read.
		archName := s.String("uboot_mkimage_arch", "")
		if archName == "" {
			archName = s.String("mkimage_arch", "arm64")
		}
		arch, err := ubootimg.ParseArch(archName)
		if err != nil {
			return a, errorf(sdk.ErrorConfiguration, "uboot_mkimage_arch: %v", err)
		}
		tmp := path + ".uboot"
		if _, err := ubootimg.WrapFile(path, tmp, ubootimg.Ramdisk(arch)); err != nil {
			return a, errorf(sdk.ErrorInfrastructure, "%s: u-boot header: %v", rs.Role, err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return a, errorf(sdk.ErrorInfrastructure, "%s: %v", rs.Role, err)
		}
		j.log.info("%s: u-boot header added (arch %s)", rs.Role, archName)
	}
	a.UBootHeader = addHeader
	return a, nil
}

// appendOverlay writes in (less its u-boot header when stripHeader) plus
// the overlay to out, gzip-compressed when gz (in is then a raw cpio). The
// fetched file may be a hard link into the cache: it is never written to.
func (j *run) appendOverlay(ctx context.Context, in, out string, stripHeader, gz bool) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	if stripHeader {
		if _, err := f.Seek(ubootimg.HeaderSize, io.SeekStart); err != nil {
			return err
		}
	}
	w, err := os.Create(out)
	if err != nil {
		return err
	}
	err = j.writeOverlay(ctx, r, w, gz)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out)
		return err
	}
	return nil
}

// writeOverlay writes r plus the overlay to w, gzip-compressed when gz.
func (j *run) writeOverlay(ctx context.Context, r io.Reader, w io.Writer, gz bool) error {
	if !gz {
		return j.overlay.AppendCPIO(ctx, r, w)
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	if err := j.overlay.AppendCPIO(ctx, r, zw); err != nil {
		return err
	}
	return zw.Close()
}

// artifactPath is where a deployed file of a job goes: the job folder,
// except an nfsrootfs when the worker exports an NFS directory.
func (d *Dispatcher) artifactPath(job, role, name string) (string, error) {
	if role == "nfsrootfs" && d.o.NFSExport != "" {
		return artifacts.JobPath(d.o.NFSExport, job, role, name)
	}
	return artifacts.JobPath(d.o.WorkDir, job, role, name)
}

// serve checks that the artifacts a serve step names were deployed, and logs
// where the board finds them. NFS needs the worker's exported directory
// (Options.NFSExport): without it the step is refused, naming it.
func (j *run) serve(step sdk.Step) error {
	s := step.Serve
	if s.NFS {
		a, ok := j.worker.Artifacts["nfsrootfs"]
		switch {
		case j.d.o.NFSExport == "":
			return errorf(sdk.ErrorInfrastructure, "serve step %s: the driver asks for the nfsrootfs over NFS and this worker exports no NFS directory (dispatcher NFSExport, lava-run --nfs-export)", step.Label())
		case !ok:
			return errorf(sdk.ErrorJob, "serve step %s: NFS asked for and no nfsrootfs was deployed", step.Label())
		}
		j.log.info("serving nfsrootfs over NFS as %s:%s", j.worker.NFSServerIP, a.LocalPath)
	}
	if s.NBD {
		if err := j.serveNBD(); err != nil {
			return err
		}
	}
	for _, role := range s.Roles {
		a, ok := j.worker.Artifacts[role]
		if !ok {
			return errorf(sdk.ErrorJob, "serve: no %s was deployed", role)
		}
		if s.NFS && role == "nfsrootfs" || s.NBD && role == "nbdroot" {
			continue
		}
		if s.TFTP {
			j.log.info("serving %s over TFTP as %s", role, a.TFTPPath)
		}
		if s.HTTP {
			j.log.info("serving %s over HTTP at %s", role, a.URL)
		}
	}
	return nil
}

// Plan returns the plan of every action without executing anything: the
// driver is asked with the artifacts the deploy actions would place.
func (d *Dispatcher) Plan(ctx context.Context, r Request) ([]StagePlan, error) {
	p, err := prepare(r)
	if err != nil {
		return nil, err
	}
	j := &run{d: d, r: r, p: p, id: fmt.Sprint(r.JobID)}
	j.sb = j.sandbox()
	j.worker = d.workerFacts(r.JobID)
	var out []StagePlan
	for i := range p.Stages {
		st := &p.Stages[i]
		for _, rs := range st.Resources {
			name := artifacts.FileName(rs.Res)
			a := j.artifact(rs, name)
			if local, err := d.artifactPath(j.id, rs.Role, name); err == nil {
				a.LocalPath = local
			}
			if rs.Role == "ramdisk" || rs.Role == "initrd" {
				a.UBootHeader = sdk.Values(p.Settings).String("add_header", "") == "u-boot" || rs.Params.String("header", "") == "u-boot"
			}
			if rs.Role == "nbdroot" {
				// Issue 17: the port is chosen when the job runs; the plan
				// keeps LAVA's placeholder for it.
				a.URL = "nbd://" + j.worker.ServerIP + ":{NBDSERVERPORT}"
			}
			j.worker.Artifacts[rs.Role] = a
		}
		if st.Action.Kind == sdk.ActionDeploy && st.Action.Method == "docker" { // issue 21: deploy_docker.go
			if name, local, err := DockerImage(st.Action.Params); err == nil {
				j.worker.Artifacts["image"] = sdk.Artifact{Image: name, LocalImage: local}
			}
		}
		plan, _, err := r.Driver.Plan(ctx, j.planRequest(st))
		if err != nil {
			return out, fmt.Errorf("actions[%d] %s: %w", st.Index, st.Name, err)
		}
		// The sandbox's verdict too: a plan the worker would refuse is an
		// error here, so a driver author sees it without a board.
		if err := j.sb.Check(plan); err != nil {
			return out, fmt.Errorf("actions[%d] %s: %w", st.Index, st.Name, err)
		}
		out = append(out, StagePlan{
			Level: st.Action.Level, Action: st.Action, TimeoutMS: st.Timeout.Milliseconds(),
			FailureRetry: st.Retry, Steps: plan.Steps,
		})
	}
	return out, nil
}
