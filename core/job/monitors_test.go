package job

import "testing"

// Issue 18: the checks of a monitors test action (LAVA's test/monitor.py
// schema, plus patterns that must compile as Go regular expressions).
func TestMonitorsRules(t *testing.T) {
	const boot = "actions:\n- boot: {method: qemu, media: tmpfs}\n- test:\n    monitors:\n"
	// The first monitor's keys start at line 10, column 7.
	const good = "    - name: kernel-tests\n      start: tc_start\\(\\)\n      end: PROJECT EXECUTION\n      pattern: (?P<result>(PASS|FAIL))\\s-\\s(?P<test_case_id>\\w+)\n      fixupdict: {PASS: pass, FAIL: fail}\n"
	cases := []struct {
		name string
		text string
		errs []want
	}{
		{name: "valid", text: head + boot + good},
		{name: "two monitors", text: head + boot + good + "    - {name: second, start: a, end: b, pattern: 'x(?P<result>y)'}\n"},
		{name: "empty list", text: head + "actions:\n- boot: {method: qemu, media: tmpfs}\n- test:\n    monitors: []\n",
			errs: []want{{"actions[1].test.monitors", 9, 15, "at least one monitor"}}},
		{name: "missing pattern", text: head + boot + "    - {name: m, start: a, end: b}\n",
			errs: []want{{"actions[1].test.monitors[0].pattern", 10, 7, "required key not provided"}}},
		{name: "bad name", text: head + boot + "    - {name: 'a b', start: a, end: b, pattern: c}\n",
			errs: []want{{"actions[1].test.monitors[0].name", 10, 14, "^[-_a-zA-Z0-9.]+$"}}},
		{name: "pattern not RE2", text: head + boot + "    - {name: m, start: a, end: b, pattern: 'x(?=y)'}\n",
			errs: []want{{"actions[1].test.monitors[0].pattern", 10, 44, "not a regular expression"}}},
		{name: "bad fixup value", text: head + boot + "    - {name: m, start: a, end: b, pattern: c, fixupdict: {OK: good}}\n",
			errs: []want{{"actions[1].test.monitors[0].fixupdict.OK", 10, 63, "not a valid value"}}},
		{name: "extra key", text: head + boot + "    - {name: m, start: a, end: b, pattern: c, timeout: 3}\n",
			errs: []want{{"actions[1].test.monitors[0].timeout", 10, 47, "extra keys"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, rep := Parse([]byte(tc.text))
			if d == nil {
				t.Fatalf("nil definition: %v", rep.Err())
			}
			check(t, "error", rep.Errors, tc.errs)
		})
	}
}
