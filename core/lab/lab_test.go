package lab_test

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/auth"
	"github.com/lavalab/lavalab/core/lab"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/store/postgres"
	"github.com/lavalab/lavalab/core/store/sqlite"
	"github.com/lavalab/lavalab/core/testenv"
)

// qemuJob is a small valid job for the qemu device type.
const qemuJob = `job_name: lab test
device_type: qemu
priority: medium
visibility: public
timeouts:
  job:
    minutes: 10
actions:
- deploy:
    to: tmpfs
    images:
      kernel:
        image_arg: -kernel {kernel}
        url: http://images.example.invalid/bzImage
- boot:
    method: qemu
    media: tmpfs
    prompts: ['/ # ']
`

// env is a lab on a real store: users admin, bob (in group "lab") and
// carol; device type qemu with one device; three jobs: public (admin's),
// personal (bob's), visible to group lab (carol's); a health check.
type env struct {
	svc                     *lab.Service
	st                      store.Store
	users                   map[string]lab.Caller
	public, personal, group int64
	healthCheck             int64
	secret                  string
}

// backends runs fn on SQLite, and on PostgreSQL when
// LAVA_TEST_POSTGRES_DSN is set (as the store's tests).
func backends(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "lava.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, newEnv(t, st))
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := testenv.PostgresSchema(t, testenv.PostgresDSN(t), "lava_lab_")
		st, err := postgres.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		fn(t, newEnv(t, st))
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newEnv(t *testing.T, st store.Store) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{svc: lab.New(lab.Options{Store: st}), st: st, users: map[string]lab.Caller{"anon": lab.Anonymous("test")}}
	for _, u := range []struct {
		name  string
		admin bool
	}{{"admin", true}, {"bob", false}, {"carol", false}} {
		_, err := st.CreateUser(ctx, model.User{Username: u.name, IsAdmin: u.admin})
		must(t, err)
		secret, hash := auth.NewToken()
		_, err = st.CreateToken(ctx, u.name, "test", hash)
		must(t, err)
		if u.name == "bob" {
			e.secret = secret
		}
	}
	must(t, st.CreateGroup(ctx, "lab"))
	must(t, st.AddGroupMember(ctx, "lab", "bob"))
	for _, n := range []string{"admin", "bob", "carol"} {
		u, err := st.User(ctx, n)
		must(t, err)
		e.users[n] = lab.As(&u, "test")
	}
	must(t, st.CreateWorker(ctx, model.Worker{Hostname: "w1", State: model.WorkerOffline}))
	must(t, st.CreateDeviceType(ctx, model.DeviceType{Name: "qemu", Display: true, HealthCheck: qemuJob}))
	must(t, st.CreateDevice(ctx, model.Device{Hostname: "qemu-01", DeviceType: "qemu", Worker: "w1", Health: model.DeviceGood,
		Dictionary: "{% extends 'qemu.jinja2' %}\n{% set memory = 1024 %}\n"}))
	var ids []int64
	for _, j := range []model.Job{
		{Description: "public", Definition: qemuJob, Visibility: model.VisibilityPublic, RequestedDeviceType: "qemu", Submitter: "admin"},
		{Description: "personal", Definition: qemuJob, Visibility: model.VisibilityPersonal, RequestedDeviceType: "qemu", Submitter: "bob"},
		{Description: "group", Definition: qemuJob, Visibility: model.VisibilityGroup, ViewingGroups: []string{"lab"}, RequestedDeviceType: "qemu", Submitter: "carol"},
		{Description: "health check", Definition: qemuJob, Visibility: model.VisibilityPublic, RequestedDeviceType: "qemu", Submitter: "admin", HealthCheck: true},
	} {
		// One at a time: jobs stored together are one multinode job.
		jobs, err := st.CreateJobs(ctx, []model.Job{j})
		must(t, err)
		ids = append(ids, jobs[0].ID)
	}
	e.public, e.personal, e.group, e.healthCheck = ids[0], ids[1], ids[2], ids[3]
	return e
}

// refusal is what a test expects of an operation: ok (0), or a Kind and,
// when not ReasonNone, a Reason.
type refusal struct {
	kind   lab.Kind
	reason lab.Reason
}

var ok = refusal{}

func check(t *testing.T, err error, want refusal) {
	t.Helper()
	if want == ok {
		if err != nil {
			t.Fatalf("err = %v, want none", err)
		}
		return
	}
	e, isLab := lab.AsError(err)
	if !isLab {
		t.Fatalf("err = %v, want a lab error of kind %v", err, want.kind)
	}
	if e.Kind != want.kind || (want.reason != lab.ReasonNone && e.Reason != want.reason) {
		t.Fatalf("err = %v (kind %v, reason %d), want kind %v reason %d", err, e.Kind, e.Reason, want.kind, want.reason)
	}
	if e.Msg == "" {
		t.Errorf("refusal %v has no message", e.Kind)
	}
}

