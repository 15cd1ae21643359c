package sqlstore

import (
	"context"
	"time"

	"github.com/lavalab/lavalab/core/model"
)

// CreateSession stores a web session: the hash of its secret, the API
// token (by hash) it was opened with, and its expiry. Expired sessions are
// removed on the way.
func (s *DB) CreateSession(ctx context.Context, hash, tokenHash []byte, expires time.Time) error {
	if len(hash) == 0 || len(tokenHash) == 0 {
		return invalid("creating a web session: empty hash")
	}
	now := s.now()
	return s.inTx(ctx, func(t *tx) error {
		if _, err := t.ExecContext(ctx, `DELETE FROM web_sessions WHERE expires <= $1`, micros(now)); err != nil {
			return s.wrap(err, "removing expired web sessions")
		}
		var tokenID int64
		if err := t.QueryRowContext(ctx, `SELECT id FROM tokens WHERE hash = $1`, tokenHash).Scan(&tokenID); err != nil {
			return s.wrap(err, "the web session's token")
		}
		_, err := t.ExecContext(ctx, `INSERT INTO web_sessions (hash, token_id, created, expires) VALUES ($1, $2, $3, $4)`,
			hash, tokenID, micros(now), micros(expires))
		return s.wrap(err, "creating a web session")
	})
}

// SessionUser returns the user of an unexpired web session whose token
// still exists, as UserByTokenHash does (ErrNotFound otherwise).
func (s *DB) SessionUser(ctx context.Context, hash []byte) (model.User, error) {
	if len(hash) == 0 {
		return model.User{}, notFound("web session")
	}
	var tokenHash []byte
	err := s.rq.QueryRowContext(ctx, `SELECT t.hash FROM web_sessions w JOIN tokens t ON t.id = w.token_id
WHERE w.hash = $1 AND w.expires > $2`, hash, micros(s.now())).Scan(&tokenHash)
	if err != nil {
		return model.User{}, s.wrap(err, "web session")
	}
	return s.UserByTokenHash(ctx, tokenHash)
}

// DeleteSession ends a web session; one already gone is not an error.
func (s *DB) DeleteSession(ctx context.Context, hash []byte) error {
	return s.inTx(ctx, func(t *tx) error {
		_, err := t.ExecContext(ctx, `DELETE FROM web_sessions WHERE hash = $1`, hash)
		return s.wrap(err, "deleting a web session")
	})
}
