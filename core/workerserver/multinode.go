package workerserver

// Issue 21: the multinode routes of the worker protocol. A sub-job's
// dispatcher reaches its group's coordinator (core/multinode) in
// lava-server through its worker, with the job's token:
//
//	GET  /worker/v1/jobs/{id}/multinode/group  → multinode.Group
//	POST /worker/v1/jobs/{id}/multinode/call   multinode.Request → multinode.Response
//	POST /worker/v1/jobs/{id}/multinode/watch  → multinode.Watch
//
// A call waits at most the coordinator's PollCap (25 s); a longer wait
// answers Pending and the worker asks again with the remaining time.

import (
	"context"
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/lavalab/lavalab/core/multinode"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/workerproto"
)

// mountMultinode adds the multinode routes under /jobs/{id}.
func (s *Server) mountMultinode(r chi.Router) {
	r.Get("/multinode/group", s.multinodeGroup)
	r.Post("/multinode/call", s.multinodeCall)
	r.Post("/multinode/watch", s.multinodeWatch)
}

func (s *Server) coordinator(w http.ResponseWriter) *multinode.Coordinator {
	if s.o.Multinode == nil {
		writeError(w, http.StatusNotImplemented, "no_multinode", "this server runs no multinode coordinator", nil)
	}
	return s.o.Multinode
}

func (s *Server) multinodeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, store.ErrInvalid) {
		writeError(w, http.StatusBadRequest, workerproto.CodeBadRequest, err.Error(), nil)
		return
	}
	if errors.Is(err, context.Canceled) {
		return // the worker went away
	}
	s.internal(w, r, err)
}

func (s *Server) multinodeGroup(w http.ResponseWriter, r *http.Request) {
	c := s.coordinator(w)
	if c == nil {
		return
	}
	g, err := c.Group(r.Context(), jobFrom(r.Context()))
	if err != nil {
		s.multinodeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, g)
}

func (s *Server) multinodeCall(w http.ResponseWriter, r *http.Request) {
	c := s.coordinator(w)
	if c == nil {
		return
	}
	var req multinode.Request
	if !decode(w, r, 1<<20, &req) {
		return
	}
	resp, err := c.Call(r.Context(), jobFrom(r.Context()), req)
	if err != nil {
		s.multinodeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) multinodeWatch(w http.ResponseWriter, r *http.Request) {
	c := s.coordinator(w)
	if c == nil {
		return
	}
	ans, err := c.Watch(r.Context(), jobFrom(r.Context()))
	if err != nil {
		s.multinodeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ans)
}
