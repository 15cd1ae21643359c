package model

import (
	"fmt"
	"strings"
)

// JobState is a job's place in its life, LAVA's numbering.
type JobState int

// Job states.
const (
	JobSubmitted JobState = iota
	JobScheduling
	JobScheduled
	JobRunning
	JobCanceling
	JobFinished
)

var jobStateNames = []string{"Submitted", "Scheduling", "Scheduled", "Running", "Canceling", "Finished"}

func (s JobState) String() string { return name(jobStateNames, int(s)) }

// ParseJobState accepts a state name in any case ("running", "RUNNING").
func ParseJobState(s string) (JobState, error) {
	i, err := parse(jobStateNames, "job state", s)
	return JobState(i), err
}

// JobHealth is how a job ended.
type JobHealth int

// Job health values.
const (
	JobUnknown JobHealth = iota
	JobComplete
	JobIncomplete
	JobCanceled
)

var jobHealthNames = []string{"Unknown", "Complete", "Incomplete", "Canceled"}

func (h JobHealth) String() string { return name(jobHealthNames, int(h)) }

// ParseJobHealth accepts a health name in any case.
func ParseJobHealth(s string) (JobHealth, error) {
	i, err := parse(jobHealthNames, "job health", s)
	return JobHealth(i), err
}

// DeviceState is what a device is doing.
type DeviceState int

// Device states.
const (
	DeviceIdle DeviceState = iota
	DeviceReserved
	DeviceRunning
)

var deviceStateNames = []string{"Idle", "Reserved", "Running"}

func (s DeviceState) String() string { return name(deviceStateNames, int(s)) }

// ParseDeviceState accepts a state name in any case.
func ParseDeviceState(s string) (DeviceState, error) {
	i, err := parse(deviceStateNames, "device state", s)
	return DeviceState(i), err
}

// DeviceHealth is whether a device may run jobs.
type DeviceHealth int

// Device health values.
const (
	DeviceGood DeviceHealth = iota
	DeviceUnknown
	DeviceLooping
	DeviceBad
	DeviceMaintenance
	DeviceRetired
)

var deviceHealthNames = []string{"Good", "Unknown", "Looping", "Bad", "Maintenance", "Retired"}

func (h DeviceHealth) String() string { return name(deviceHealthNames, int(h)) }

// ParseDeviceHealth accepts a health name in any case.
func ParseDeviceHealth(s string) (DeviceHealth, error) {
	i, err := parse(deviceHealthNames, "device health", s)
	return DeviceHealth(i), err
}

// WorkerState says whether a worker is talking to the server.
type WorkerState int

// Worker states.
const (
	WorkerOnline WorkerState = iota
	WorkerOffline
)

var workerStateNames = []string{"Online", "Offline"}

func (s WorkerState) String() string { return name(workerStateNames, int(s)) }

// ParseWorkerState accepts a state name in any case.
func ParseWorkerState(s string) (WorkerState, error) {
	i, err := parse(workerStateNames, "worker state", s)
	return WorkerState(i), err
}

// WorkerHealth is the admin's say on a worker.
type WorkerHealth int

// Worker health values.
const (
	WorkerActive WorkerHealth = iota
	WorkerMaintenance
	WorkerRetired
)

var workerHealthNames = []string{"Active", "Maintenance", "Retired"}

func (h WorkerHealth) String() string { return name(workerHealthNames, int(h)) }

// ParseWorkerHealth accepts a health name in any case.
func ParseWorkerHealth(s string) (WorkerHealth, error) {
	i, err := parse(workerHealthNames, "worker health", s)
	return WorkerHealth(i), err
}

// TestResult is a test case's result, LAVA's codes.
type TestResult int

// Test results.
const (
	ResultPass TestResult = iota
	ResultFail
	ResultSkip
	ResultUnknown
)

var resultNames = []string{"pass", "fail", "skip", "unknown"}

func (r TestResult) String() string { return name(resultNames, int(r)) }

// ParseTestResult accepts pass, fail, skip or unknown in any case.
func ParseTestResult(s string) (TestResult, error) {
	i, err := parse(resultNames, "test result", s)
	return TestResult(i), err
}

func name(names []string, i int) string {
	if i < 0 || i >= len(names) {
		return fmt.Sprintf("Invalid(%d)", i)
	}
	return names[i]
}

func parse(names []string, what, s string) (int, error) {
	for i, n := range names {
		if strings.EqualFold(n, strings.TrimSpace(s)) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("invalid %s %q (want one of %s)", what, s, strings.Join(names, ", "))
}
