package extensions

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// sealVersion prefixes every sealed value so the format (and the key) can
// change later without guessing what old rows hold.
const sealVersion byte = 1

// ErrUnsealable is returned when a sealed value cannot be opened: wrong
// key, tampered bytes, or a value sealed for another install.
var ErrUnsealable = errors.New("sealed value cannot be opened")

// Sealer encrypts install secrets at rest with AES-256-GCM.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer builds a Sealer from a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("sealer key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sealer: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("sealer: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// SealerFromSecret derives the key from any secret string (such as
// EXTCRON_SECRET_KEY) with SHA-256.
func SealerFromSecret(secret string) (*Sealer, error) {
	if secret == "" {
		return nil, errors.New("sealer secret is empty")
	}
	// A domain prefix keeps this key distinct from other keys derived from
	// the same secret (session signing).
	key := sha256.Sum256([]byte("extcron install secrets\x00" + secret))
	return NewSealer(key[:])
}

// Seal encrypts plaintext. associated is authenticated but not stored (the
// tenant and install ids), so a sealed value copied to another row does
// not open.
func (s *Sealer) Seal(plaintext, associated []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize(), 1+s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	out := append([]byte{sealVersion}, nonce...)
	return s.aead.Seal(out, nonce, plaintext, associated), nil
}

// Open decrypts what Seal produced with the same associated data.
func (s *Sealer) Open(sealed, associated []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < 1+ns+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, ErrUnsealable
	}
	plain, err := s.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], associated)
	if err != nil {
		return nil, ErrUnsealable
	}
	return plain, nil
}
