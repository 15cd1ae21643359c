// Package auth makes and checks the lab's secrets: users' API tokens and
// workers' tokens. A secret is 32 random bytes (crypto/rand) in URL-safe
// base64 text, shown once to its owner; only its SHA-256 is stored. Secrets
// have full entropy, so a fast hash is the right one (no salt, no stretching)
// and the store can look a token up by its hash.
//
// Its imports are checked by internal/archtest (rules.go).
package auth
