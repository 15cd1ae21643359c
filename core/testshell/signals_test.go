package testshell

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func feedAll(t testing.TB, p *Parser, text string) []Record {
	t.Helper()
	var out []Record
	for i, l := range strings.Split(text, "\n") {
		out = append(out, p.Feed(l, int64(i+1), time.Unix(int64(i+1), 0))...)
	}
	return out
}

func TestParser(t *testing.T) {
	runs := []Run{{ID: "0_t", UUID: "1_1.1", Repository: "http://git/x", Path: "a.yaml", CommitID: "abc",
		Pattern: `^(?P<test_case_id>\S+) (?P<result>\S+)(?: (?P<measurement>\S+) (?P<units>\S+))?$`,
		Fixup:   map[string]string{"OK": "pass", "BAD": "fail", "WEIRD": "broken"}}}
	tests := []struct {
		name  string
		input string
		want  []string // kind:summary
	}{
		{"testcase", "<LAVA_SIGNAL_STARTRUN 0_t 1_1.1>\n<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=a RESULT=pass>\n<LAVA_SIGNAL_ENDRUN 0_t 1_1.1>",
			[]string{"results:0_t/a=pass", "results:lava/0_t=pass duration=2.00"}},
		{"measurement", "<LAVA_SIGNAL_STARTRUN 0_t 1_1.1>\n<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=m RESULT=pass UNITS=s MEASUREMENT=1.5>",
			[]string{"results:0_t/m=pass m=1.5 s"}},
		{"bad measurement", "<LAVA_SIGNAL_STARTRUN 0_t 1_1.1>\n<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=m RESULT=pass MEASUREMENT=12kg>",
			[]string{`error:Invalid measurement 12kg for m: not a decimal number: "12kg"`}},
		{"bad result", "<LAVA_SIGNAL_STARTRUN 0_t 1_1.1>\n<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=a RESULT=PASS>",
			[]string{"error:Bad test result: PASS"}},
		{"kmsg and prefix", "[   1.0] <0><LAVA_SIGNAL_STARTRUN 0_t 1_1.1>\nfoo <LAVA_SIGNAL_TESTCASE TEST_CASE_ID=a RESULT=skip> bar",
			[]string{"results:0_t/a=skip"}},
		{"set", "<LAVA_SIGNAL_STARTRUN 0_t 1_1.1>\n<LAVA_SIGNAL_TESTSET START s1>\n<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=a RESULT=pass>\n<LAVA_SIGNAL_TESTSET STOP>\n<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=b RESULT=pass>",
			[]string{"results:0_t/a=pass set=s1", "results:0_t/b=pass"}},
		{"starttc", "<LAVA_SIGNAL_STARTRUN 0_t 1_1.1>\n<LAVA_SIGNAL_STARTTC a>\nout\n<LAVA_SIGNAL_ENDTC a>\n<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=a RESULT=pass>",
			[]string{"results:0_t/a=pass tc=2-4"}},
		{"reference", "<LAVA_SIGNAL_STARTRUN 0_t 1_1.1>\n<LAVA_SIGNAL_TESTREFERENCE r pass http://x>\n<LAVA_SIGNAL_TESTREFERENCE r pass>",
			[]string{"results:0_t/r=pass ref=http://x", "warning:TESTREFERENCE needs exactly 3 parameters (case result url), got \"r pass\""}},
		{"raise", "<LAVA_SIGNAL_TESTRAISE disk on fire>", []string{"error:disk on fire"}},
		{"event feedback", "<LAVA_SIGNAL_TESTEVENT hello world>\n<LAVA_SIGNAL_TESTFEEDBACK ns1>",
			[]string{"event:hello world", "feedback:ns1"}},
		{"pattern and fixup", "<LAVA_SIGNAL_STARTRUN 0_t 1_1.1>\nx OK\ny BAD 3 ms\nz WEIRD\n<LAVA_SIGNAL_ENDRUN 0_t 1_1.1>\nw OK",
			[]string{"results:0_t/x=pass", "results:0_t/y=fail m=3 ms", "error:Bad test result: broken", "results:lava/0_t=pass duration=4.00"}},
		{"malformed", "<LAVA_SIGNAL_TESTCASE RESULT=pass>\n<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=a RESULT=pass>\n<LAVA_SIGNAL_FOO bar>\n<LAVA_SIGNAL_ENDRUN x y>\n<LAVA_SIGNAL_STARTRUN x>\n<LAVA_SIGNAL_TESTSET STOP>\n<LAVA_SIGNAL_TESTCASE junk>",
			[]string{"warning:TESTCASE without TEST_CASE_ID or RESULT: \"RESULT=pass\"", "warning:TESTCASE a outside a test run",
				"warning:unknown signal LAVA_SIGNAL_FOO", "warning:ENDRUN x without its STARTRUN", "warning:malformed STARTRUN signal: \"x\"",
				"warning:TESTSET STOP without START", "warning:malformed TESTCASE signal: \"junk\""}},
		{"runner exit mid-run", "<LAVA_SIGNAL_STARTRUN 0_t 1_1.1>\n<LAVA_TEST_RUNNER INSTALL_FAIL>\n<LAVA_TEST_RUNNER EXIT>",
			[]string{"error:lava-test-runner: an install.sh failed", "warning:test run 0_t ended without ENDRUN", "results:lava/0_t=fail duration=2.00", "info:lava-test-runner exited"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewParser(ParserOptions{Runs: runs})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range feedAll(t, p, tc.input) {
				got = append(got, summary(r))
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func summary(r Record) string {
	if r.Kind != KindResult {
		return r.Kind.LogLevel() + ":" + r.Text
	}
	m := r.Msg
	s := fmt.Sprintf("results:%v/%v=%v", m["definition"], m["case"], m["result"])
	if v, ok := m["measurement"]; ok {
		s += fmt.Sprintf(" m=%v %v", v, m["units"])
	}
	if v, ok := m["set"]; ok {
		s += fmt.Sprintf(" set=%v", v)
	}
	if v, ok := m["starttc"]; ok {
		s += fmt.Sprintf(" tc=%v-%v", v, m["endtc"])
	}
	if v, ok := m["reference"]; ok {
		s += fmt.Sprintf(" ref=%v", v)
	}
	if v, ok := m["duration"]; ok {
		s += fmt.Sprintf(" duration=%v", v)
		if m["commit_id"] != "abc" || m["repository"] != "http://git/x" || m["uuid"] != "1_1.1" {
			s += fmt.Sprintf(" BAD %v", m)
		}
	}
	return s
}

func TestParserBadPattern(t *testing.T) {
	_, err := NewParser(ParserOptions{Runs: []Run{{ID: "0_x", Pattern: `(?<=a)b`}}})
	if err == nil || !strings.Contains(err.Error(), "test 0_x: parse pattern") {
		t.Errorf("err = %v", err)
	}
}

func FuzzParser(f *testing.F) {
	for _, s := range []string{
		"<LAVA_SIGNAL_STARTRUN 0_t 1_1.1>",
		"<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=a RESULT=pass UNITS=s MEASUREMENT=1e400>",
		"<LAVA_SIGNAL_TESTSET START a><LAVA_SIGNAL_TESTSET STOP>",
		"<LAVA_SIGNAL_TESTREFERENCE a b c>",
		"<LAVA_SIGNAL_ENDRUN 0_t 1_1.1>",
		"<LAVA_TEST_RUNNER EXIT>",
		"x PASS 1 s",
		"<LAVA_SIGNAL_ =>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := NewParser(ParserOptions{Runs: []Run{{ID: "0_t", Pattern: `^(?P<test_case_id>\S+) (?P<result>\S+)(?: (?P<measurement>\S+) (?P<units>\S+))?$`}}})
		if err != nil {
			t.Fatal(err)
		}
		p.Feed("<LAVA_SIGNAL_STARTRUN 0_t 1_1.1>", 1, time.Unix(1, 0))
		for i, l := range strings.Split(s, "\n") {
			for _, r := range p.Feed(l, int64(i+2), time.Unix(2, 0)) {
				if r.Kind == KindResult {
					for _, k := range []string{"definition", "case", "result"} {
						if _, ok := r.Msg[k]; !ok {
							t.Fatalf("record without %s: %v", k, r.Msg)
						}
					}
				}
			}
		}
		p.Close(0, time.Unix(3, 0))
	})
}

func BenchmarkParser(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("<LAVA_SIGNAL_STARTRUN 0_t 1_1.1>\n")
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&sb, "[  %d.123] some ordinary console output line number %d with text\n", i, i)
		if i%10 == 0 {
			fmt.Fprintf(&sb, "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=case-%d RESULT=pass UNITS=ms MEASUREMENT=%d.5>\n", i, i)
		}
		if i%50 == 0 {
			sb.WriteString("result-x: PASS\n")
		}
	}
	sb.WriteString("<LAVA_SIGNAL_ENDRUN 0_t 1_1.1>\n")
	lines := strings.Split(sb.String(), "\n")
	now := time.Unix(0, 0)
	b.SetBytes(int64(sb.Len()))
	b.ResetTimer()
	for b.Loop() {
		p, _ := NewParser(ParserOptions{Runs: []Run{{ID: "0_t", Pattern: `^result-(?P<test_case_id>\w+): (?P<result>\w+)$`, Fixup: map[string]string{"PASS": "pass"}}}})
		for i, l := range lines {
			p.Feed(l, int64(i), now)
		}
	}
}
