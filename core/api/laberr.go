package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/lavalab/lavalab/core/lab"
)

// caller is who calls, for core/lab.
func caller(ctx context.Context) lab.Caller { return lab.As(userFrom(ctx), "api") }

// collection is where a missing object of core/lab is created, for the
// hint of a 400 about a reference to it.
var collection = map[lab.Object]string{lab.ObjDeviceType: "device-types", lab.ObjWorker: "workers"}

// labError answers an error of core/lab: its Kind is the status (404, 409,
// 400, 401, 403) with this API's codes; what names the object for "not
// found" and "already exists" messages. Other errors are the store's
// (storeError).
func (a *API) labError(w http.ResponseWriter, r *http.Request, err error, what string) {
	e, ok := lab.AsError(err)
	if !ok {
		a.storeError(w, r, err, what)
		return
	}
	switch {
	case e.Reason == lab.ReasonNoObject:
		writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("%s %q does not exist: create it first (POST /api/v1/%s)", e.Object, e.Name, collection[e.Object]), nil)
	case e.Kind == lab.KindNotFound, e.Reason == lab.ReasonHidden:
		// A job the caller may not see is a 404, as one that does not exist.
		writeError(w, http.StatusNotFound, "not_found", what+" not found", nil)
	case e.Kind == lab.KindExists:
		writeError(w, http.StatusConflict, "exists", what+" already exists", nil)
	case e.Kind == lab.KindUnauthenticated:
		writeError(w, http.StatusUnauthorized, "unauthorized", "authentication required: send Authorization: Token <secret>", nil)
	case e.Kind == lab.KindForbidden:
		writeError(w, http.StatusForbidden, "forbidden", e.Msg, nil)
	case e.Reason == lab.ReasonStore:
		a.storeError(w, r, e.Err, what)
	case e.Kind == lab.KindConflict:
		writeError(w, http.StatusConflict, "conflict", e.Msg, nil)
	case e.Reason == lab.ReasonDictionary:
		writeError(w, http.StatusBadRequest, "invalid_dictionary", e.Err.Error(), nil)
	case e.Reason == lab.ReasonJobEmpty, e.Reason == lab.ReasonJobSchema, e.Reason == lab.ReasonJobLab, e.Reason == lab.ReasonJobGroup:
		invalidJob(w, e.AllIssues())
	case e.Reason == lab.ReasonMultinodeSub, e.Reason == lab.ReasonHealthCheck:
		writeError(w, http.StatusBadRequest, "not_resubmittable", e.Msg, nil)
	default:
		writeError(w, http.StatusBadRequest, "invalid", e.Msg, nil)
	}
}
