package lab

import (
	"errors"
	"fmt"
	"strings"

	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/store"
)

// Kind is the class of an operation's refusal; each front-end maps it to
// its wire error (HTTP status, XML-RPC fault code).
type Kind int

// The kinds of Error.
const (
	// KindInvalid: the request is wrong (bad value, invalid job).
	KindInvalid Kind = iota + 1
	// KindUnauthenticated: the operation needs a user.
	KindUnauthenticated
	// KindForbidden: the user may not do this (or see this job).
	KindForbidden
	// KindNotFound: no such object.
	KindNotFound
	// KindExists: an object of that name exists already.
	KindExists
	// KindConflict: the object's state does not allow the change.
	KindConflict
)

func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindUnauthenticated:
		return "unauthenticated"
	case KindForbidden:
		return "forbidden"
	case KindNotFound:
		return "not found"
	case KindExists:
		return "exists"
	case KindConflict:
		return "conflict"
	}
	return "unknown"
}

// Reason is a finer cause of an Error, for front-ends that word it their
// own way (LAVA's messages).
type Reason int

// The reasons of Error (ReasonNone for the plain ones).
const (
	ReasonNone Reason = iota
	// ReasonNotAdmin: the operation needs an admin.
	ReasonNotAdmin
	// ReasonNotOwner: only the job's submitter or an admin may.
	ReasonNotOwner
	// ReasonHidden: the job exists but the caller may not see it (a
	// front-end may answer "not found" instead, as REST does).
	ReasonHidden
	// ReasonBadToken: no such API token.
	ReasonBadToken
	// ReasonJobEmpty: the definition is empty (Issues has one issue
	// without a path).
	ReasonJobEmpty
	// ReasonJobSchema: the definition breaks core/job's rules (Issues).
	ReasonJobSchema
	// ReasonJobLab: the lab cannot run the definition (Issues), and
	// GroupIssues says what the submitter's groups forbid.
	ReasonJobLab
	// ReasonJobGroup: the submitter may not name these groups (Issues).
	ReasonJobGroup
	// ReasonHealthCheck: the job is a health check.
	ReasonHealthCheck
	// ReasonMultinodeSub: the job is one sub-job of a multinode job.
	ReasonMultinodeSub
	// ReasonFinished: the job is finished or being canceled.
	ReasonFinished
	// ReasonDictionary: the device dictionary does not parse (Err).
	ReasonDictionary
	// ReasonNoDictionary: the device has no dictionary.
	ReasonNoDictionary
	// ReasonNotStarted: the job has not started.
	ReasonNotStarted
	// ReasonNoHealthCheck: the device type has no health check.
	ReasonNoHealthCheck
	// ReasonNoObject: an object a request names (device type, worker)
	// does not exist (Object, Name).
	ReasonNoObject
	// ReasonStore: the store refused a value (Err has its words).
	ReasonStore
)

// Object names what an Error is about.
type Object string

// The objects of the lab.
const (
	ObjJob        Object = "job"
	ObjDevice     Object = "device"
	ObjDeviceType Object = "device type"
	ObjWorker     Object = "worker"
	ObjTag        Object = "tag"
	ObjAlias      Object = "alias"
	ObjSuite      Object = "test suite"
	ObjCase       Object = "test case"
	ObjUser       Object = "user"
	ObjToken      Object = "token"
	ObjGroup      Object = "group"
	ObjDriver     Object = "driver"
)

// Error is an operation's refusal. Any other error from an operation is
// internal (a store failure): front-ends log it and answer a generic
// server error.
type Error struct {
	Kind   Kind
	Reason Reason
	// Object and Name say what it is about: a hostname, a name, a job's
	// id as asked ("12", "12.1"); for ReasonHealthCheck and
	// ReasonNotStarted the job's id, for ReasonMultinodeSub its sub id.
	Object Object
	Name   string
	// Msg is a clear message for people.
	Msg string
	// Issues are an invalid job's issues; GroupIssues the submitter's
	// group problems found beside the lab's (ReasonJobLab).
	Issues      []job.Issue
	GroupIssues []job.Issue
	// Warnings are an invalid job's warnings (keys LAVA's strict schema
	// refuses), for front-ends that show them beside the errors.
	Warnings []job.Issue
	// Err is the cause (a store error, a parse error), if any.
	Err error
}

func (e *Error) Error() string {
	if e.Msg != "" {
		return e.Msg
	}
	if e.Object != "" {
		return fmt.Sprintf("%s %q: %s", e.Object, e.Name, e.Kind)
	}
	return e.Kind.String()
}

func (e *Error) Unwrap() error { return e.Err }

// AsError returns err's *Error, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// KindOf is err's Kind (0 for an internal error or nil).
func KindOf(err error) Kind {
	if e, ok := AsError(err); ok {
		return e.Kind
	}
	return 0
}

// notFound is the error for an object that does not exist.
func notFound(obj Object, name string) *Error {
	return &Error{Kind: KindNotFound, Object: obj, Name: name, Msg: fmt.Sprintf("%s %s not found", obj, quoteName(obj, name))}
}

func quoteName(obj Object, name string) string {
	if obj == ObjJob || obj == ObjToken {
		return name
	}
	return fmt.Sprintf("%q", name)
}

func invalid(format string, a ...any) *Error {
	return &Error{Kind: KindInvalid, Msg: fmt.Sprintf(format, a...)}
}

// storeErr turns the store's sentinel errors about obj name into *Error;
// others are wrapped as internal.
func storeErr(err error, obj Object, name string) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		e := notFound(obj, name)
		e.Err = err
		return e
	case errors.Is(err, store.ErrExists):
		return &Error{Kind: KindExists, Object: obj, Name: name, Msg: fmt.Sprintf("%s %s already exists", obj, quoteName(obj, name)), Err: err}
	case errors.Is(err, store.ErrConflict):
		return &Error{Kind: KindConflict, Reason: ReasonStore, Object: obj, Name: name, Msg: err.Error(), Err: err}
	case errors.Is(err, store.ErrInvalid):
		return &Error{Kind: KindInvalid, Reason: ReasonStore, Object: obj, Name: name, Msg: err.Error(), Err: err}
	}
	return fmt.Errorf("%s %s: %w", obj, quoteName(obj, name), err)
}

// IssuesText joins issues as one line ("a; b"), or "N errors, the first:
// a" when there are more than five.
func IssuesText(is []job.Issue) string {
	msgs := make([]string, 0, len(is))
	for _, i := range is {
		msgs = append(msgs, i.String())
	}
	if len(msgs) > 5 {
		return fmt.Sprintf("%d errors, the first: %s", len(msgs), msgs[0])
	}
	return strings.Join(msgs, "; ")
}