var (
	hidden      = refusal{lab.KindForbidden, lab.ReasonHidden}
	notFound    = refusal{lab.KindNotFound, lab.ReasonNone}
	anonymous   = refusal{lab.KindUnauthenticated, lab.ReasonNone}
	notAdmin    = refusal{lab.KindForbidden, lab.ReasonNotAdmin}
	notOwner    = refusal{lab.KindForbidden, lab.ReasonNotOwner}
	finished    = refusal{lab.KindConflict, lab.ReasonFinished}
	healthCheck = refusal{lab.KindInvalid, lab.ReasonHealthCheck}
)

// TestJobVisibility: who sees which job (FindJob) and which jobs a list
// holds, with "may not see" told from "does not exist".
func TestJobVisibility(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		ref := itoa
		for _, tc := range []struct {
			who  string
			job  string
			want refusal
		}{
			{"anon", ref(e.public), ok},
			{"anon", ref(e.personal), hidden},
			{"anon", ref(e.group), hidden},
			{"bob", ref(e.personal), ok},
			{"bob", ref(e.group), ok}, // member of group lab
			{"carol", ref(e.personal), hidden},
			{"carol", ref(e.group), ok}, // its submitter
			{"admin", ref(e.personal), ok},
			{"admin", ref(e.group), ok},
			{"admin", "999999", notFound},
			{"anon", "999999", notFound},
			{"bob", "x", notFound},
			{"bob", "0", notFound},
			{"bob", ref(e.public) + ".1", notFound}, // not a multinode sub-job
		} {
			t.Run(tc.who+"/"+tc.job, func(t *testing.T) {
				j, err := e.svc.FindJob(ctx, e.users[tc.who], tc.job)
				check(t, err, tc.want)
				if tc.want == ok && itoa(j.ID) != tc.job {
					t.Errorf("found job %d, want %s", j.ID, tc.job)
				}
			})
		}
		for who, want := range map[string]int{"anon": 2, "bob": 4, "carol": 3, "admin": 4} {
			jobs, _, err := e.svc.ListJobs(ctx, e.users[who], store.JobFilter{})
			must(t, err)
			if len(jobs) != want {
				t.Errorf("%s lists %d jobs, want %d", who, len(jobs), want)
			}
			for _, j := range jobs {
				if !store.CanView(e.users[who].Viewer(), j) {
					t.Errorf("%s lists job %d it may not see", who, j.ID)
				}
			}
		}
		for who, want := range map[string]bool{"anon": false, "bob": true, "carol": false} {
			got, err := e.svc.CanSeeJob(ctx, e.users[who], e.personal)
			must(t, err)
			if got != want {
				t.Errorf("CanSeeJob(%s, personal) = %v, want %v", who, got, want)
			}
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestJobChanges: who may cancel and resubmit which job, and what a
// refused submission says.
func TestJobChanges(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for _, tc := range []struct {
			op, who string
			job     int64
			want    refusal
		}{
			{"cancel", "anon", e.public, anonymous},
			{"cancel", "carol", e.public, notOwner},
			{"cancel", "carol", e.personal, hidden},
			{"cancel", "bob", e.group, notOwner}, // sees it, did not submit it
			{"resubmit", "anon", e.public, anonymous},
			{"resubmit", "bob", e.public, notOwner},
			{"resubmit", "carol", e.personal, hidden},
			{"resubmit", "admin", e.healthCheck, healthCheck},
			{"resubmit", "bob", e.personal, ok},
			{"resubmit", "admin", e.group, ok},
			{"cancel", "bob", e.personal, ok},
			{"cancel", "bob", e.personal, finished}, // already canceling
			{"cancel", "admin", e.group, ok},
		} {
			t.Run(tc.op+"/"+tc.who+"/"+itoa(tc.job), func(t *testing.T) {
				var err error
				if tc.op == "cancel" {
					var j model.Job
					j, err = e.svc.Cancel(ctx, e.users[tc.who], itoa(tc.job))
					if err == nil && j.State != model.JobCanceling && j.State != model.JobFinished {
						t.Errorf("job %d is %v after cancel", j.ID, j.State)
					}
				} else {
					var res lab.Submitted
					res, err = e.svc.Resubmit(ctx, e.users[tc.who], itoa(tc.job))
					if err == nil && (len(res.Jobs) != 1 || res.Jobs[0].Submitter != tc.who) {
						t.Errorf("resubmitted %+v, want one job of %s", res.Jobs, tc.who)
					}
				}
				check(t, err, tc.want)
			})
		}
	})
}

