package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"

	"github.com/lavalab/lavalab/core/auth"
	"github.com/lavalab/lavalab/core/devdict"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/storeopen"
	"github.com/lavalab/lavalab/core/version"
)

func versionCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	dbFlags(fs) // accepted, unused: every command takes them
	if _, err := parseFlags(fs, args, 0, 0); err != nil {
		return err
	}
	fmt.Fprintln(stdout, version.Version)
	return nil
}

// dbFlags adds --data-dir and --db to fs.
func dbFlags(fs *flag.FlagSet) (dataDir, db *string) {
	dataDir = fs.String("data-dir", storeopen.DefaultDataDir, "data directory (the SQLite database lives here)")
	db = fs.String("db", "", "database: empty for SQLite in --data-dir, postgres://... for PostgreSQL")
	return dataDir, db
}

// openStore opens the store the flags select for the server, creating the
// data directory for SQLite (whose lock then refuses a second server).
func openStore(ctx context.Context, dataDir, db string) (store.Store, error) {
	if err := makeDataDir(dataDir, db); err != nil {
		return nil, err
	}
	return storeopen.Open(ctx, dataDir, db)
}

// openAdminStore opens the store for one admin command; with SQLite it
// works while a server runs on the same data directory.
func openAdminStore(ctx context.Context, dataDir, db string) (store.Store, error) {
	if err := makeDataDir(dataDir, db); err != nil {
		return nil, err
	}
	return storeopen.OpenShared(ctx, dataDir, db)
}

// makeDataDir creates the data directory when the store is SQLite in it.
func makeDataDir(dataDir, db string) error {
	if db != "" {
		return nil
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return fmt.Errorf("creating the data directory: %w", err)
	}
	return nil
}

