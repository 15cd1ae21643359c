package results

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func sampleRows(t *testing.T) []Row {
	t.Helper()
	recs := []map[string]any{
		{"definition": "0_smoke-tests", "case": "linux-pwd", "result": "pass", "level": "3.1", "starttc": 20, "endtc": 22},
		{"definition": "0_smoke-tests", "case": "test5", "result": "pass", "measurement": 99.0, "units": "bottles", "set": "bottles"},
		{"definition": "0_smoke-tests", "case": "test6", "result": "fail", "measurement": "0", "units": "mugs"},
		{"definition": "0_smoke-tests", "case": "skipped, \"quoted\"", "result": "skip"},
		{"definition": "1_ref", "case": "ref", "result": "unknown", "reference": "https://example.org/r#1"},
		{"definition": "lava", "case": "0_smoke-tests", "result": "pass", "duration": "2.50", "uuid": "42_3.1", "repository": "inline", "path": "inline/smoke.yaml"},
	}
	logged := time.Date(2023, 1, 2, 3, 4, 5, 678000000, time.UTC)
	rows := make([]Row, len(recs))
	for i, rec := range recs {
		c, err := FromRecord(rec, int64(100+i))
		if err != nil {
			t.Fatal(err)
		}
		rows[i] = Row{Case: c, ID: int64(i + 1), Job: "42", Logged: logged}
	}
	return rows
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestExportGolden(t *testing.T) {
	rows := sampleRows(t)
	for _, tc := range []struct {
		file  string
		write func(*bytes.Buffer, []Row) error
	}{
		{"export.yaml", func(b *bytes.Buffer, r []Row) error { return WriteYAML(b, r) }},
		{"export.csv", func(b *bytes.Buffer, r []Row) error { return WriteCSV(b, r) }},
		{"export.junit.xml", func(b *bytes.Buffer, r []Row) error { return WriteJUnit(b, r) }},
		{"export.tap13", func(b *bytes.Buffer, r []Row) error { return WriteTAP13(b, r) }},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.write(&b, rows); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.file, b.Bytes())
		})
	}
}

func TestExportYAMLShape(t *testing.T) {
	var b bytes.Buffer
	if err := WriteYAML(&b, sampleRows(t)); err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	if err := yaml.Unmarshal(b.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 6 {
		t.Fatalf("%d entries", len(list))
	}
	for _, k := range []string{"name", "job", "suite", "result", "measurement", "unit", "level", "url", "id", "logged", "log_start_line", "log_end_line", "metadata"} {
		if _, ok := list[0][k]; !ok {
			t.Errorf("missing key %s", k)
		}
		if k != "metadata" {
			if _, ok := list[0][k].(string); !ok {
				t.Errorf("%s is %T, not a string", k, list[0][k])
			}
		}
	}
	if list[0]["measurement"] != "None" || list[1]["measurement"] != "99.0000000000" {
		t.Errorf("measurements %v %v", list[0]["measurement"], list[1]["measurement"])
	}
	if list[5]["unit"] != "seconds" || list[0]["url"] != "/results/testcase/1" {
		t.Errorf("unit %v url %v", list[5]["unit"], list[0]["url"])
	}
	var empty bytes.Buffer
	if err := WriteYAML(&empty, nil); err != nil || empty.String() != "[]\n" {
		t.Errorf("empty = %q, %v", empty.String(), err)
	}
}
