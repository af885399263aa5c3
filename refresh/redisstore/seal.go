package redisstore

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/qelos-io/integrator-go/refresh"
)

// Stored value format, version 1:
//
//	0x01 | nonce (12 bytes) | AES-256-GCM(plaintext) with its 16-byte tag
//	plaintext = uvarint(len(access)) | access | refresh
//
// The first byte is not '{', '[' or '"', and the rest is ciphertext, so a
// value is never readable as JSON (or as anything but noise).
//
// Keys: master = HKDF-SHA256(Secret, salt none, info masterLabel), 32 bytes;
// each refresh.Key gets its own AES-256 key, HKDF-Expand(master,
// pairLabel+key). A refresh.Key names one single-use token, so a key
// encrypts one or two values in its life: the 2^32-messages bound on random
// GCM nonces under one key is never approached, however many refreshes the
// app performs. The key also goes into the additional data, so a value moved
// to another key's name does not decrypt.
const (
	sealVersion = 1
	masterLabel = "qelos-io/integrator-go refresh/redisstore v1 master key"
	pairLabel   = "qelos-io/integrator-go refresh/redisstore v1 pair key "
	aadLabel    = "qelos-io/integrator-go refresh/redisstore v1 pair "
)

// keyring seals with the first secret's master key and opens with any of
// them, so that replicas in the middle of a key rotation (one sealing with
// the old secret, one with the new) read each other's values.
type keyring struct {
	masters [][]byte
}

func newKeyring(secrets ...[]byte) (*keyring, error) {
	k := &keyring{}
	for _, secret := range secrets {
		master, err := hkdf.Key(sha256.New, secret, nil, masterLabel, 32)
		if err != nil {
			return nil, fmt.Errorf("redisstore: derive key: %w", err)
		}
		k.masters = append(k.masters, master)
	}
	return k, nil
}

// with returns a keyring that also opens with secrets (those of at least
// MinSecretLen bytes that it does not have yet).
func (k *keyring) with(secrets ...[]byte) (*keyring, error) {
	next := &keyring{masters: slices.Clone(k.masters)}
	for _, secret := range secrets {
		if len(secret) < MinSecretLen {
			continue
		}
		master, err := hkdf.Key(sha256.New, secret, nil, masterLabel, 32)
		if err != nil {
			return nil, fmt.Errorf("redisstore: derive key: %w", err)
		}
		if !slices.ContainsFunc(next.masters, func(m []byte) bool { return bytes.Equal(m, master) }) {
			next.masters = append(next.masters, master)
		}
	}
	return next, nil
}

func (k *keyring) aead(master []byte, key string) cipher.AEAD {
	sub, err := hkdf.Expand(sha256.New, master, pairLabel+key, 32)
	if err != nil {
		panic("redisstore: hkdf.Expand of 32 bytes failed: " + err.Error()) // only fails for lengths > 255*32
	}
	block, err := aes.NewCipher(sub)
	if err != nil {
		panic("redisstore: aes.NewCipher with a 32-byte key failed: " + err.Error())
	}
	gcm, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		panic("redisstore: GCM over AES failed: " + err.Error())
	}
	return gcm
}

// seal encrypts p for storage under key.
func (k *keyring) seal(key string, p refresh.Pair) []byte {
	plain := make([]byte, 0, binary.MaxVarintLen64+len(p.AccessToken)+len(p.RefreshToken))
	plain = binary.AppendUvarint(plain, uint64(len(p.AccessToken)))
	plain = append(plain, p.AccessToken...)
	plain = append(plain, p.RefreshToken...)
	gcm := k.aead(k.masters[0], key)
	out := make([]byte, 1, 1+len(plain)+gcm.Overhead())
	out[0] = sealVersion
	out = gcm.Seal(out, nil, plain, []byte(aadLabel+key))
	clear(plain)
	return out
}

// open decrypts a value stored under key with any of the keyring's
// secrets. Anything that is not a value sealed for key with one of them is
// ErrUnreadable.
func (k *keyring) open(key string, val []byte) (refresh.Pair, error) {
	if len(val) < 1 || val[0] != sealVersion {
		return refresh.Pair{}, ErrUnreadable
	}
	var plain []byte
	err := ErrUnreadable
	for _, master := range k.masters {
		if plain, err = k.aead(master, key).Open(nil, nil, val[1:], []byte(aadLabel+key)); err == nil {
			break
		}
	}
	if err != nil {
		return refresh.Pair{}, ErrUnreadable
	}
	defer clear(plain)
	n, w := binary.Uvarint(plain)
	if w <= 0 || n > uint64(len(plain)-w) {
		return refresh.Pair{}, ErrUnreadable
	}
	rest := plain[w:]
	return refresh.Pair{AccessToken: string(rest[:n]), RefreshToken: string(rest[n:])}, nil
}
