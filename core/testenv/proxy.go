package testenv

import (
	"io"
	"net"
	"sync"
	"testing"
)

// DropProxy forwards TCP from a local port to a target; while down it cuts
// every connection and refuses new ones: a network cut between a worker and
// its server, for the tests that need one.
type DropProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]bool
}

// NewDropProxy starts a proxy to target ("host:port"); it stops at the
// test's cleanup.
func NewDropProxy(t testing.TB, target string) *DropProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &DropProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); p.SetDown(true) })
	go p.serve()
	return p
}

// URL is the proxy's http:// URL.
func (p *DropProxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *DropProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[s] = true, true
		p.mu.Unlock()
		go func() { _, _ = io.Copy(s, c); s.Close() }()
		go func() { _, _ = io.Copy(c, s); c.Close() }()
	}
}

// SetDown cuts the network (every open connection closed, new ones
// refused) or brings it back.
func (p *DropProxy) SetDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}