// admin runs one admin command ("user add", ...).
func admin(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	dataDir, db := dbFlags(fs)
	var (
		isAdmin     *bool
		email, desc *string
		tokenFile   *string
		jobLimit    *int
		hcFile      *string
		hcFreq      *int
		hcDen       *string
		driverName  *string
		devType     *string
		worker      *string
		dictFile    *string
		health      *string
		reason      *string
		by          *string
		limit       *int
		tags        strList
	)
	nargs := 1
	switch cmd {
	case "user add":
		isAdmin = fs.Bool("admin", false, "make the user an admin")
		email = fs.String("email", "", "the user's email address")
		tokenFile = fs.String("token-file", "", "keep a token: the file holds one an earlier user add or user token printed")
	case "user token":
		desc = fs.String("description", "", "what the token is for")
		tokenFile = fs.String("token-file", "", "keep a token: the file holds one an earlier user add or user token printed")
	case "worker add":
		desc = fs.String("description", "", "description")
		jobLimit = fs.Int("job-limit", 0, "jobs the worker may run at once (0 = unlimited)")
	case "worker token", "worker maintenance", "worker active":
	case "device-type add":
		desc = fs.String("description", "", "description")
		hcFile = fs.String("health-check", "", "file holding the health-check job definition")
		hcFreq = fs.Int("health-frequency", 0, "run a health check every N hours or jobs (0 = only when health is Unknown)")
		hcDen = fs.String("health-denominator", "hours", "unit of --health-frequency: hours or jobs")
		driverName = fs.String("driver", "", "the driver that runs the type (default: the driver that declares NAME, or the shipped driver of LAVA's NAME)")
	case "device add":
		devType = fs.String("type", "", "device type (required)")
		worker = fs.String("worker", "", "worker the device is attached to")
		dictFile = fs.String("dict", "", "file holding the device dictionary")
		desc = fs.String("description", "", "description")
		health = fs.String("health", "unknown", "starting health")
		fs.Var(&tags, "tag", "a tag of the device (repeatable)")
	case "device set-health":
		nargs = 2
		reason = fs.String("reason", "", "why (kept in the device's health history)")
		by = fs.String("by", defaultActor(), "who (kept in the device's health history)")
	case "device maintenance":
		reason = fs.String("reason", "", "why (required; kept in the device's health history)")
		by = fs.String("by", defaultActor(), "who (kept in the device's health history)")
	case "device health-history":
		limit = fs.Int("limit", 20, "at most this many transitions, newest first")
	case "tag add":
		desc = fs.String("description", "", "description")
	case "group add":
	case "group add-member":
		nargs = 2
	default:
		return usagef("unknown command")
	}
	pos, err := parseFlags(fs, args, nargs, nargs)
	if err != nil {
		return err
	}
	name := pos[0]
	if strings.TrimSpace(name) == "" {
		return usagef("empty name")
	}
	// Read files and check flags before touching the store.
	var hcText, dictText, keptToken string
	switch cmd {
	case "user add", "user token":
		if *tokenFile != "" {
			if keptToken, err = readUserToken(*tokenFile); err != nil {
				return err
			}
		}
	case "device-type add":
		if *hcDen != "hours" && *hcDen != "jobs" {
			return usagef("--health-denominator %q: want hours or jobs", *hcDen)
		}
		if *hcFreq < 0 {
			return usagef("--health-frequency must be >= 0")
		}
		if *hcFile != "" {
			b, err := os.ReadFile(*hcFile)
			if err != nil {
				return fmt.Errorf("reading the health check: %w", err)
			}
			hcText = string(b)
		}
	case "device add":
		if *devType == "" {
			return usagef("--type is required")
		}
		if *dictFile != "" {
			b, err := os.ReadFile(*dictFile)
			if err != nil {
				return fmt.Errorf("reading the device dictionary: %w", err)
			}
			if _, err := devdict.Parse(b); err != nil {
				return fmt.Errorf("%s: %w", *dictFile, err)
			}
			dictText = string(b)
		}
	}
	var devHealth model.DeviceHealth
	switch cmd {
	case "device add":
		if devHealth, err = model.ParseDeviceHealth(*health); err != nil {
			return usagef("--health: %v", err)
		}
	case "device set-health":
		if devHealth, err = model.ParseDeviceHealth(pos[1]); err != nil {
			return usagef("%v", err)
		}
	case "device maintenance":
		if strings.TrimSpace(*reason) == "" {
			return usagef("device maintenance: --reason is required")
		}
		devHealth = model.DeviceMaintenance
	}

	st, err := openAdminStore(ctx, *dataDir, *db)
	if err != nil {
		return err
	}
	defer st.Close()

	switch cmd {
	case "user add":
		if _, err := st.CreateUser(ctx, model.User{Username: name, Email: *email, IsAdmin: *isAdmin}); err != nil {
			if errors.Is(err, store.ErrExists) {
				return fmt.Errorf("user %q already exists; make another token with: lava-server user token %s", name, name)
			}
			return err
		}
		return newUserToken(ctx, st, name, "created with the user", keptToken, stdout)
	case "user token":
		if _, err := st.User(ctx, name); errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("user %q does not exist; create it with: lava-server user add %s", name, name)
		}
		return newUserToken(ctx, st, name, *desc, keptToken, stdout)
	case "worker add":
		secret, hash := auth.NewWorkerToken()
		err := st.CreateWorker(ctx, model.Worker{Hostname: name, Description: *desc, JobLimit: *jobLimit,
			State: model.WorkerOffline, Health: model.WorkerActive, TokenHash: hash})
		if errors.Is(err, store.ErrExists) {
			return fmt.Errorf("worker %q already exists; replace its token with: lava-server worker token %s", name, name)
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, secret)
	case "worker token":
		secret, hash := auth.NewWorkerToken()
		if err := st.SetWorkerToken(ctx, name, hash); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("worker %q does not exist; create it with: lava-server worker add %s", name, name)
			}
			return err
		}
		fmt.Fprintln(stdout, secret)
	case "worker maintenance", "worker active":
		return setWorkerHealth(ctx, st, name, cmd == "worker maintenance", stderr)
	case "device-type add":
		err := st.CreateDeviceType(ctx, model.DeviceType{Name: name, Description: *desc, HealthCheck: hcText,
			HealthFrequency: *hcFreq, HealthDenominator: *hcDen, Display: true, Driver: *driverName})
		if errors.Is(err, store.ErrExists) {
			return fmt.Errorf("device type %q already exists", name)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "device type %q created\n", name)
		if *driverName != "" {
			fmt.Fprintf(stderr, "device type %q runs on driver %s\n", name, *driverName)
		}
	case "device add":
		if _, err := st.DeviceType(ctx, *devType); errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("device type %q does not exist; create it with: lava-server device-type add %s", *devType, *devType)
		}
		if *worker != "" {
			if _, err := st.Worker(ctx, *worker); errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("worker %q does not exist; create it with: lava-server worker add %s", *worker, *worker)
			}
		}
		err := st.CreateDevice(ctx, model.Device{Hostname: name, DeviceType: *devType, Worker: *worker,
			Description: *desc, Dictionary: dictText, Tags: tags, Health: devHealth})
		if errors.Is(err, store.ErrExists) {
			return fmt.Errorf("device %q already exists", name)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "device %q created (type %s, health %s)\n", name, *devType, devHealth)
	case "device health-history":
		return printHealthHistory(ctx, st, name, *limit, stdout)
	case "device set-health", "device maintenance":
		d, err := st.SetDeviceHealthBy(ctx, name, devHealth, *by, *reason)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("device %q does not exist", name)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "device %q: health %s\n", name, d.Health)
	case "tag add":
		err := st.CreateTag(ctx, model.Tag{Name: name, Description: *desc})
		if errors.Is(err, store.ErrExists) {
			return fmt.Errorf("tag %q already exists", name)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "tag %q created\n", name)
	case "group add":
		err := st.CreateGroup(ctx, name)
		if errors.Is(err, store.ErrExists) {
			return fmt.Errorf("group %q already exists", name)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "group %q created\n", name)
	case "group add-member":
		user := pos[1]
		if _, err := st.User(ctx, user); errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("user %q does not exist; create it with: lava-server user add %s", user, user)
		}
		if err := st.AddGroupMember(ctx, name, user); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("group %q does not exist; create it with: lava-server group add %s", name, name)
			}
			return err
		}
		fmt.Fprintf(stderr, "user %q added to group %q\n", user, name)
	}
	return nil
}

