package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/retention"
	"github.com/lavalab/lavalab/core/store"
)

// jobsProgressEvery is how often jobs rm reports its progress.
const jobsProgressEvery = 5 * time.Second

// jobsCmd runs "jobs rm", "jobs list" and "jobs fail".
func jobsCmd(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	dataDir, db := dbFlags(fs)
	var states, healths strList
	var (
		olderThan, newerThan, submitter, devType, comment *string
		logsOnly, dryRun                                  *bool
		limit, batch                                      *int
	)
	nargs := 0
	switch cmd {
	case "jobs rm":
		olderThan = fs.String("older-than", "", "remove jobs submitted longer ago than this: 180d, 2w, 36h (required)")
		fs.Var(&states, "state", "finished (default) or submitted (queued, no device); repeatable")
		submitter = fs.String("submitter", "", "only this user's jobs")
		logsOnly = fs.Bool("logs-only", false, "remove the jobs' logs, keep the jobs and their results")
		dryRun = fs.Bool("dry-run", false, "count what would be removed, remove nothing")
		batch = fs.Int("batch", store.DefaultRemoveLimit, fmt.Sprintf("jobs per transaction (1 to %d)", store.MaxRemoveLimit))
	case "jobs list":
		fs.Var(&states, "state", "submitted, scheduling, scheduled, running, canceling or finished; repeatable")
		fs.Var(&healths, "health", "unknown, complete, incomplete or canceled; repeatable")
		olderThan = fs.String("older-than", "", "jobs submitted longer ago than this (180d, 2w, 36h)")
		newerThan = fs.String("newer-than", "", "jobs submitted less long ago than this")
		submitter = fs.String("submitter", "", "jobs of this user")
		devType = fs.String("device-type", "", "jobs requesting this device type")
		limit = fs.Int("limit", 50, "list at most this many jobs, newest first")
	case "jobs fail":
		nargs = 1
		comment = fs.String("comment", "failed by an admin (lava-server jobs fail)", "the job's failure comment")
	default:
		return usagef("unknown command")
	}
	pos, err := parseFlags(fs, args, nargs, nargs)
	if err != nil {
		return err
	}
	now := time.Now()
	switch cmd {
	case "jobs rm":
		if *olderThan == "" {
			return usagef("--older-than is required")
		}
		age, err := retention.ParseAge(*olderThan)
		if err != nil {
			return usagef("--older-than: %v", err)
		}
		if *batch < 1 || *batch > store.MaxRemoveLimit {
			return usagef("--batch %d: want 1 to %d", *batch, store.MaxRemoveLimit)
		}
		p := retention.Policy{OlderThan: age, Submitter: *submitter, LogsOnly: *logsOnly, DryRun: *dryRun, Batch: *batch}
		for _, s := range splitList(states) {
			st, err := model.ParseJobState(s)
			if err != nil || (st != model.JobFinished && st != model.JobSubmitted) {
				return usagef("--state %q: want finished or submitted (a job in another state holds a device: end it with lava-server jobs fail ID)", s)
			}
			p.States = append(p.States, st)
		}
		st, err := openAdminStore(ctx, *dataDir, *db)
		if err != nil {
			return err
		}
		defer st.Close()
		return jobsRm(ctx, st, p, now, stdout, stderr)
	case "jobs list":
		f := store.JobFilter{Submitter: *submitter, DeviceType: *devType, Limit: *limit, CountLimit: 0}
		if *limit < 1 {
			return usagef("--limit %d: want 1 or more", *limit)
		}
		for _, s := range splitList(states) {
			st, err := model.ParseJobState(s)
			if err != nil {
				return usagef("--state: %v", err)
			}
			f.States = append(f.States, st)
		}
		for _, s := range splitList(healths) {
			h, err := model.ParseJobHealth(s)
			if err != nil {
				return usagef("--health: %v", err)
			}
			f.Healths = append(f.Healths, h)
		}
		if *olderThan != "" {
			age, err := retention.ParseAge(*olderThan)
			if err != nil {
				return usagef("--older-than: %v", err)
			}
			f.SubmittedBefore = now.Add(-age)
		}
		if *newerThan != "" {
			age, err := retention.ParseAge(*newerThan)
			if err != nil {
				return usagef("--newer-than: %v", err)
			}
			f.SubmittedAfter = now.Add(-age)
		}
		st, err := openAdminStore(ctx, *dataDir, *db)
		if err != nil {
			return err
		}
		defer st.Close()
		jobs, total, err := st.ListJobs(ctx, store.System(), f)
		if err != nil {
			return err
		}
		printJobs(stdout, jobs)
		fmt.Fprintf(stderr, "%d of %d matching jobs\n", len(jobs), total)
		return nil
	case "jobs fail":
		id, err := strconv.ParseInt(pos[0], 10, 64)
		if err != nil || id <= 0 {
			return usagef("job id %q: want a positive number", pos[0])
		}
		st, err := openAdminStore(ctx, *dataDir, *db)
		if err != nil {
			return err
		}
		defer st.Close()
		j, err := st.FailJob(ctx, id, *comment)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("job %d does not exist", id)
		case errors.Is(err, store.ErrConflict):
			return fmt.Errorf("job %d is already finished", id)
		case err != nil:
			return err
		}
		freed := ""
		if j.ActualDevice != "" {
			freed = ", device " + j.ActualDevice + " freed"
		}
		fmt.Fprintf(stderr, "job %d: %s/%s%s\n", j.ID, j.State, j.Health, freed)
	}
	return nil
}

// jobsRm runs the removal, reporting progress on stderr and the totals on
// stdout.
func jobsRm(ctx context.Context, st store.Store, p retention.Policy, now time.Time, stdout, stderr io.Writer) error {
	last := time.Now()
	s, err := retention.Run(ctx, st, p, now, func(s retention.Stats) {
		if time.Since(last) >= jobsProgressEvery {
			last = time.Now()
			fmt.Fprintf(stderr, "… %d jobs, %d log records so far (%s)\n", s.Jobs, s.LogRecords, s.Took.Round(time.Second))
		}
	})
	verb, what := "removed", "job"
	if p.DryRun {
		verb = "would remove"
	}
	if s.Jobs != 1 {
		what += "s"
	}
	if p.LogsOnly {
		what = "the logs of " + strconv.Itoa(s.Jobs) + " " + what
	} else {
		what = strconv.Itoa(s.Jobs) + " " + what
	}
	fmt.Fprintf(stdout, "%s %s (%d log records) submitted before %s, in %s\n", verb, what, s.LogRecords,
		now.Add(-p.OlderThan).UTC().Format(time.RFC3339), s.Took.Round(time.Millisecond))
	return err
}

// splitList splits repeated and comma-separated flag values.
func splitList(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func printJobs(w io.Writer, jobs []model.Job) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tHEALTH\tDEVICE-TYPE\tDEVICE\tSUBMITTER\tSUBMITTED\tDESCRIPTION")
	for _, j := range jobs {
		dev := j.ActualDevice
		if dev == "" {
			dev = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", j.ID, j.State, j.Health, j.RequestedDeviceType, dev,
			j.Submitter, j.SubmitTime.UTC().Format("2006-01-02 15:04:05"), j.Description)
	}
	_ = tw.Flush()
}
