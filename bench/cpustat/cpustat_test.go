package cpustat

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// Spinning raises this process's CPU time as both Self and Process see it.
func TestSelfAndProcessGrow(t *testing.T) {
	s0 := Self()
	p0, err := Process(os.Getpid())
	if err != nil {
		t.Skip("no /proc:", err)
	}
	x := 0
	for Self()-s0 < 50e6 { // 50 ms of CPU
		x++
	}
	p1, err := Process(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if p1 <= p0 {
		t.Errorf("Process did not grow: %v then %v (spun %d times)", p0, p1, x)
	}
	if tr, err := Tree(os.Getpid()); err != nil || tr < p1 {
		t.Errorf("Tree = %v, %v; want at least %v", tr, err, p1)
	}
}

func TestPostmasterPID(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/postmaster.pid", []byte("4242\n/data\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if pid, err := PostmasterPID(dir); err != nil || pid != 4242 {
		t.Errorf("PostmasterPID = %d, %v", pid, err)
	}
	if _, err := PostmasterPID(t.TempDir()); err == nil {
		t.Error("no error without postmaster.pid")
	}
}

// Tree counts the CPU time of children that exited and were waited for.
func TestTreeCountsReapedChildren(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	t0, err := Tree(os.Getpid())
	if err != nil {
		t.Skip("no /proc:", err)
	}
	cmd := exec.Command(sh, "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	child := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	t1, err := Tree(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// /proc counts in ticks of 10 ms.
	if t1-t0 < child-20*time.Millisecond {
		t.Errorf("Tree grew by %v while a child that used %v exited", t1-t0, child)
	}
}
