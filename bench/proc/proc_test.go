package proc

import (
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStartStop(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep command")
	}
	p, err := Start(sleep, []string{"60"}, nil, filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(10 * time.Second); err == nil || !strings.Contains(err.Error(), "terminated") {
		t.Errorf("Stop = %v, want the SIGTERM exit", err)
	}
	if err := p.Stop(time.Second); err == nil {
		t.Error("second Stop forgot the exit")
	}
}

func TestWaitHTTPExitedEarly(t *testing.T) {
	f, err := exec.LookPath("false")
	if err != nil {
		t.Skip("no false command")
	}
	p, err := Start(f, nil, nil, filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WaitHTTP("http://"+addr+"/healthz", time.Minute); err == nil || !strings.Contains(err.Error(), "exited early") {
		t.Errorf("WaitHTTP = %v, want an early exit", err)
	}
}

func TestWaitHTTPUp(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep command")
	}
	hs := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer hs.Close()
	p, err := Start(sleep, []string{"60"}, nil, filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(time.Second)
	if err := p.WaitHTTP(hs.URL, time.Minute); err != nil {
		t.Error(err)
	}
}