// TestSubmit: the submission checks, in order, for each kind of refusal.
func TestSubmit(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for _, tc := range []struct {
			name, who, def string
			want           refusal
		}{
			{"anonymous", "anon", qemuJob, anonymous},
			{"empty", "bob", " \n", refusal{lab.KindInvalid, lab.ReasonJobEmpty}},
			{"schema", "bob", "job_name: x\n", refusal{lab.KindInvalid, lab.ReasonJobSchema}},
			{"no such type", "bob", strings.Replace(qemuJob, "device_type: qemu", "device_type: nosuch", 1), refusal{lab.KindInvalid, lab.ReasonJobLab}},
			{"foreign group", "carol", strings.Replace(qemuJob, "visibility: public", "visibility:\n  group: [lab]", 1), refusal{lab.KindInvalid, lab.ReasonJobGroup}},
			{"own group", "bob", strings.Replace(qemuJob, "visibility: public", "visibility:\n  group: [lab]", 1), ok},
			{"admin any group", "admin", strings.Replace(qemuJob, "visibility: public", "visibility:\n  group: [lab]", 1), ok},
			{"ok", "carol", qemuJob, ok},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res, err := e.svc.Submit(ctx, e.users[tc.who], []byte(tc.def))
				check(t, err, tc.want)
				if tc.want != ok {
					if e, _ := lab.AsError(err); tc.want.kind == lab.KindInvalid && len(e.AllIssues()) == 0 {
						t.Errorf("refused job without issues: %v", err)
					}
					return
				}
				if len(res.Jobs) != 1 || res.Jobs[0].Submitter != tc.who || res.Multinode {
					t.Errorf("submitted %+v", res)
				}
			})
		}
		v, err := e.svc.Validate(ctx, []byte(strings.Replace(qemuJob, "device_type: qemu", "device_type: nosuch", 1)))
		must(t, err)
		if len(v.Errors) != 1 || !strings.Contains(v.Errors[0].Message, "nosuch") {
			t.Errorf("Validate errors = %v, want the missing device type", v.Errors)
		}
	})
}

// TestAdminOnly: every operation that changes the lab's configuration or
// reads secrets is refused to anonymous callers (unauthenticated) and to
// users (not admin), and allowed to admins.
func TestAdminOnly(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		desc := "changed"
		ops := []struct {
			name string
			run  func(c lab.Caller) error
		}{
			{"CreateDevice", func(c lab.Caller) error {
				_, err := e.svc.CreateDevice(ctx, c, model.Device{Hostname: "new-" + c.Name(), DeviceType: "qemu", Worker: "w1", Health: model.DeviceUnknown})
				return err
			}},
			{"UpdateDevice", func(c lab.Caller) error {
				_, err := e.svc.UpdateDevice(ctx, c, "qemu-01", lab.DeviceChange{Description: &desc})
				return err
			}},
			{"SetDeviceHealth", func(c lab.Caller) error {
				_, err := e.svc.SetDeviceHealth(ctx, c, "qemu-01", model.DeviceMaintenance, "test")
				return err
			}},
			{"TagDevice", func(c lab.Caller) error { return e.svc.TagDevice(ctx, c, "qemu-01", "usb", false) }},
			{"SetDictionary", func(c lab.Caller) error {
				return e.svc.SetDictionary(ctx, c, "qemu-01", "{% extends 'qemu.jinja2' %}\n")
			}},
			{"DeviceDictionary", func(c lab.Caller) error {
				_, err := e.svc.DeviceDictionary(ctx, c, "qemu-01", true)
				return err
			}},
			{"CreateDeviceType", func(c lab.Caller) error {
				_, err := e.svc.CreateDeviceType(ctx, c, model.DeviceType{Name: "type-" + c.Name()})
				return err
			}},
			{"UpdateDeviceType", func(c lab.Caller) error {
				_, err := e.svc.UpdateDeviceType(ctx, c, "qemu", func(dt *model.DeviceType) { dt.Description = desc })
				return err
			}},
			{"SetHealthCheck", func(c lab.Caller) error { return e.svc.SetHealthCheck(ctx, c, "qemu", qemuJob) }},
			{"AddAlias", func(c lab.Caller) error { return e.svc.AddAlias(ctx, c, "alias-"+c.Name(), "qemu") }},
			{"DeleteAlias", func(c lab.Caller) error {
				err := e.svc.DeleteAlias(ctx, c, "alias-"+c.Name(), "")
				return err
			}},
			{"CreateWorker", func(c lab.Caller) error {
				_, secret, err := e.svc.CreateWorker(ctx, c, model.Worker{Hostname: "w-" + c.Name()})
				if err == nil && secret == "" {
					t.Error("CreateWorker answered no token")
				}
				return err
			}},
			{"UpdateWorker", func(c lab.Caller) error {
				_, err := e.svc.UpdateWorker(ctx, c, "w1", func(w *model.Worker) { w.Description = desc })
				return err
			}},
			{"RotateWorkerToken", func(c lab.Caller) error {
				_, _, err := e.svc.RotateWorkerToken(ctx, c, "w1")
				return err
			}},
			{"CreateTag", func(c lab.Caller) error { return e.svc.CreateTag(ctx, c, model.Tag{Name: "tag-" + c.Name()}) }},
			{"DeleteTag", func(c lab.Caller) error { return e.svc.DeleteTag(ctx, c, "tag-"+c.Name()) }},
			{"ListUsers", func(c lab.Caller) error {
				_, err := e.svc.ListUsers(ctx, c)
				return err
			}},
			{"CreateUser", func(c lab.Caller) error {
				_, _, err := e.svc.CreateUser(ctx, c, model.User{Username: "user-" + c.Name()})
				return err
			}},
			{"ListGroups", func(c lab.Caller) error {
				_, err := e.svc.ListGroups(ctx, c)
				return err
			}},
			{"CreateGroup", func(c lab.Caller) error { return e.svc.CreateGroup(ctx, c, "group-"+c.Name()) }},
			{"AddGroupMember", func(c lab.Caller) error { return e.svc.AddGroupMember(ctx, c, "lab", "carol") }},
		}
		// In order: each admin call may need what the one before made
		// (the alias, the tag).
		for _, op := range ops {
			for _, who := range []struct {
				name string
				want refusal
			}{{"anon", anonymous}, {"bob", notAdmin}, {"admin", ok}} {
				t.Run(op.name+"/"+who.name, func(t *testing.T) {
					check(t, op.run(e.users[who.name]), who.want)
				})
			}
		}
	})
}

