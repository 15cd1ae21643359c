package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/lab"
)

// MaxDefinition is the largest definition the submit page takes (the
// API's limit).
const MaxDefinition = 1 << 20

// srcLine is one line of the pasted definition with the issues found on it.
type srcLine struct {
	N        int
	Text     string
	Errors   []job.Issue
	Warnings []job.Issue
}

type submitData struct {
	Definition string
	Checked    bool
	Errors     []job.Issue
	Warnings   []job.Issue
	// Lines is the definition with issues at their lines; General holds
	// issues without a line.
	Lines   []srcLine
	General []job.Issue
	Enabled bool
}

func (w *Web) submitPage(rw http.ResponseWriter, r *http.Request) {
	d := submitData{Enabled: true}
	if s := r.URL.Query().Get("from"); s != "" {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil {
			if j, err := w.lab.Job(r.Context(), caller(r.Context()), id); err == nil {
				d.Definition = j.Definition
			}
		}
	}
	w.render(rw, r, 0, "submit", "Submit a job", "submit", d)
}

func (w *Web) submit(rw http.ResponseWriter, r *http.Request) {
	if !w.postForm(rw, r, MaxDefinition+1<<16) {
		return
	}
	text := strings.ReplaceAll(r.PostFormValue("definition"), "\r\n", "\n")
	d := submitData{Definition: text, Enabled: true, Checked: true}
	if strings.TrimSpace(text) == "" {
		d.Errors = []job.Issue{{Message: "empty job definition"}}
		w.showSubmit(rw, r, http.StatusBadRequest, d)
		return
	}
	ctx := r.Context()
	var err error
	if r.PostFormValue("action") != "submit" {
		v, err := w.lab.Validate(ctx, []byte(text))
		if err != nil {
			w.fail(rw, r, fmt.Errorf("validating: %w", err))
			return
		}
		d.Errors, d.Warnings = v.Errors, v.Warnings
		status := http.StatusOK
		if len(d.Errors) > 0 {
			status = http.StatusUnprocessableEntity
		}
		w.showSubmit(rw, r, status, d)
		return
	}
	if w.needUser(rw, r) == nil {
		return
	}
	res, err := w.lab.Submit(ctx, caller(ctx), []byte(text))
	if e, ok := lab.AsError(err); ok && e.Kind == lab.KindInvalid && len(e.Issues) > 0 {
		d.Errors, d.Warnings = e.AllIssues(), e.Warnings
		w.showSubmit(rw, r, http.StatusUnprocessableEntity, d)
		return
	}
	if err != nil {
		w.fail(rw, r, fmt.Errorf("submitting: %w", err))
		return
	}
	ids := res.IDs()
	msg := fmt.Sprintf("Submitted job %d.", ids[0])
	if len(ids) > 1 {
		msg = fmt.Sprintf("Submitted multinode jobs %v.", ids)
	}
	redirect(rw, r, fmt.Sprintf("/jobs/%d?flash=%s", ids[0], urlEscape(msg)))
}

func (w *Web) showSubmit(rw http.ResponseWriter, r *http.Request, status int, d submitData) {
	lines := strings.Split(d.Definition, "\n")
	d.Lines = make([]srcLine, len(lines))
	for i, l := range lines {
		d.Lines[i] = srcLine{N: i + 1, Text: l}
	}
	for _, e := range d.Errors {
		if e.Line >= 1 && e.Line <= len(lines) {
			d.Lines[e.Line-1].Errors = append(d.Lines[e.Line-1].Errors, e)
		} else {
			d.General = append(d.General, e)
		}
	}
	for _, e := range d.Warnings {
		if e.Line >= 1 && e.Line <= len(lines) {
			d.Lines[e.Line-1].Warnings = append(d.Lines[e.Line-1].Warnings, e)
		}
	}
	w.render(rw, r, status, "submit", "Submit a job", "submit", d)
}
