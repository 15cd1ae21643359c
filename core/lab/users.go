package lab

import (
	"context"
	"fmt"

	"github.com/lavalab/lavalab/core/auth"
	"github.com/lavalab/lavalab/core/model"
)

// ListUsers lists every user (admins).
func (s *Service) ListUsers(ctx context.Context, c Caller) ([]model.User, error) {
	if err := c.NeedAdmin(); err != nil {
		return nil, err
	}
	us, err := s.st.ListUsers(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing users: %w", err)
	}
	return us, nil
}

// CreateUser adds a user (admins) with a first API token, and returns the
// user with the token's secret.
func (s *Service) CreateUser(ctx context.Context, c Caller, u model.User) (model.User, string, error) {
	if err := c.NeedAdmin(); err != nil {
		return model.User{}, "", err
	}
	u, err := s.st.CreateUser(ctx, u)
	if err != nil {
		return model.User{}, "", storeErr(err, ObjUser, u.Username)
	}
	secret, hash := auth.NewToken()
	if _, err := s.st.CreateToken(ctx, u.Username, "created with the user", hash); err != nil {
		return model.User{}, "", storeErr(err, ObjUser, u.Username)
	}
	s.log.Info("user created", "username", u.Username, "admin", u.IsAdmin, "by", c.Name(), "via", c.Via)
	return u, secret, nil
}

// Tokens are the caller's API tokens (a user).
func (s *Service) Tokens(ctx context.Context, c Caller) ([]model.Token, error) {
	if err := c.NeedUser(); err != nil {
		return nil, err
	}
	ts, err := s.st.ListTokens(ctx, c.User.Username)
	if err != nil {
		return nil, storeErr(err, ObjUser, c.User.Username)
	}
	return ts, nil
}

// CreateToken makes the caller a new API token and returns it with its
// secret.
func (s *Service) CreateToken(ctx context.Context, c Caller, description string) (model.Token, string, error) {
	if err := c.NeedUser(); err != nil {
		return model.Token{}, "", err
	}
	secret, hash := auth.NewToken()
	t, err := s.st.CreateToken(ctx, c.User.Username, description, hash)
	if err != nil {
		return model.Token{}, "", storeErr(err, ObjToken, "")
	}
	return t, secret, nil
}

// DeleteToken removes one of the caller's API tokens.
func (s *Service) DeleteToken(ctx context.Context, c Caller, id int64) error {
	if err := c.NeedUser(); err != nil {
		return err
	}
	return storeErr(s.st.DeleteToken(ctx, c.User.Username, id), ObjToken, fmt.Sprint(id))
}

// ListGroups lists the groups and their members (admins).
func (s *Service) ListGroups(ctx context.Context, c Caller) ([]model.Group, error) {
	if err := c.NeedAdmin(); err != nil {
		return nil, err
	}
	gs, err := s.st.ListGroups(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing groups: %w", err)
	}
	return gs, nil
}

// CreateGroup adds a group (admins).
func (s *Service) CreateGroup(ctx context.Context, c Caller, name string) error {
	if err := c.NeedAdmin(); err != nil {
		return err
	}
	return storeErr(s.st.CreateGroup(ctx, name), ObjGroup, name)
}

// AddGroupMember adds a user to a group (admins).
func (s *Service) AddGroupMember(ctx context.Context, c Caller, group, username string) error {
	if err := c.NeedAdmin(); err != nil {
		return err
	}
	return storeErr(s.st.AddGroupMember(ctx, group, username), ObjGroup, group)
}