// TestUserOperations: tokens need a user; a token logs in, and a session
// names its user until logout.
func TestUserOperations(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		_, err := e.svc.Tokens(ctx, e.users["anon"])
		check(t, err, anonymous)
		_, _, err = e.svc.CreateToken(ctx, e.users["anon"], "x")
		check(t, err, anonymous)
		tok, secret, err := e.svc.CreateToken(ctx, e.users["carol"], "laptop")
		must(t, err)
		u, err := e.svc.Authenticate(ctx, secret)
		must(t, err)
		if u.Username != "carol" {
			t.Errorf("token of %s, want carol", u.Username)
		}
		check(t, e.svc.DeleteToken(ctx, e.users["bob"], tok.ID), notFound) // not bob's
		must(t, e.svc.DeleteToken(ctx, e.users["carol"], tok.ID))
		_, err = e.svc.Authenticate(ctx, secret)
		check(t, err, refusal{lab.KindUnauthenticated, lab.ReasonBadToken})

		sess := auth.Hash("session-secret")
		_, err = e.svc.Login(ctx, "nosuch", sess, time.Now().Add(time.Hour))
		check(t, err, anonymous)
		u, err = e.svc.Login(ctx, e.secret, sess, time.Now().Add(time.Hour))
		must(t, err)
		if su, err := e.svc.SessionUser(ctx, sess); err != nil || su.Username != u.Username {
			t.Fatalf("SessionUser = %v, %v; want %s", su.Username, err, u.Username)
		}
		must(t, e.svc.Logout(ctx, sess))
		_, err = e.svc.SessionUser(ctx, sess)
		check(t, err, anonymous)
	})
}

// TestReferences: a change naming a device type or worker that does not
// exist is refused before the store is touched, naming it.
func TestReferences(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		admin := e.users["admin"]
		nosuch := "nosuch"
		_, err := e.svc.CreateDevice(ctx, admin, model.Device{Hostname: "x", DeviceType: "nosuch", Worker: "w1"})
		check(t, err, refusal{lab.KindNotFound, lab.ReasonNoObject})
		_, err = e.svc.UpdateDevice(ctx, admin, "qemu-01", lab.DeviceChange{Worker: &nosuch})
		check(t, err, refusal{lab.KindNotFound, lab.ReasonNoObject})
		_, err = e.svc.UpdateDevice(ctx, admin, "nosuch", lab.DeviceChange{})
		check(t, err, notFound)
		bad := "{% if x %}"
		_, err = e.svc.UpdateDevice(ctx, admin, "qemu-01", lab.DeviceChange{Dictionary: &bad})
		check(t, err, refusal{lab.KindInvalid, lab.ReasonDictionary})
		_, err = e.svc.UpdateDeviceType(ctx, admin, "qemu", func(dt *model.DeviceType) { dt.HealthFrequency = -1 })
		check(t, err, refusal{lab.KindInvalid, lab.ReasonNone})
		_, err = e.svc.CreateDeviceType(ctx, admin, model.DeviceType{Name: "qemu"})
		check(t, err, refusal{lab.KindExists, lab.ReasonNone})
	})
}
