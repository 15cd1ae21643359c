package dispatch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lavalab/lavalab/core/devdict"
	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/power"
	"github.com/lavalab/lavalab/sdk"
)

// Recover makes a device safe after a job that did not end here: the
// worker was killed (or its host rebooted) while the job ran, so neither
// the job's power off nor the removal of its folders happened. It runs
// the power_off_command of the job's device dictionary (no driver needed:
// the dictionary is parsed here; each command gets the
// job's power-off timeout, else DefaultPowerOffTimeout) and removes the
// job's folders (work dir and NFS export). Its log goes to sink. Only
// r.JobID, r.Definition, r.Dictionary and r.Settings are read.
func (d *Dispatcher) Recover(ctx context.Context, r Request, sink Sink) error {
	id := strconv.FormatInt(r.JobID, 10)
	rec := func(level, format string, args ...any) {
		sink.Record(model.LogRecord{Time: time.Now().UTC(), Level: level, Message: fmt.Sprintf(format, args...)})
	}
	var errs []error
	dict, err := devdict.Parse(r.Dictionary)
	if err != nil {
		errs = append(errs, fmt.Errorf("power off after the restart: %w", err))
	} else {
		// The dictionary's command only: the job's recorded settings hold
		// the driver's defaults too, and a driver never gives a command
		// line (the driver sandbox; no driver is loaded here to tell them
		// apart).
		settings := sdk.Values(dict.Values)
		var cmds []string
		for _, c := range settings.Strings("power_off_command") {
			if strings.TrimSpace(c) != "" {
				cmds = append(cmds, c)
			}
		}
		to := DefaultPowerOffTimeout
		if def, _ := job.Parse(r.Definition); def != nil {
			if x, ok := def.Timeouts.Actions["power-off"]; ok && x > 0 {
				to = x
			}
		}
		if len(cmds) == 0 {
			rec(model.LevelWarning, "after the restart: the device has no power_off_command: it is left as it is")
		}
		env := append(os.Environ(), "LAVA_JOB_ID="+id)
		for _, c := range cmds {
			rec(model.LevelInfo, "after the restart: powering the device off: running %q", c)
			err := power.Run(ctx, c, to, env, func(line string, stderr bool) {
				if stderr {
					rec(model.LevelDebug, "stderr: %s", line)
				} else {
					rec(model.LevelDebug, ">> %s", line)
				}
			})
			if err != nil {
				errs = append(errs, fmt.Errorf("power off after the restart: %w", err))
				break
			}
		}
	}
	dirs := []string{filepath.Join(d.jobsDir, id)}
	if d.o.NFSExport != "" {
		dirs = append(dirs, filepath.Join(d.o.NFSExport, "jobs", id))
	}
	for _, dir := range dirs {
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, fmt.Errorf("removing the job's folder: %w", err))
		}
	}
	if len(errs) == 0 {
		rec(model.LevelInfo, "after the restart: the device is powered off and the job's folders are removed")
	}
	for _, err := range errs {
		rec(model.LevelError, "%v", err)
	}
	return errors.Join(errs...)
}
