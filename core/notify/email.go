package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/lavalab/lavalab/core/model"
)

// Subject is LAVA's email subject: "LAVA notification for Test Job ID
// DESCRIPTION" (the description cut at 200 characters).
func Subject(j model.Job) string {
	d := []rune(j.Description)
	if len(d) > 200 {
		d = d[:200]
	}
	return fmt.Sprintf("LAVA notification for Test Job %d %s", j.ID, string(d))
}

// EmailText is the job summary sent by email, with the content of LAVA's
// testjob_notification template: the job's state and health and submitter,
// its page; for a finished job, unless verbosity is status-only, the
// failure, the device and the job's details; with verbosity verbose, also
// its metadata and each suite's case results. cases may be nil.
func EmailText(j model.Job, verbosity, jobURL string, cases []model.TestCase) string {
	var b strings.Builder
	b.WriteString("Hello,\n\n")
	fmt.Fprintf(&b, "The job with ID # %d is now in state %s and health %s. Job was submitted by %s.\n\n",
		j.ID, j.State, j.Health, j.Submitter)
	fmt.Fprintf(&b, "Job details and log file: %s\n", jobURL)
	if j.State != model.JobFinished || verbosity == "status-only" {
		return b.String()
	}
	if j.Health == model.JobIncomplete && (j.ErrorType != "" || j.FailureComment != "") {
		fmt.Fprintf(&b, "\n%s error: %s\n", j.ErrorType, j.FailureComment)
	}
	if j.ActualDevice != "" {
		fmt.Fprintf(&b, "\nDevice details:\nHostname: %s\nType: %s\nWorker: %s\n", j.ActualDevice, j.RequestedDeviceType, j.Worker)
	}
	const layout = "2006-01-02 15:04:05 (-0700 MST)"
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(layout)
	}
	fmt.Fprintf(&b, "\nJob details:\nPriority: %d\nDescription: %s\nSubmitted: %s\nStarted: %s\nFinished: %s\n",
		j.Priority, j.Description, ts(j.SubmitTime), ts(j.StartTime), ts(j.EndTime))
	if !j.StartTime.IsZero() && !j.EndTime.IsZero() {
		fmt.Fprintf(&b, "Duration: %s\n", j.EndTime.Sub(j.StartTime).Round(time.Second))
	}
	if verbosity != "verbose" {
		return b.String()
	}
	b.WriteString("\nMetadata:\n")
	for _, m := range Metadata(j.Definition) {
		for k, v := range m {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	b.WriteString("\nResults:\n")
	suite := ""
	for _, c := range cases {
		if c.Suite != suite {
			suite = c.Suite
			fmt.Fprintf(&b, "\nTest Suite %s\n", suite)
		}
		fmt.Fprintf(&b, "Test Case %s: %s\n", c.Name, c.Result)
		if c.Measurement != nil {
			fmt.Fprintf(&b, "Measurement: %v %s\n", *c.Measurement, c.Units)
		}
	}
	return b.String()
}
