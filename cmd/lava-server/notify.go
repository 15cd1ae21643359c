package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/lavalab/lavalab/core/metrics"
	"github.com/lavalab/lavalab/core/notify/outbox"
	"github.com/lavalab/lavalab/core/store"
)

// notifyFlags configure the sending of job notifications.
type notifyFlags struct {
	smtp         outbox.SMTP
	passwordFile *string
	publicURL    *string
	opts         outbox.Options
}

func addNotifyFlags(fs *flag.FlagSet) *notifyFlags {
	f := &notifyFlags{}
	fs.StringVar(&f.smtp.Host, "smtp-host", "", "SMTP relay for email notifications (none: emails fail with a clear error)")
	fs.IntVar(&f.smtp.Port, "smtp-port", 25, "SMTP relay port")
	fs.BoolVar(&f.smtp.StartTLS, "smtp-starttls", false, "require STARTTLS with the SMTP relay (its certificate verified)")
	fs.StringVar(&f.smtp.User, "smtp-user", "", "SMTP user (AUTH PLAIN; needs STARTTLS unless the relay is on localhost)")
	f.passwordFile = fs.String("smtp-password-file", "", "file holding the SMTP password")
	fs.StringVar(&f.smtp.From, "smtp-from", "lava-server@localhost", "sender address of notification emails")
	f.publicURL = fs.String("public-url", "", "the server's URL as users reach it, for the job links in emails (default: http:// and the listen address)")
	fs.IntVar(&f.opts.MaxAttempts, "notify-attempts", outbox.DefaultMaxAttempts, "attempts per notification before it is marked failed")
	fs.DurationVar(&f.opts.Backoff, "notify-backoff", outbox.DefaultBackoff, "wait after a notification's first failed attempt, doubled after each next one")
	fs.DurationVar(&f.opts.MaxBackoff, "notify-max-backoff", outbox.DefaultMaxBackoff, "longest wait between two attempts")
	fs.DurationVar(&f.opts.Timeout, "notify-timeout", outbox.DefaultTimeout, "time limit of one attempt (callback request or SMTP exchange)")
	fs.IntVar(&f.opts.Concurrency, "notify-concurrency", outbox.DefaultConcurrency, "notifications sent at once")
	return f
}

func (f *notifyFlags) sender(st store.Store, log *slog.Logger, mets *metrics.Metrics, defaultURL string) (*outbox.Sender, error) {
	o := f.opts
	o.Store, o.Logger, o.Registerer = st, log, mets.Registry()
	o.SMTP = f.smtp
	if *f.passwordFile != "" {
		b, err := os.ReadFile(*f.passwordFile)
		if err != nil {
			return nil, usagef("--smtp-password-file: %v", err)
		}
		o.SMTP.Password = strings.TrimRight(string(b), "\r\n")
	}
	o.BaseURL = *f.publicURL
	if o.BaseURL == "" {
		o.BaseURL = defaultURL
	}
	s, err := outbox.New(o)
	if err != nil {
		return nil, fmt.Errorf("notifications: %w", err)
	}
	return s, nil
}
