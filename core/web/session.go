package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Cookie names.
const (
	SessionCookie = "lava_session"
	CSRFCookie    = "lava_csrf"
	// CSRFField is the hidden form field carrying the CSRF token.
	CSRFField = "csrf"
)

// SessionTTL is how long a login lasts.
const SessionTTL = 7 * 24 * time.Hour

// KeyFile is the session key's file name in the data directory.
const KeyFile = "web-session.key"

// LoadOrCreateKey reads the 32-byte session key at path, making it (mode
// 0600) when it does not exist. Every server instance sharing logins must
// share this file.
func LoadOrCreateKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) < 32 {
			return nil, fmt.Errorf("session key %s: %d bytes, want at least 32 (delete it to make a new one)", path, len(b))
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading session key: %w", err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("session key directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) { // another instance made it first
		return LoadOrCreateKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("creating session key: %w", err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing session key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("writing session key: %w", err)
	}
	return key, nil
}

var b64 = base64.RawURLEncoding

func (w *Web) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, w.key)
	m.Write([]byte(strings.Join(parts, "|")))
	return m.Sum(nil)
}

// newSession makes a session secret for the cookie and the hash the store
// keeps: the session lives on the server (store.Sessions), so that logging
// out, deleting the API token it was opened with or its user ends it.
func newSession() (secret string, hash []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (Go 1.24+)
	secret = b64.EncodeToString(b)
	return secret, sessionHash(secret)
}

// sessionHash is the SHA-256 of a session cookie's value, as stored.
func sessionHash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// secureRequest says whether cookies set on the answer to r get the Secure
// flag: always with Options.Secure (a TLS proxy that says nothing), else
// when r came over TLS or through a proxy that says it did
// (X-Forwarded-Proto: https). A forged header can only make a client's
// own cookies Secure.
func (w *Web) secureRequest(r *http.Request) bool {
	if w.secure || r.TLS != nil {
		return true
	}
	proto, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	return strings.EqualFold(strings.TrimSpace(proto), "https")
}

func (w *Web) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: w.secureRequest(r)}
}

// csrfCookie returns the request's CSRF cookie value, setting a new one on
// the answer when there is none.
func (w *Web) csrfCookie(rw http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(CSRFCookie); err == nil && len(c.Value) >= 16 {
		return c.Value
	}
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	v := b64.EncodeToString(b)
	http.SetCookie(rw, w.cookie(r, CSRFCookie, v, 0))
	return v
}

// csrfToken is the form token for a CSRF cookie value: signed, so a cookie
// planted by a sibling domain is useless without the server key.
func (w *Web) csrfToken(cookie string) string {
	return b64.EncodeToString(w.mac("csrf", cookie)[:24])
}

// checkCSRF verifies a POSTed form's token against the request's cookie.
func (w *Web) checkCSRF(r *http.Request) error {
	c, err := r.Cookie(CSRFCookie)
	if err != nil || c.Value == "" {
		return errors.New("no CSRF cookie: load the form again (cookies must be enabled)")
	}
	got := r.PostFormValue(CSRFField)
	if got == "" {
		return errors.New("the form carries no CSRF token")
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(w.csrfToken(c.Value))) != 1 {
		return errors.New("the form's CSRF token does not match: load the form again")
	}
	return nil
}
