package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// CreateUser stores a user (ErrExists if the name is taken).
func (s *DB) CreateUser(ctx context.Context, u model.User) (model.User, error) {
	if strings.TrimSpace(u.Username) == "" {
		return u, invalid("creating a user: empty username")
	}
	if u.Created.IsZero() {
		u.Created = s.now()
	}
	err := s.inTx(ctx, func(t *tx) error {
		if err := t.QueryRowContext(ctx, `INSERT INTO users (username, email, is_admin, created) VALUES ($1, $2, $3, $4) RETURNING id`,
			u.Username, u.Email, u.IsAdmin, micros(u.Created)).Scan(&u.ID); err != nil {
			return s.wrap(err, "creating user %q", u.Username)
		}
		for _, g := range u.Groups {
			if err := addMember(ctx, t, g, u.Username); err != nil {
				return s.wrap(err, "adding user %q to group %q", u.Username, g)
			}
		}
		return nil
	})
	u.Created = fromMicros(micros(u.Created))
	return u, err
}

func (s *DB) userGroups(ctx context.Context, q querier, id int64) ([]string, error) {
	return column[string](ctx, q, `SELECT g.name FROM user_groups g JOIN group_members m ON m.group_id = g.id WHERE m.user_id = $1 ORDER BY g.name`, id)
}

func (s *DB) scanUser(ctx context.Context, q querier, where string, a ...any) (model.User, error) {
	var u model.User
	var created int64
	err := q.QueryRowContext(ctx, `SELECT id, username, email, is_admin, created FROM users WHERE `+where, a...).
		Scan(&u.ID, &u.Username, &u.Email, &u.IsAdmin, &created)
	if err != nil {
		return u, err
	}
	u.Created = fromMicros(created)
	u.Groups, err = s.userGroups(ctx, q, u.ID)
	return u, err
}

// User returns a user with its groups.
func (s *DB) User(ctx context.Context, username string) (model.User, error) {
	u, err := s.scanUser(ctx, s.rq, `username = $1`, username)
	return u, s.wrap(err, "user %q", username)
}

