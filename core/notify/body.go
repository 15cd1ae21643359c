package notify

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/lavalab/lavalab/core/model"
)

// BodyInput is what a callback's body is made of beyond the job.
type BodyInput struct {
	// Token is the callback's token (sent in the body too, as LAVA does);
	// "" leaves the field out.
	Token string
	// Log is the whole job log as LAVA's output.yaml text; nil leaves the
	// field out (datasets minimal and results).
	Log []byte
	// Results maps each suite to its cases as LAVA's results YAML; nil
	// leaves the field out (datasets minimal and logs).
	Results map[string]string
}

// Body is the data of a callback as LAVA's TestJob.create_job_data makes
// it: id, status and status_string (the legacy status), state and
// state_string, health and health_string, submit/start/end times as
// Python's str() of the datetime ("None" when unset), submitter_username,
// failure_comment (null when none), priority, description,
// actual_device_id (null when none), definition, metadata (a list of
// one-entry {name: value} mappings), then token, log and results when
// given.
func Body(j model.Job, in BodyInput) map[string]any {
	d := map[string]any{
		"id":                 j.ID,
		"status":             LegacyStatus(j),
		"status_string":      lowerASCII(LegacyStatusString(j)),
		"state":              int(j.State),
		"state_string":       j.State.String(),
		"health":             int(j.Health),
		"health_string":      j.Health.String(),
		"submit_time":        pyTime(j.SubmitTime),
		"start_time":         pyTime(j.StartTime),
		"end_time":           pyTime(j.EndTime),
		"submitter_username": j.Submitter,
		"failure_comment":    nullable(j.FailureComment),
		"priority":           j.Priority,
		"description":        j.Description,
		"actual_device_id":   nullable(j.ActualDevice),
		"definition":         j.Definition,
		"metadata":           Metadata(j.Definition),
	}
	if in.Token != "" {
		d["token"] = in.Token
	}
	if in.Log != nil {
		d["log"] = string(in.Log)
	}
	if in.Results != nil {
		d["results"] = in.Results
	}
	return d
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// pyTime renders t as Python's str() of an aware UTC datetime, "None"
// when unset.
func pyTime(t time.Time) string {
	if t.IsZero() {
		return "None"
	}
	t = t.UTC()
	if t.Nanosecond()/1000 == 0 {
		return t.Format("2006-01-02 15:04:05") + "+00:00"
	}
	return t.Format("2006-01-02 15:04:05.000000") + "+00:00"
}

// Metadata is the job's metadata: block as LAVA's get_metadata_dict
// shapes it: a list of one-entry {name: value} mappings, values as text,
// in the definition's order ([] when there is none).
func Metadata(definition string) []map[string]string {
	out := []map[string]string{}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(definition), &doc); err != nil || len(doc.Content) == 0 {
		return out
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "metadata" || root.Content[i+1].Kind != yaml.MappingNode {
			continue
		}
		m := root.Content[i+1]
		for k := 0; k+1 < len(m.Content); k += 2 {
			if m.Content[k+1].Kind == yaml.ScalarNode {
				out = append(out, map[string]string{m.Content[k].Value: m.Content[k+1].Value})
			}
		}
	}
	return out
}

// Form encodes a body as Python's requests does for data=dict
// (content-type urlencoded), with urlencode(doseq=True): a None value left
// out, a number as its text, a mapping as its keys (iterating a dict gives
// its keys), a list as one field per element, an element that is a
// mapping again as its keys.
func Form(body map[string]any) string {
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	v := url.Values{}
	for _, k := range keys {
		for _, s := range formValues(body[k]) {
			v.Add(k, s)
		}
	}
	return v.Encode()
}

func formValues(x any) []string {
	switch x := x.(type) {
	case nil:
		return nil
	case string:
		return []string{x}
	case int:
		return []string{strconv.Itoa(x)}
	case int64:
		return []string{strconv.FormatInt(x, 10)}
	case map[string]string:
		return sortedKeys(x)
	case []map[string]string:
		var out []string
		for _, m := range x {
			out = append(out, sortedKeys(m)...)
		}
		return out
	}
	return []string{fmt.Sprint(x)}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
