package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// PgBinDirs is where FindTool looks after PATH: Debian's PostgreSQL
// packages install their tools in /usr/lib/postgresql/VERSION/bin.
const PgBinDirs = "/usr/lib/postgresql/*/bin"

// FindTool finds pg_dump or pg_restore: in dir if set, else on PATH, else
// in the newest of PgBinDirs.
func FindTool(name, dir string) (string, error) {
	if dir != "" {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		return p, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	dirs, _ := filepath.Glob(PgBinDirs)
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
	for _, d := range dirs {
		if p := filepath.Join(d, name); fileExists(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH nor in %s (install postgresql-client, or give --pg-bin DIR)", name, PgBinDirs)
}

func pgVersion(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// libpqEnv turns a DSN pgx accepts into the environment of the libpq tools
// (the password stays out of their command line) and the lab's schema (the
// DSN's search_path, else "public").
func libpqEnv(dsn string) ([]string, string, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, "", fmt.Errorf("parsing the database URL: %w", err)
	}
	env := append(os.Environ(), "PGHOST="+cfg.Host, "PGPORT="+strconv.Itoa(int(cfg.Port)),
		"PGDATABASE="+cfg.Database, "PGUSER="+cfg.User, "PGPASSWORD="+cfg.Password)
	if u, err := url.Parse(dsn); err == nil && u.Query().Get("sslmode") != "" {
		env = append(env, "PGSSLMODE="+u.Query().Get("sslmode"))
	}
	schema := "public"
	if sp := strings.TrimSpace(strings.Split(cfg.RuntimeParams["search_path"], ",")[0]); sp != "" {
		schema = sp
		env = append(env, "PGOPTIONS=-c search_path="+sp)
	}
	return env, schema, nil
}

// Dump writes a backup of the lab's database at dsn to file (which must
// not exist) with pg_dump's custom format, a consistent snapshot taken
// while servers keep running. The lab in schema public: the whole
// database; in another schema (the DSN's search_path): that schema only.
func Dump(ctx context.Context, dsn, file, pgBin string) error {
	if _, err := os.Lstat(file); err == nil {
		return fmt.Errorf("postgres backup: %s already exists", file)
	}
	tool, err := FindTool("pg_dump", pgBin)
	if err != nil {
		return fmt.Errorf("postgres backup: %w", err)
	}
	env, schema, err := libpqEnv(dsn)
	if err != nil {
		return fmt.Errorf("postgres backup: %w", err)
	}
	tmp := file + ".tmp"
	args := []string{"--format=custom", "--no-owner", "--no-privileges", "--file", tmp}
	if schema != "public" {
		args = append(args, "--schema", schema)
	}
	if err := runTool(ctx, tool, args, env); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("postgres backup: %w", err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("postgres backup: %w", err)
	}
	if err := os.Rename(tmp, file); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("postgres backup: %w", err)
	}
	return nil
}

// RestoreDump restores a Dump into the database at dsn in one transaction.
// The database must not hold a lab yet (no jobs table in the DSN's
// schema): create an empty one first (createdb).
func RestoreDump(ctx context.Context, dsn, file, pgBin string) error {
	if _, err := os.Stat(file); err != nil {
		return fmt.Errorf("postgres restore: %w", err)
	}
	tool, err := FindTool("pg_restore", pgBin)
	if err != nil {
		return fmt.Errorf("postgres restore: %w", err)
	}
	env, schema, err := libpqEnv(dsn)
	if err != nil {
		return fmt.Errorf("postgres restore: %w", err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("postgres restore: connecting: %w", err)
	}
	var existing *string
	err = conn.QueryRow(ctx, `SELECT to_regclass(quote_ident($1) || '.jobs')::text`, schema).Scan(&existing)
	conn.Close(ctx)
	if err != nil {
		return fmt.Errorf("postgres restore: %w", err)
	}
	if existing != nil {
		return fmt.Errorf("postgres restore: the database already holds a lab (table %s): restore into an empty database (createdb NAME)", *existing)
	}
	args := []string{"--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "--dbname", conn.Config().Database, file}
	if err := runTool(ctx, tool, args, env); err != nil {
		return fmt.Errorf("postgres restore: %w", err)
	}
	return nil
}

func runTool(ctx context.Context, tool string, args, env []string) error {
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		var ee *exec.ExitError
		if errors.As(err, &ee) && msg != "" {
			return fmt.Errorf("%s: %s", filepath.Base(tool), msg)
		}
		return fmt.Errorf("%s: %w", filepath.Base(tool), err)
	}
	return nil
}
