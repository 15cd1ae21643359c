package lab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/lavalab/lavalab/core/auth"
	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// Options configure the Service.
type Options struct {
	Store  store.Store
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// DriverFor returns what the active driver of a device type declares
	// (nil, or ok=false for a type: its deploy and boot methods are not
	// checked at submission; the job waits for a driver).
	DriverFor func(deviceType string) (job.Driver, bool)
	// Drivers is the driver registry (nil: the driver operations answer
	// ErrNoDrivers). When DriverFor is nil, the submission check uses it.
	Drivers Drivers
}

// Service is the lab's operations over its store.
type Service struct {
	st        store.Store
	log       *slog.Logger
	now       func() time.Time
	driverFor func(string) (job.Driver, bool)
	drivers   Drivers
	// avail remembers recent positive device availability answers.
	avail *availCache
}

// New returns the Service.
func New(o Options) *Service {
	s := &Service{st: o.Store, log: o.Logger, now: o.Now, driverFor: o.DriverFor, drivers: o.Drivers, avail: newAvailCache()}
	if s.driverFor == nil {
		s.driverFor = DriverFor(o.Drivers)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Caller is who calls an operation: User nil is anonymous. Via names the
// front-end, for logs only.
type Caller struct {
	User *model.User
	Via  string
}

// Anonymous is the caller without a user.
func Anonymous(via string) Caller { return Caller{Via: via} }

// As is the caller u (nil: anonymous).
func As(u *model.User, via string) Caller { return Caller{User: u, Via: via} }

// Viewer is the caller as the store's visibility rule sees it.
func (c Caller) Viewer() store.Viewer {
	if c.User == nil {
		return store.Viewer{}
	}
	return store.Viewer{Username: c.User.Username, Admin: c.User.IsAdmin, Groups: c.User.Groups}
}

// Name is the caller's username ("" when anonymous).
func (c Caller) Name() string {
	if c.User == nil {
		return ""
	}
	return c.User.Username
}

// IsAdmin reports whether the caller is an admin.
func (c Caller) IsAdmin() bool { return c.User != nil && c.User.IsAdmin }

// NeedUser is the rule of every operation that needs a user: anonymous
// callers get KindUnauthenticated.
func (c Caller) NeedUser() error {
	if c.User == nil {
		return &Error{Kind: KindUnauthenticated, Msg: "authentication required"}
	}
	return nil
}

// NeedAdmin is the rule of every admin operation: anonymous callers get
// KindUnauthenticated, other users KindForbidden (ReasonNotAdmin).
func (c Caller) NeedAdmin() error {
	if err := c.NeedUser(); err != nil {
		return err
	}
	if !c.User.IsAdmin {
		return &Error{Kind: KindForbidden, Reason: ReasonNotAdmin, Name: c.User.Username,
			Msg: fmt.Sprintf("user %q is not an admin: this needs admin rights", c.User.Username)}
	}
	return nil
}

// CanChange is the rule for changing a job (cancel, resubmit): its
// submitter or an admin.
func (c Caller) CanChange(j model.Job) bool {
	return c.User != nil && (c.User.IsAdmin || c.User.Username == j.Submitter)
}

// Authenticate returns the user of an API token secret. A secret that
// names no token is KindUnauthenticated.
func (s *Service) Authenticate(ctx context.Context, secret string) (model.User, error) {
	u, err := s.st.UserByTokenHash(ctx, auth.Hash(secret))
	if errors.Is(err, store.ErrNotFound) {
		return model.User{}, &Error{Kind: KindUnauthenticated, Reason: ReasonBadToken, Msg: "invalid API token", Err: err}
	}
	if err != nil {
		return model.User{}, fmt.Errorf("authenticating a token: %w", err)
	}
	return u, nil
}

// Backend names the store's backend ("sqlite", "postgres").
func (s *Service) Backend() string { return s.st.Backend() }

// Ping checks that the store answers (a cheap read).
func (s *Service) Ping(ctx context.Context) error {
	if _, err := s.st.ListTags(ctx); err != nil {
		return fmt.Errorf("the store does not answer: %w", err)
	}
	return nil
}

type userKey struct{}

// WithUser returns ctx carrying the user a front-end authenticated (nil:
// anonymous), for UserFrom.
func WithUser(ctx context.Context, u *model.User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// UserFrom is the user WithUser put in ctx, or nil (anonymous).
func UserFrom(ctx context.Context) *model.User {
	u, _ := ctx.Value(userKey{}).(*model.User)
	return u
}
