package job

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/testenv"
)

// corpusFiles returns the corpus job files, or nil when the corpus is absent.
func corpusFiles(tb testing.TB) []string {
	dir := filepath.Join(testenv.RepoRoot(tb), "..", "shared", "corpus", "jobs")
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.yaml"))
	return files
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(head + okActions))
	f.Add([]byte(multinodeJob))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("x: &x {<<: *x}\n"))
	f.Add([]byte("timeouts: {job: {days: 99999999999999}}\n"))
	f.Add([]byte("actions: [{deploy: {to: tftp, kernel: {url: 1, compression: [x]}}}, 3, {}]\n"))
	f.Add([]byte("protocols: {lava-multinode: {roles: {a: {count: -1}, b: 3}}}\nactions: [{test: {role: [a, [b]]}}]\n"))
	for _, p := range corpusFiles(f) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		d, rep := Parse(text)
		if rep == nil {
			t.Fatal("nil report")
		}
		for _, is := range rep.Errors {
			_ = is.String()
		}
		if d != nil {
			if string(d.Text) != string(text) {
				t.Fatal("text not kept verbatim")
			}
			for _, s := range d.Split() {
				Parse(s.Text)
			}
		} else if rep.OK() {
			t.Fatal("nil definition without an error")
		}
	})
}

func TestYAMLBombs(t *testing.T) {
	// The classic "billion laughs": nine levels of nine aliases.
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i <= 9; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 9; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	deep := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
	cases := map[string]string{
		"billion laughs": b.String(),
		"deep nesting":   "a: " + deep + "\n",
		"huge":           "job_name: " + strings.Repeat("x", MaxSize) + "\n",
		"self merge":     "x: &x {<<: *x}\n",
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			_, rep := Parse([]byte(text))
			if rep.OK() {
				t.Fatal("accepted")
			}
			t.Log(rep.Errors[0])
		})
	}
}

// BenchmarkParse parses a 1 KB qemu job (the corpus' doc-examples/qemu-aarch64.yaml when present).
func BenchmarkParse(b *testing.B) {
	text := []byte(benchJob)
	if p := filepath.Join(testenv.RepoRoot(b), "..", "shared", "corpus", "jobs", "doc-examples", "qemu-aarch64.yaml"); true {
		if t, err := os.ReadFile(p); err == nil {
			text = t
		}
	}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, rep := Parse(text); !rep.OK() {
			b.Fatal(rep.Err())
		}
	}
}

const benchJob = `device_type: qemu
job_name: qemu amd64 smoke
timeouts:
  job: {minutes: 15}
  action: {minutes: 5}
  connection: {minutes: 2}
priority: medium
visibility: public
context:
  arch: amd64
metadata:
  source: https://example.com/jobs.git
  path: qemu-smoke.yaml
actions:
- deploy:
    timeout: {minutes: 5}
    to: tmpfs
    images:
      rootfs:
        image_arg: -drive format=raw,file={rootfs}
        url: https://example.com/debian/stretch/amd64/stretch.img.gz
        sha256sum: b5cdb3b9e65fec2d3654a05dcdf507281f408b624535b33375170d1e852b982c
        compression: gz
- boot:
    timeout: {minutes: 2}
    method: qemu
    media: tmpfs
    prompts: ['root@debian:~#']
    auto_login: {login_prompt: 'login:', username: root}
- test:
    timeout: {minutes: 5}
    definitions:
    - repository: https://git.linaro.org/lava-team/lava-functional-tests.git
      from: git
      path: lava-test-shell/smoke-tests-basic.yaml
      name: smoke-tests
    - repository: https://git.linaro.org/lava-team/lava-functional-tests.git
      from: git
      path: lava-test-shell/single-node/singlenode03.yaml
      name: singlenode-advanced
`
