// Package browsertest drives the web pages in a real headless Chromium
// (Chrome DevTools protocol, chromedp): login, the jobs list, a running
// job's live log, its results when it ends, and the submit page's
// validation errors. It has tests only; it imports core/web, core/api and
// the SQLite store, nothing of cmd/.
package browsertest
