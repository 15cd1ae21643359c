package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strings"
)

// SecretBytes is the entropy of a new secret, in bytes.
const SecretBytes = 32

// Prefixes tell user tokens and worker tokens apart when a person reads
// them; they carry no security.
const (
	UserPrefix   = "lava_"
	WorkerPrefix = "lavaw_"
)

// ErrNoToken means a request carried no token.
var ErrNoToken = errors.New("no token")

// ErrMalformed means an Authorization header is not "Token <secret>" or
// "Bearer <secret>".
var ErrMalformed = errors.New(`malformed Authorization header: want "Token <secret>" or "Bearer <secret>"`)

func newSecret(prefix string) (string, []byte) {
	b := make([]byte, SecretBytes)
	// crypto/rand.Read never fails on supported platforms (Go 1.24+): it
	// crashes the program instead of returning weak bytes.
	_, _ = rand.Read(b)
	s := prefix + base64.RawURLEncoding.EncodeToString(b)
	return s, Hash(s)
}

// NewToken makes a user API token: the secret to show once and the hash to
// store.
func NewToken() (secret string, hash []byte) { return newSecret(UserPrefix) }

// NewWorkerToken makes a worker token: the secret to show once and the hash
// to store.
func NewWorkerToken() (secret string, hash []byte) { return newSecret(WorkerPrefix) }

// Hash is the SHA-256 of a secret, as stored.
func Hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Equal reports whether secret hashes to hash, in constant time.
func Equal(secret string, hash []byte) bool {
	return subtle.ConstantTimeCompare(Hash(secret), hash) == 1
}

// FromHeader extracts the secret of an Authorization header value:
// "Token <secret>" or "Bearer <secret>" (scheme in any case). An empty
// header gives ErrNoToken.
func FromHeader(h string) (string, error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return "", ErrNoToken
	}
	scheme, secret, ok := strings.Cut(h, " ")
	if !ok {
		return "", ErrMalformed
	}
	if !strings.EqualFold(scheme, "Token") && !strings.EqualFold(scheme, "Bearer") {
		return "", ErrMalformed
	}
	secret = strings.TrimSpace(secret)
	if secret == "" || strings.ContainsAny(secret, " \t") {
		return "", ErrMalformed
	}
	return secret, nil
}
