package api

// Issue 21: a multinode sub-job shows its whole group.

import (
	"fmt"
	"net/http"

	"github.com/lavalab/lavalab/core/model"
)

// SubJobView is one sub-job of a multinode group.
type SubJobView struct {
	ID           int64  `json:"id"`
	SubID        string `json:"sub_id"`
	Role         string `json:"role"`
	State        string `json:"state"`
	Health       string `json:"health"`
	ActualDevice string `json:"actual_device,omitempty"`
	Worker       string `json:"worker,omitempty"`
}

// addSubJobs fills v.SubJobs for a multinode sub-job; false means an error
// answer was written.
func (a *API) addSubJobs(w http.ResponseWriter, r *http.Request, j model.Job, v *JobView) bool {
	subs, err := a.lab.SubJobs(r.Context(), caller(r.Context()), j)
	if err != nil {
		a.labError(w, r, err, fmt.Sprintf("multinode group of job %d", j.ID))
		return false
	}
	for _, s := range subs {
		v.SubJobs = append(v.SubJobs, SubJobView{ID: s.ID, SubID: s.SubID, Role: s.Role, State: s.State.String(), Health: s.Health.String(), ActualDevice: s.ActualDevice, Worker: s.Worker})
	}
	return true
}
