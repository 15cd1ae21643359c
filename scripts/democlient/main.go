// Command democlient is the REST client `make demo` uses (so the demo needs
// nothing but Go): wait for the server, submit a job, follow its live log
// and print its results table.
//
//	democlient wait URL
//	democlient submit URL TOKEN JOB.yaml      (prints the job id)
//	democlient follow URL TOKEN ID            (exit 0 when the job is Complete)
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"text/tabwriter"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "democlient:", err)
		os.Exit(1)
	}
}

func call(method, url, token string, body []byte, out any) error {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Token "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/yaml")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func run(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: democlient wait, submit or follow URL [ARGS]")
	}
	url := args[1]
	switch {
	case args[0] == "wait":
		for range 200 {
			if call("GET", url+"/healthz", "", nil, nil) == nil {
				return nil
			}
			time.Sleep(100 * time.Millisecond)
		}
		return fmt.Errorf("%s does not answer", url)
	case args[0] == "submit" && len(args) == 4:
		def, err := os.ReadFile(args[3])
		if err != nil {
			return err
		}
		var res struct {
			ID  int64   `json:"id"`
			IDs []int64 `json:"ids"`
		}
		if err := call("POST", url+"/api/v1/jobs", args[2], def, &res); err != nil {
			return err
		}
		if res.ID == 0 && len(res.IDs) > 0 {
			res.ID = res.IDs[0]
		}
		fmt.Println(res.ID)
		return nil
	case args[0] == "follow" && len(args) == 4:
		return follow(url, args[2], args[3])
	}
	return fmt.Errorf("unknown command %q", args[0])
}

func follow(url, token, id string) error {
	next := int64(0)
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		var page struct {
			Next     int64 `json:"next"`
			Finished bool  `json:"finished"`
			Records  []struct {
				Time  string          `json:"dt"`
				Level string          `json:"lvl"`
				Msg   json.RawMessage `json:"msg"`
			} `json:"records"`
		}
		if err := call("GET", fmt.Sprintf("%s/api/v1/jobs/%s/logs?start=%d&limit=1000", url, id, next), token, nil, &page); err != nil {
			return err
		}
		for _, r := range page.Records {
			var s string
			if json.Unmarshal(r.Msg, &s) != nil {
				s = string(r.Msg)
			}
			fmt.Printf("%s %-8s %s\n", r.Time, r.Level, s)
		}
		next = page.Next
		if page.Finished && len(page.Records) == 0 {
			break
		}
		if len(page.Records) == 0 {
			time.Sleep(200 * time.Millisecond)
		}
	}
	var job struct {
		State, Health  string
		ErrorType      string `json:"error_type"`
		FailureComment string `json:"failure_comment"`
	}
	if err := call("GET", url+"/api/v1/jobs/"+id, token, nil, &job); err != nil {
		return err
	}
	var res struct {
		Cases []struct {
			Suite, Name, Result, Units string
			Measurement                *float64
		} `json:"cases"`
	}
	if err := call("GET", url+"/api/v1/jobs/"+id+"/results", token, nil, &res); err != nil {
		return err
	}
	fmt.Printf("\n==> job %s: %s, %s\n", id, job.State, job.Health)
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SUITE\tTEST CASE\tRESULT\tMEASUREMENT")
	for _, c := range res.Cases {
		m := ""
		if c.Measurement != nil {
			m = strconv.FormatFloat(*c.Measurement, 'f', -1, 64) + " " + c.Units
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Suite, c.Name, c.Result, m)
	}
	tw.Flush()
	if job.Health != "Complete" {
		return fmt.Errorf("job %s ended %s (%s: %s)", id, job.Health, job.ErrorType, job.FailureComment)
	}
	return nil
}
