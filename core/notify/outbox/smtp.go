package outbox

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/smtp"
	"strconv"
	"strings"
	"time"
)

// SMTP is the relay emails are sent through.
type SMTP struct {
	Host string
	Port int
	// StartTLS requires STARTTLS before anything is sent (TLSConfig nil:
	// verify the relay's certificate for Host).
	StartTLS  bool
	TLSConfig *tls.Config
	// User and Password authenticate with AUTH PLAIN (User "" = none);
	// net/smtp refuses PLAIN over an unencrypted link but to localhost.
	User, Password string
	// From is the sender address.
	From string
	// HelloName is the name sent in EHLO ("" = localhost).
	HelloName string
}

// Send sends one plain-text email to one address. The whole exchange is
// bounded by ctx.
func (c SMTP) Send(ctx context.Context, to, subject, body string) error {
	if c.Host == "" {
		return errors.New("no SMTP relay configured (lava-server --smtp-host)")
	}
	if strings.ContainsAny(to, "\r\n") || !strings.Contains(to, "@") {
		return fmt.Errorf("invalid email address %q", to)
	}
	from := c.From
	if from == "" {
		from = "lava-server@localhost"
	}
	addr := net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	cl, err := smtp.NewClient(conn, c.Host)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", addr, err)
	}
	defer cl.Close()
	if c.HelloName != "" {
		if err := cl.Hello(c.HelloName); err != nil {
			return fmt.Errorf("smtp EHLO: %w", err)
		}
	}
	if c.StartTLS {
		cfg := c.TLSConfig
		if cfg == nil {
			cfg = &tls.Config{ServerName: c.Host, MinVersion: tls.VersionTLS12}
		}
		if err := cl.StartTLS(cfg); err != nil {
			return fmt.Errorf("smtp STARTTLS: %w", err)
		}
	}
	if c.User != "" {
		if err := cl.Auth(smtp.PlainAuth("", c.User, c.Password, c.Host)); err != nil {
			return fmt.Errorf("smtp AUTH: %w", err)
		}
	}
	if err := cl.Mail(from); err != nil {
		return fmt.Errorf("smtp MAIL FROM: %w", err)
	}
	if err := cl.Rcpt(to); err != nil {
		return fmt.Errorf("smtp RCPT TO %s: %w", to, err)
	}
	w, err := cl.Data()
	if err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if _, err := w.Write(message(from, to, subject, body)); err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if err := cl.Quit(); err != nil {
		return fmt.Errorf("smtp QUIT: %w", err)
	}
	return nil
}

// message is the RFC 5322 text of a plain-text UTF-8 email, CRLF lines.
func message(from, to, subject, body string) []byte {
	subject = strings.Join(strings.Fields(subject), " ") // no header injection
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\n", from, to,
		mime.QEncoding.Encode("utf-8", subject), time.Now().UTC().Format(time.RFC1123Z))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n"))
	return b.Bytes()
}
