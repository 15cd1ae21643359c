package sqlstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/lavalab/lavalab/core/model"
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

// DeleteDriverModule removes a module no active version and no unfinished
// job needs, and drops it from the activation histories, in one
// transaction.
func (s *DB) DeleteDriverModule(ctx context.Context, sha string) error {
	if !validSHA(sha) {
		return notFound("driver module %q", sha)
	}
	return s.inTx(ctx, func(t *tx) error {
		var name string
		err := t.QueryRowContext(ctx, `SELECT name FROM driver_modules WHERE sha256 = $1`, sha).Scan(&name)
		if err != nil {
			return s.wrap(err, "driver module %s", sha)
		}
		var a args
		var pinned []int64
		rows, err := t.QueryContext(ctx, `SELECT id FROM jobs WHERE driver_sha256 = `+a.add(sha)+
			` AND state IN (`+a.list(model.JobScheduling, model.JobScheduled, model.JobRunning, model.JobCanceling)+`) ORDER BY id LIMIT 5`, a...)
		if err != nil {
			return s.wrap(err, "jobs pinned to driver module %s", sha)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return s.wrap(err, "jobs pinned to driver module %s", sha)
			}
			pinned = append(pinned, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return s.wrap(err, "jobs pinned to driver module %s", sha)
		}
		if len(pinned) > 0 {
			return conflict("driver module %s: unfinished jobs are pinned to it (%s)", sha, joinIDs(pinned))
		}
		hrows, err := t.QueryContext(ctx, `SELECT name, history FROM driver_activations ORDER BY name`)
		if err != nil {
			return s.wrap(err, "reading driver activations")
		}
		hist := map[string][]string{}
		for hrows.Next() {
			var n, h string
			if err := hrows.Scan(&n, &h); err != nil {
				hrows.Close()
				return s.wrap(err, "reading driver activations")
			}
			var list []string
			if err := json.Unmarshal([]byte(h), &list); err != nil {
				hrows.Close()
				return s.wrap(err, "reading the activations of driver %s", n)
			}
			hist[n] = list
		}
		hrows.Close()
		if err := hrows.Err(); err != nil {
			return s.wrap(err, "reading driver activations")
		}
		for n, list := range hist {
			if len(list) > 0 && list[len(list)-1] == sha {
				return conflict("driver module %s: the active version of driver %s", sha, n)
			}
		}
		for n, list := range hist {
			if !slices.Contains(list, sha) {
				continue
			}
			b, err := json.Marshal(slices.DeleteFunc(slices.Clone(list), func(x string) bool { return x == sha }))
			if err != nil {
				return invalid("driver %s activations: %v", n, err)
			}
			if _, err := t.ExecContext(ctx, `UPDATE driver_activations SET history = $1, updated = $2 WHERE name = $3`,
				string(b), micros(s.now()), n); err != nil {
				return s.wrap(err, "saving the activations of driver %s", n)
			}
		}
		if _, err := t.ExecContext(ctx, `DELETE FROM driver_modules WHERE sha256 = $1`, sha); err != nil {
			return s.wrap(err, "removing driver module %s", sha)
		}
		t.emit(store.TopicDriversChanged, name)
		return nil
	})
}

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return "job " + strings.Join(s, ", ")
}