// newUserToken stores an API token for user and prints its secret: kept
// (a secret read with readUserToken) or else a new one.
func newUserToken(ctx context.Context, st store.Store, user, desc, kept string, stdout io.Writer) error {
	secret, hash := auth.NewToken()
	if kept != "" {
		secret, hash = kept, auth.Hash(kept)
	}
	if _, err := st.CreateToken(ctx, user, desc, hash); err != nil {
		return fmt.Errorf("storing the token of user %q: %w", user, err)
	}
	fmt.Fprintln(stdout, secret)
	return nil
}

// readUserToken reads the user API token a file holds (as user add and
// user token print it: lava_ and 43 base64url characters, a newline).
func readUserToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading the token: %w", err)
	}
	secret := strings.TrimSpace(string(b))
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(secret, auth.UserPrefix))
	if !strings.HasPrefix(secret, auth.UserPrefix) || err != nil || len(raw) != auth.SecretBytes {
		return "", fmt.Errorf("%s does not hold a user API token (%s followed by %d base64url characters)",
			path, auth.UserPrefix, base64.RawURLEncoding.EncodedLen(auth.SecretBytes))
	}
	return secret, nil
}

// setWorkerHealth puts a worker in maintenance (drained: the scheduler
// gives its devices no new job; the jobs it runs finish) or back to
// active, and says how many jobs it still runs.
func setWorkerHealth(ctx context.Context, st store.Store, name string, maintenance bool, stderr io.Writer) error {
	health := model.WorkerActive
	if maintenance {
		health = model.WorkerMaintenance
	}
	wk, err := st.UpdateWorker(ctx, name, func(w *model.Worker) error {
		if w.Health == model.WorkerRetired {
			return fmt.Errorf("worker %q is retired: %w", name, store.ErrConflict)
		}
		w.Health = health
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("worker %q does not exist", name)
	}
	if err != nil {
		return err
	}
	if !maintenance {
		fmt.Fprintf(stderr, "worker %q: health %s: its devices get jobs again\n", name, wk.Health)
		return nil
	}
	msg := fmt.Sprintf("worker %q: health %s: its devices get no new job", name, wk.Health)
	if wp, ok := st.(store.WorkerProto); ok {
		running, err := wp.WorkerJobs(ctx, name)
		if err != nil {
			return err
		}
		msg += fmt.Sprintf("; %d job(s) already given to it finish", len(running))
	}
	fmt.Fprintln(stderr, msg)
	return nil
}

// defaultActor is who an admin command says made a change: the system
// user running it.
func defaultActor() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}

// printHealthHistory prints a device's health transitions, newest first.
func printHealthHistory(ctx context.Context, st store.Store, name string, limit int, stdout io.Writer) error {
	hist, err := st.DeviceHealthHistory(ctx, name, limit)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("device %q does not exist", name)
	}
	if err != nil {
		return err
	}
	if len(hist) == 0 {
		fmt.Fprintln(stdout, "no health changes recorded")
		return nil
	}
	fmt.Fprintf(stdout, "%-20s %-11s %-11s %-12s %s\n", "WHEN", "FROM", "TO", "CAUSE", "DETAIL")
	for _, c := range hist {
		var detail []string
		if c.JobID != 0 {
			detail = append(detail, fmt.Sprintf("job %d", c.JobID))
		}
		if c.Actor != "" {
			detail = append(detail, "by "+c.Actor)
		}
		if c.Reason != "" {
			detail = append(detail, fmt.Sprintf("%q", c.Reason))
		}
		fmt.Fprintf(stdout, "%-20s %-11s %-11s %-12s %s\n", c.At.UTC().Format("2006-01-02 15:04:05Z"), c.From, c.To, c.Cause, strings.Join(detail, " "))
	}
	return nil
}
