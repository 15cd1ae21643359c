package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

const usageText = `usage: lava-server [COMMAND] [ARGS] [FLAGS]

Commands:
  serve                                 run the server (the default)
  user add NAME [--admin] [--email E] [--token-file F]
                                        create a user; prints its API token (F: keep that one)
  user token NAME [--description D] [--token-file F]
                                        make another API token (or add F's); prints it
  worker add NAME [--description D] [--job-limit N]
                                        create a worker; prints its token
  worker token NAME                     replace a worker's token; prints it
  worker maintenance NAME               drain a worker: no new jobs, running ones finish
  worker active NAME                    end a worker's maintenance
  device-type add NAME [--driver D] [--health-check FILE] [--health-frequency N]
                  [--health-denominator hours|jobs] [--description D]
                                        D: the driver that runs NAME (uboot, juno-r2, ...)
  device-type import PATH...            import LAVA device-type templates (files or
                                        folders of *.jinja2): one verdict a template;
                                        importing again replaces the template
  device-type settings NAME [--set KEY=VALUE]... [--unset KEY]...
                                        change a device type's setting overrides
                                        (checked against its driver); prints the
                                        settings with their source
  driver list                           list driver versions (* = active)
  driver install FILE [--name N]        check a .wasm driver and activate it
  driver activate NAME SHA256           activate a known version (prefix ok)
  driver rollback NAME                  re-activate the previous version
  driver rm NAME SHA256 | NAME --keep N remove a version (prefix ok), or those beyond
                                        the N most recently activated; never the
                                        active one nor one an unfinished job pins
  device add HOSTNAME --type T [--worker W] [--dict FILE] [--tag T]...
                  [--description D] [--health H]
  device set-health HOSTNAME good|unknown|looping|bad|maintenance|retired [--reason R] [--by U]
  device maintenance HOSTNAME --reason R [--by U]
                                        put a device in maintenance, saying why
  device health-history HOSTNAME [--limit N]
                                        its health changes and their cause
  tag add NAME [--description D]
  group add NAME
  jobs list [--state S]... [--health H]... [--newer-than AGE] [--older-than AGE]
            [--submitter U] [--device-type T] [--limit N]
                                        list jobs, newest first (AGE: 180d, 2w, 36h)
  jobs rm --older-than AGE [--state finished|submitted]... [--submitter U]
          [--logs-only] [--dry-run] [--batch N]
                                        remove old jobs (or only their logs) in
                                        batches; safe while the server runs
  jobs fail ID [--comment C]            end a job Incomplete and free its device
  backup FILE [--pg-bin DIR]            copy the database while the server runs
                                        (SQLite; pg_dump for PostgreSQL)
  restore FILE [--force] [--pg-bin DIR] put a backup in place (server stopped)
  group add-member GROUP USER
  version                               print the version

Every command takes --data-dir DIR (default ./lava-data) and --db URL
(default: SQLite at DIR/lava.db; postgres://... selects PostgreSQL).
Run "lava-server serve --help" for the server's flags.
`

// usageError is a wrong command line: exit 2 with the usage.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// run is the whole program, testable in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return finish(stderr, "serve", serve(ctx, args, stderr))
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, rest, stderr)
	case "version":
		err = versionCmd(rest, stdout)
	case "help":
		fmt.Fprint(stdout, usageText)
		return exitOK
	case "backup", "restore":
		err = backupCmd(ctx, cmd, rest, stdout, stderr)
	case "jobs":
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			err = usagef("%s: missing subcommand", cmd)
			break
		}
		cmd = cmd + " " + rest[0]
		err = jobsCmd(ctx, cmd, rest[1:], stdout, stderr)
	case "user", "worker", "device-type", "device", "tag", "group", "driver":
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			err = usagef("%s: missing subcommand", cmd)
			break
		}
		cmd = cmd + " " + rest[0]
		if cmd == "device-type import" {
			err = deviceTypeImport(ctx, rest[1:], stdout, stderr)
			break
		}
		if isDriverCmd(cmd) {
			err = driverCmd(ctx, cmd, rest[1:], stdout, stderr)
			break
		}
		err = admin(ctx, cmd, rest[1:], stdout, stderr)
	default:
		err = usagef("unknown command %q", cmd)
	}
	return finish(stderr, cmd, err)
}

func finish(stderr io.Writer, cmd string, err error) int {
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "lava-server %s: %s\n\n%s", cmd, ue.msg, usageText)
		return exitUsage
	}
	fmt.Fprintf(stderr, "lava-server %s: %v\n", cmd, err)
	return exitFail
}

// parseFlags parses flags placed anywhere among the positional arguments
// and checks their number is in [min, max].
func parseFlags(fs *flag.FlagSet, args []string, minArgs, maxArgs int) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, usagef("flags:\n%s", flagHelp(fs))
			}
			return nil, usagef("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) < minArgs || len(pos) > maxArgs {
		if minArgs == maxArgs {
			return nil, usagef("want %d argument(s), got %d", minArgs, len(pos))
		}
		return nil, usagef("want %d to %d arguments, got %d", minArgs, maxArgs, len(pos))
	}
	return pos, nil
}

func flagHelp(fs *flag.FlagSet) string {
	var b strings.Builder
	fs.VisitAll(func(f *flag.Flag) {
		fmt.Fprintf(&b, "  --%s\t%s (default %q)\n", f.Name, f.Usage, f.DefValue)
	})
	return b.String()
}

// strList is a repeatable string flag.
type strList []string

func (s *strList) String() string     { return strings.Join(*s, ",") }
func (s *strList) Set(v string) error { *s = append(*s, v); return nil }
