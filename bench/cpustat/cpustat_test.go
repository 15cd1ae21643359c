package cpustat

import (
	"os"
	"testing"
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
