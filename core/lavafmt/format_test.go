package lavafmt

import (
	"bytes"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
)

func TestOutputYAMLEscapes(t *testing.T) {
	at := time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC)
	var b bytes.Buffer
	err := WriteOutputYAML(&b, []model.LogRecord{
		{Time: at, Level: "target", Message: "a\"b\\c\r\n\x00\x7f\u0085\u2028é\xff"},
		{Time: at, Level: "feedback", NS: "dut", Message: "fb"},
		{Time: at, Level: "results", Structured: true, Message: `{"b": [1, 2.5, true, null], "a": "x"}`},
		{Time: at, Level: "results", Structured: true, Message: `not json`},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `- {"dt": "2023-01-02T03:04:05.000000", "lvl": "target", "msg": "a\"b\\c\r\n\x00\x7f\x85\u2028é\xff"}
- {"dt": "2023-01-02T03:04:05.000000", "lvl": "feedback", "msg": "fb", "ns": "dut"}
- {"dt": "2023-01-02T03:04:05.000000", "lvl": "results", "msg": {"a": "x", "b": [1, 2.5, true, null]}}
- {"dt": "2023-01-02T03:04:05.000000", "lvl": "results", "msg": "not json"}
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
