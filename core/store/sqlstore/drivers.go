package sqlstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/lavalab/lavalab/core/store"
)

// validSHA reports whether sha is a lower-case hex SHA-256.
func validSHA(sha string) bool {
	b, err := hex.DecodeString(sha)
	return err == nil && len(b) == sha256.Size && strings.ToLower(sha) == sha
}

// PutDriverModule stores a module under its SHA-256, which must be the
// SHA-256 of data; a module already stored is left as it is.
func (s *DB) PutDriverModule(ctx context.Context, sha, name string, data []byte) error {
	if !validSHA(sha) {
		return invalid("driver module %q: not a lower-case hex SHA-256", sha)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != sha {
		return invalid("driver module %s: the data's SHA-256 is %x", sha, sum)
	}
	if strings.TrimSpace(name) == "" {
		return invalid("driver module %s: no driver name", sha)
	}
	return s.inTx(ctx, func(t *tx) error {
		_, err := t.ExecContext(ctx, `INSERT INTO driver_modules (sha256, name, size, data, created)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sha256) DO NOTHING`, sha, name, len(data), data, micros(s.now()))
		return s.wrap(err, "storing driver module %s", sha)
	})
}

// DriverModule returns the bytes of a stored module.
func (s *DB) DriverModule(ctx context.Context, sha string) ([]byte, error) {
	if !validSHA(sha) {
		return nil, notFound("driver module %q", sha)
	}
	var data []byte
	err := s.r.QueryRowContext(ctx, `SELECT data FROM driver_modules WHERE sha256 = $1`, sha).Scan(&data)
	if err != nil {
		return nil, s.wrap(err, "driver module %s", sha)
	}
	return data, nil
}

// ListDriverModules returns the SHA-256 of every stored module, sorted.
func (s *DB) ListDriverModules(ctx context.Context) ([]string, error) {
	out, err := column[string](ctx, s.r, `SELECT sha256 FROM driver_modules ORDER BY sha256`)
	return out, s.wrap(err, "listing driver modules")
}

// SaveDriverActivations replaces the activation history of a driver.
func (s *DB) SaveDriverActivations(ctx context.Context, name string, history []string) error {
	if strings.TrimSpace(name) == "" {
		return invalid("driver activations: no driver name")
	}
	for _, sha := range history {
		if !validSHA(sha) {
			return invalid("driver %s activations: %q is not a lower-case hex SHA-256", name, sha)
		}
	}
	if history == nil {
		history = []string{}
	}
	b, err := json.Marshal(history)
	if err != nil {
		return invalid("driver %s activations: %v", name, err)
	}
	return s.inTx(ctx, func(t *tx) error {
		_, err := t.ExecContext(ctx, `INSERT INTO driver_activations (name, history, updated) VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE SET history = excluded.history, updated = excluded.updated`, name, string(b), micros(s.now()))
		if err != nil {
			return s.wrap(err, "saving the activations of driver %s", name)
		}
		t.emit(store.TopicDriversChanged, name)
		return nil
	})
}

// DriverActivations returns every driver's activation history.
func (s *DB) DriverActivations(ctx context.Context) (map[string][]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, history FROM driver_activations ORDER BY name`)
	if err != nil {
		return nil, s.wrap(err, "reading driver activations")
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var name, hist string
		if err := rows.Scan(&name, &hist); err != nil {
			return nil, s.wrap(err, "reading driver activations")
		}
		var h []string
		if err := json.Unmarshal([]byte(hist), &h); err != nil {
			return nil, s.wrap(err, "reading the activations of driver %s", name)
		}
		out[name] = h
	}
	return out, s.wrap(rows.Err(), "reading driver activations")
}
