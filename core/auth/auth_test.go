package auth

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestNewToken(t *testing.T) {
	seen := map[string]bool{}
	for _, mk := range []struct {
		name   string
		prefix string
		fn     func() (string, []byte)
	}{{"user", UserPrefix, NewToken}, {"worker", WorkerPrefix, NewWorkerToken}} {
		for range 100 {
			s, h := mk.fn()
			if !strings.HasPrefix(s, mk.prefix) {
				t.Fatalf("%s token %q lacks prefix %q", mk.name, s, mk.prefix)
			}
			raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(s, mk.prefix))
			if err != nil {
				t.Fatalf("%s token %q is not URL-safe base64: %v", mk.name, s, err)
			}
			if len(raw) < 32 {
				t.Fatalf("%s token has %d bytes of entropy, want >= 32", mk.name, len(raw))
			}
			if seen[s] {
				t.Fatalf("duplicate token %q", s)
			}
			seen[s] = true
			if len(h) != 32 || !Equal(s, h) {
				t.Fatalf("hash of %q does not verify", s)
			}
			if Equal(s+"x", h) {
				t.Fatalf("a different secret verifies against %q's hash", s)
			}
		}
	}
}

func TestHashStable(t *testing.T) {
	// SHA-256("abc"), the FIPS 180-2 example.
	const want = "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
	if got := base64.RawURLEncoding.EncodeToString(Hash("abc")); got != want {
		t.Fatalf("Hash(abc) = %s, want %s", got, want)
	}
}

func TestFromHeader(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		{"", "", ErrNoToken},
		{"   ", "", ErrNoToken},
		{"Token abc", "abc", nil},
		{"token abc", "abc", nil},
		{"Bearer abc", "abc", nil},
		{"BEARER   abc  ", "abc", nil},
		{"Basic dXNlcjpwYXNz", "", ErrMalformed},
		{"Token", "", ErrMalformed},
		{"Token ", "", ErrMalformed},
		{"Token a b", "", ErrMalformed},
		{"abc", "", ErrMalformed},
	}
	for _, tt := range tests {
		got, err := FromHeader(tt.in)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("FromHeader(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func FuzzFromHeader(f *testing.F) {
	for _, s := range []string{"", "Token abc", "Bearer x y", "Basic z", "token\tq"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		s, err := FromHeader(h)
		if err == nil && (s == "" || strings.ContainsAny(s, " \t")) {
			t.Fatalf("FromHeader(%q) accepted bad secret %q", h, s)
		}
	})
}

func BenchmarkHash(b *testing.B) {
	s, _ := NewToken()
	for b.Loop() {
		Hash(s)
	}
}
