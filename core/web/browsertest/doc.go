// Package browsertest drives the web pages in a real headless Chromium
// (Chrome DevTools protocol, chromedp) against a real lab: lava-server and
// lava-worker processes built from this checkout (core/testlab), a `local`
// device, a job that really runs. It logs in with a token, opens the jobs
// list, follows the running job's live log, sees the results table when it
// ends, and the submit page's validation errors; it saves a screenshot of
// each page and logs how late the live log showed records. It has tests
// only; it drives the binaries and imports nothing of the server but
// core/testlab and core/testenv.
package browsertest