// ListUsers returns every user, by name.
func (s *DB) ListUsers(ctx context.Context) ([]model.User, error) {
	rows, err := s.rq.QueryContext(ctx, `SELECT id, username, email, is_admin, created FROM users ORDER BY username`)
	if err != nil {
		return nil, s.wrap(err, "listing users")
	}
	var out []model.User
	for rows.Next() {
		var u model.User
		var created int64
		if err := rows.Scan(&u.ID, &u.Username, &u.Email, &u.IsAdmin, &created); err != nil {
			rows.Close()
			return nil, s.wrap(err, "listing users")
		}
		u.Created = fromMicros(created)
		out = append(out, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.wrap(err, "listing users")
	}
	members, err := s.rq.QueryContext(ctx, `SELECT m.user_id, g.name FROM group_members m JOIN user_groups g ON g.id = m.group_id ORDER BY g.name`)
	if err != nil {
		return nil, s.wrap(err, "listing users' groups")
	}
	defer members.Close()
	byID := map[int64]*model.User{}
	for i := range out {
		byID[out[i].ID] = &out[i]
	}
	for members.Next() {
		var id int64
		var g string
		if err := members.Scan(&id, &g); err != nil {
			return nil, s.wrap(err, "listing users' groups")
		}
		if u := byID[id]; u != nil {
			u.Groups = append(u.Groups, g)
		}
	}
	return out, s.wrap(members.Err(), "listing users' groups")
}

// SetAdmin grants or removes admin rights.
func (s *DB) SetAdmin(ctx context.Context, username string, admin bool) error {
	defer s.tokens.invalidate()
	return s.inTx(ctx, func(t *tx) error {
		res, err := t.ExecContext(ctx, `UPDATE users SET is_admin = $1 WHERE username = $2`, admin, username)
		if err != nil {
			return s.wrap(err, "setting admin of %q", username)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("user %q", username)
		}
		return nil
	})
}

// CreateToken stores the hash of a new API token.
func (s *DB) CreateToken(ctx context.Context, username, description string, hash []byte) (model.Token, error) {
	tok := model.Token{Username: username, Description: description, Hash: hash, Created: fromMicros(micros(s.now()))}
	if len(hash) == 0 {
		return tok, invalid("creating a token for %q: empty hash", username)
	}
	err := s.inTx(ctx, func(t *tx) error {
		var uid int64
		if err := t.QueryRowContext(ctx, `SELECT id FROM users WHERE username = $1`, username).Scan(&uid); err != nil {
			return s.wrap(err, "user %q", username)
		}
		err := t.QueryRowContext(ctx, `INSERT INTO tokens (user_id, description, hash, created) VALUES ($1, $2, $3, $4) RETURNING id`,
			uid, description, hash, micros(tok.Created)).Scan(&tok.ID)
		return s.wrap(err, "creating a token for %q", username)
	})
	return tok, err
}

func scanTokens(rows *sql.Rows) ([]model.Token, error) {
	defer rows.Close()
	var out []model.Token
	for rows.Next() {
		var t model.Token
		var created, used int64
		if err := rows.Scan(&t.ID, &t.Username, &t.Description, &t.Hash, &created, &used); err != nil {
			return nil, err
		}
		t.Created, t.LastUsed = fromMicros(created), fromMicros(used)
		out = append(out, t)
	}
	return out, rows.Err()
}

// ListTokens returns a user's tokens (hashes only), oldest first.
func (s *DB) ListTokens(ctx context.Context, username string) ([]model.Token, error) {
	var uid int64
	if err := s.rq.QueryRowContext(ctx, `SELECT id FROM users WHERE username = $1`, username).Scan(&uid); err != nil {
		return nil, s.wrap(err, "user %q", username)
	}
	rows, err := s.rq.QueryContext(ctx, `SELECT t.id, u.username, t.description, t.hash, t.created, t.last_used
FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.user_id = $1 ORDER BY t.id`, uid)
	if err != nil {
		return nil, s.wrap(err, "listing tokens of %q", username)
	}
	out, err := scanTokens(rows)
	return out, s.wrap(err, "listing tokens of %q", username)
}

// DeleteToken removes one of a user's tokens.
func (s *DB) DeleteToken(ctx context.Context, username string, id int64) error {
	defer s.tokens.invalidate()
	return s.inTx(ctx, func(t *tx) error {
		res, err := t.ExecContext(ctx, `DELETE FROM tokens WHERE id = $1 AND user_id = (SELECT id FROM users WHERE username = $2)`, id, username)
		if err != nil {
			return s.wrap(err, "deleting token %d of %q", id, username)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("token %d of %q", id, username)
		}
		return nil
	})
}

// TokenUseGranularity is how stale a token's last use may get before
// UserByTokenHash writes it again (authentication is then a read).
const TokenUseGranularity = time.Minute

// UserByTokenHash authenticates a token and records its use (to the
// minute, so that most authentications write nothing). A token found is
// remembered for TokenCacheTTL (see tokenCache).
func (s *DB) UserByTokenHash(ctx context.Context, hash []byte) (model.User, error) {
	var u model.User
	if len(hash) == 0 {
		return u, notFound("token")
	}
	clock := time.Now()
	if u, ok := s.tokens.get(hash, clock); ok {
		return u, nil
	}
	gen := s.tokens.generation()
	// The token and its user in one query (authentication runs on every
	// API request).
	var used, created int64
	err := s.rq.QueryRowContext(ctx, `SELECT u.id, u.username, u.email, u.is_admin, u.created, t.last_used
FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = $1`, hash).
		Scan(&u.ID, &u.Username, &u.Email, &u.IsAdmin, &created, &used)
	if err != nil {
		return u, s.wrap(err, "token")
	}
	u.Created = fromMicros(created)
	now := s.now()
	if now.Sub(fromMicros(used)) >= TokenUseGranularity {
		err := s.inTx(ctx, func(t *tx) error {
			_, err := t.ExecContext(ctx, `UPDATE tokens SET last_used = $1 WHERE hash = $2`, micros(now), hash)
			return s.wrap(err, "recording the use of a token")
		})
		if err != nil {
			return u, err
		}
	}
	u.Groups, err = s.userGroups(ctx, s.rq, u.ID)
	if err != nil {
		return u, s.wrap(err, "token's user")
	}
	s.tokens.put(hash, u, gen, clock)
	return u, nil
}

// CreateGroup stores an empty group.
func (s *DB) CreateGroup(ctx context.Context, name string) error {
	if strings.TrimSpace(name) == "" {
		return invalid("creating a group: empty name")
	}
	return s.inTx(ctx, func(t *tx) error {
		_, err := t.ExecContext(ctx, `INSERT INTO user_groups (name) VALUES ($1)`, name)
		return s.wrap(err, "creating group %q", name)
	})
}

func addMember(ctx context.Context, t *tx, group, username string) error {
	var gid, uid int64
	if err := t.QueryRowContext(ctx, `SELECT id FROM user_groups WHERE name = $1`, group).Scan(&gid); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("group %q: %w", group, store.ErrNotFound)
		}
		return err
	}
	if err := t.QueryRowContext(ctx, `SELECT id FROM users WHERE username = $1`, username).Scan(&uid); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("user %q: %w", username, store.ErrNotFound)
		}
		return err
	}
	_, err := t.ExecContext(ctx, `INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, gid, uid)
	return err
}

// AddGroupMember adds a user to a group (no-op if already a member).
func (s *DB) AddGroupMember(ctx context.Context, group, username string) error {
	defer s.tokens.invalidate()
	return s.inTx(ctx, func(t *tx) error {
		return s.wrap(addMember(ctx, t, group, username), "adding %q to group %q", username, group)
	})
}

// ListGroups returns every group with its members, by name.
func (s *DB) ListGroups(ctx context.Context) ([]model.Group, error) {
	rows, err := s.rq.QueryContext(ctx, `SELECT g.name, COALESCE(u.username, '') FROM user_groups g
LEFT JOIN group_members m ON m.group_id = g.id LEFT JOIN users u ON u.id = m.user_id ORDER BY g.name, u.username`)
	if err != nil {
		return nil, s.wrap(err, "listing groups")
	}
	defer rows.Close()
	var out []model.Group
	for rows.Next() {
		var g, m string
		if err := rows.Scan(&g, &m); err != nil {
			return nil, s.wrap(err, "listing groups")
		}
		if len(out) == 0 || out[len(out)-1].Name != g {
			out = append(out, model.Group{Name: g})
		}
		if m != "" {
			out[len(out)-1].Members = append(out[len(out)-1].Members, m)
		}
	}
	return out, s.wrap(rows.Err(), "listing groups")
}
