package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/lavalab/lavalab/core/storeopen"
)

// backupCmd runs "backup FILE" and "restore FILE".
func backupCmd(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	dataDir, db := dbFlags(fs)
	pgBin := fs.String("pg-bin", "", "directory of pg_dump and pg_restore (default: PATH, then the newest /usr/lib/postgresql/*/bin)")
	var force *bool
	if cmd == "restore" {
		force = fs.Bool("force", false, "SQLite: replace an existing database (kept aside as lava.db.replaced-TIME)")
	}
	pos, err := parseFlags(fs, args, 1, 1)
	if err != nil {
		return err
	}
	var msg string
	if cmd == "backup" {
		msg, err = storeopen.Backup(ctx, *dataDir, *db, pos[0], *pgBin)
	} else {
		if *db == "" {
			if err := os.MkdirAll(*dataDir, 0o750); err != nil {
				return fmt.Errorf("creating the data directory: %w", err)
			}
		}
		msg, err = storeopen.Restore(ctx, *dataDir, *db, pos[0], *pgBin, *force)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, msg)
	return nil
}
