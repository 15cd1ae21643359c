package lavafmt

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/lab"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/results"
)

// MaxLogLines is the most records one logs answer holds; lavacli asks
// again from where it got to.
const MaxLogLines = 10000

// RenderDictionary is what get_dictionary(render=True) answers here: the
// device's settings as the driver gets them (the device type's admin
// overrides, then the dictionary's values), as YAML. The driver's own
// defaults come first at run time; they are not known to the server.
func RenderDictionary(d lab.Dictionary) ([]byte, error) {
	out := map[string]any{"device_type": d.Device.DeviceType, "settings": d.Settings}
	b, err := yaml.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("rendering the dictionary: %w", err)
	}
	return b, nil
}

// Template is a device type's settings overrides as YAML (this lab's
// counterpart of LAVA's jinja2 device-type template).
func Template(dt model.DeviceType) ([]byte, error) {
	set := dt.Settings
	if set == nil {
		set = map[string]any{}
	}
	b, err := yaml.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("settings of %q: %w", dt.Name, err)
	}
	return b, nil
}

// MetadataList is the job's metadata as LAVA's XML-RPC gives it: an array
// of one-member structs {name: value}, sorted by name.
func MetadataList(j model.Job) []any {
	l := model.MetadataList(j.Metadata)
	out := make([]any, len(l))
	for i, m := range l {
		st := make(map[string]any, 1)
		for k, v := range m {
			st[k] = v
		}
		out[i] = st
	}
	return out
}

// Logs reads a job's log records [start, end) as output.yaml text and
// whether the job is finished and every record up to end was returned.
func Logs(ctx context.Context, svc *lab.Service, j model.Job, start int64, end *int64) (bool, []byte, error) {
	// The job's state is read before the records: a finished job has all
	// its records stored.
	finished := j.State == model.JobFinished
	if start < 0 {
		start = 0
	}
	limit := int64(MaxLogLines)
	if end != nil {
		if *end <= start {
			return finished, []byte("[]"), nil
		}
		limit = min(limit, *end-start)
	}
	recs, err := svc.ReadLogs(ctx, j, start, int(limit))
	if err != nil {
		return false, nil, err
	}
	if len(recs) == 0 {
		return finished, []byte("[]"), nil
	}
	if int64(len(recs)) == limit && (end == nil || start+limit < *end) {
		// More may follow: the client asks again.
		finished = false
	}
	var b bytes.Buffer
	if err := WriteOutputYAML(&b, recs); err != nil {
		return false, nil, err
	}
	return finished, b.Bytes(), nil
}

// JobRows returns a job's result rows, optionally of one suite (and one
// case), paged (limit 0 = all). A suite or case that does not exist is
// lab's KindNotFound.
func JobRows(ctx context.Context, svc *lab.Service, j model.Job, suite, name string, offset, limit int) ([]results.Row, error) {
	cases, err := svc.SuiteCases(ctx, j, suite, name, offset, limit)
	if err != nil {
		return nil, err
	}
	return Rows(j.ID, cases), nil
}

// Fault is the fault code and message LAVA answers for a refusal of a
// core/lab operation by caller.
func Fault(e *lab.Error, caller lab.Caller) (int, string) {
	switch e.Kind {
	case lab.KindUnauthenticated:
		return 401, "Authentication with user and token required for this API."
	case lab.KindForbidden:
		if e.Reason == lab.ReasonHidden {
			name := caller.Name()
			if name == "" {
				name = "AnonymousUser"
			}
			return 403, fmt.Sprintf("Job '%s' not available to user '%s'.", e.Name, name)
		}
		return 403, "Permission denied."
	case lab.KindNotFound:
		return 404, notFound(e)
	case lab.KindExists:
		if e.Object == lab.ObjAlias {
			return 400, "Bad request: " + e.Msg
		}
		return 400, fmt.Sprintf("Bad request: %s already exists.", What(e.Object, e.Name))
	}
	switch e.Reason {
	case lab.ReasonJobEmpty, lab.ReasonJobSchema, lab.ReasonJobLab, lab.ReasonJobGroup:
		return SubmitFault(e)
	case lab.ReasonHealthCheck:
		return 400, fmt.Sprintf("Job '%s' is a health check: the scheduler runs health checks itself.", e.Name)
	case lab.ReasonMultinodeSub:
		return 400, fmt.Sprintf("Job '%s' is one sub-job of a multinode job: submit the whole multinode definition again.", e.Name)
	case lab.ReasonDictionary:
		return 400, fmt.Sprintf("Invalid device dictionary: %v", e.Err)
	case lab.ReasonStore:
		return 400, "Bad request: " + cleanErr(e.Err)
	}
	return 400, "Bad request: " + e.Msg
}

func notFound(e *lab.Error) string {
	switch e.Reason {
	case lab.ReasonNoDictionary:
		return fmt.Sprintf("Device '%s' does not have a configuration", e.Name)
	case lab.ReasonNoHealthCheck:
		return fmt.Sprintf("Device-type '%s' has no health check.", e.Name)
	case lab.ReasonNotStarted:
		return fmt.Sprintf("Job '%s' has not started yet", e.Name)
	}
	switch e.Object {
	case lab.ObjSuite:
		return fmt.Sprintf("Specified test suite '%s' not found.", e.Name)
	case lab.ObjCase:
		return fmt.Sprintf("Specified test case '%s' not found.", e.Name)
	}
	return What(e.Object, e.Name) + " was not found."
}

// What names an object as LAVA's messages do ("Device-type 'qemu'").
func What(obj lab.Object, name string) string {
	o := map[lab.Object]string{lab.ObjJob: "Job", lab.ObjDevice: "Device", lab.ObjDeviceType: "Device-type",
		lab.ObjWorker: "Worker", lab.ObjTag: "Tag", lab.ObjAlias: "Alias", lab.ObjUser: "User",
		lab.ObjGroup: "Group", lab.ObjToken: "Token"}[obj]
	if o == "" {
		o = string(obj)
	}
	return fmt.Sprintf("%s '%s'", o, name)
}

func cleanErr(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	for _, suf := range []string{": invalid", ": conflict"} {
		s = strings.TrimSuffix(s, suf)
	}
	return s
}

// SubmitFault is LAVA's fault for a refused submission: a missing device
// type is 404; a method the device type's driver lacks (its issues are at
// actions[N]) is wrong job data; the lab's other problems make the device
// "unavailable".
func SubmitFault(e *lab.Error) (int, string) {
	switch e.Reason {
	case lab.ReasonJobLab:
		for _, p := range e.Issues {
			if strings.Contains(p.Message, "does not exist.") && strings.HasPrefix(p.Message, "Device type") {
				return 404, "Specified device or device type not found."
			}
		}
		if slices.ContainsFunc(e.Issues, func(p job.Issue) bool { return strings.HasPrefix(p.Path, "actions[") }) {
			return 400, "Problem with submitted job data: " + lab.IssuesText(e.Issues)
		}
		return 400, "Device unavailable: " + lab.IssuesText(e.Issues)
	case lab.ReasonJobSchema, lab.ReasonJobGroup:
		return 400, "Problem with submitted job data: " + lab.IssuesText(e.Issues)
	case lab.ReasonJobEmpty:
		return 400, "Problem with submitted job data: " + e.Msg
	}
	return Fault(e, lab.Caller{})
}
