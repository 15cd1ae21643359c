package lab

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lavalab/lavalab/core/auth"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// Login opens a session (known by the hash of its secret, which the
// front-end keeps in a cookie) for the user of an API token, until
// expires. A token that names nobody is KindUnauthenticated.
func (s *Service) Login(ctx context.Context, secret string, sessionHash []byte, expires time.Time) (model.User, error) {
	u, err := s.Authenticate(ctx, secret)
	if err != nil {
		return model.User{}, err
	}
	if err := s.st.CreateSession(ctx, sessionHash, auth.Hash(secret), expires); err != nil {
		return model.User{}, fmt.Errorf("opening a session: %w", err)
	}
	return u, nil
}

// SessionUser is the user of a live session (KindUnauthenticated when the
// session is unknown, expired, or its token was deleted).
func (s *Service) SessionUser(ctx context.Context, sessionHash []byte) (model.User, error) {
	u, err := s.st.SessionUser(ctx, sessionHash)
	if errors.Is(err, store.ErrNotFound) {
		return model.User{}, &Error{Kind: KindUnauthenticated, Msg: "no such session", Err: err}
	}
	if err != nil {
		return model.User{}, fmt.Errorf("session: %w", err)
	}
	return u, nil
}

// Logout ends a session.
func (s *Service) Logout(ctx context.Context, sessionHash []byte) error {
	if err := s.st.DeleteSession(ctx, sessionHash); err != nil {
		return fmt.Errorf("ending a session: %w", err)
	}
	return nil
}

// Subscribe delivers the store's events of the topics (best effort) until
// ctx ends, for front-ends that follow a job live.
func (s *Service) Subscribe(ctx context.Context, topics ...string) (<-chan store.Event, error) {
	ch, err := s.st.Subscribe(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("subscribing to %v: %w", topics, err)
	}
	return ch, nil
}

// Refresh reads again a job FindJob returned (its state changes as it
// runs; it stays visible to whoever could see it).
func (s *Service) Refresh(ctx context.Context, j model.Job) (model.Job, error) {
	cur, err := s.st.Job(ctx, store.System(), j.ID)
	if err != nil {
		return model.Job{}, storeErr(err, ObjJob, fmt.Sprint(j.ID))
	}
	return cur, nil
}

// CanSeeJob reports whether c may see job id (false too when there is
// none), for pages that link to a job only when it is visible.
func (s *Service) CanSeeJob(ctx context.Context, c Caller, id int64) (bool, error) {
	_, err := s.st.Job(ctx, c.Viewer(), id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("job %d: %w", id, err)
	}
	return true, nil
}
