// Package cookieseal opens cookie values sealed by gorilla/securecookie
// (HMAC-SHA256 over "name|date|value", optional AES-CTR, base64 twice)
// with the serializer left to the caller (securecookie.NopEncoder): the
// same format and keys, checked the same way, without securecookie's
// per-call allocations (a fresh HMAC, three copies of the value). The
// middleware seals with securecookie and opens here on the request path,
// where a session never seen before is opened.
package cookieseal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strconv"
	"sync"
	"unsafe"
)

// ErrInvalid is returned for a value no key opens: malformed, or its MAC
// does not match under any key.
var ErrInvalid = errors.New("cookieseal: the value is not one this app sealed (MAC or format invalid)")

// Key is one securecookie key set: Hash for HMAC-SHA256, Block (16, 24
// or 32 bytes, or none) for AES.
type Key struct {
	Hash, Block []byte
}

// Opener opens values sealed by securecookie.New(Hash, Block) for any of
// its keys, tried in order. It is safe for concurrent use.
type Opener struct {
	keys []*opener
	bufs sync.Pool // *[]byte: the outer decoding
}

type opener struct {
	macs  sync.Pool // *macState
	block cipher.Block
}

type macState struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

// New returns an Opener for keys. It fails on a block key AES refuses.
func New(keys ...Key) (*Opener, error) {
	o := &Opener{}
	for i, k := range keys {
		op := &opener{}
		hashKey := k.Hash
		op.macs.New = func() any { return &macState{h: hmac.New(sha256.New, hashKey)} }
		if len(k.Block) > 0 {
			b, err := aes.NewCipher(k.Block)
			if err != nil {
				return nil, fmt.Errorf("cookieseal: key %d: %w", i+1, err)
			}
			op.block = b
		}
		o.keys = append(o.keys, op)
	}
	return o, nil
}

// Open verifies value, sealed for the cookie called name, and returns its
// plaintext: a fresh slice, the caller's to keep. maxAge is not checked
// (the tokens inside carry their own expiry); the timestamp must parse.
func (o *Opener) Open(name, value string) ([]byte, error) {
	return o.OpenAppend(nil, name, value)
}

// OpenAppend is Open, appending the plaintext to dst (which it may grow)
// and returning the extended slice: a caller that copies out what it keeps
// can reuse one buffer for every value.
func (o *Opener) OpenAppend(dst []byte, name, value string) ([]byte, error) {
	bp, _ := o.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	defer o.bufs.Put(bp)
	enc := base64.URLEncoding
	n := enc.DecodedLen(len(value))
	if cap(*bp) < n {
		*bp = make([]byte, 0, n)
	}
	raw := (*bp)[:n]
	n, err := enc.Decode(raw, unsafe.Slice(unsafe.StringData(value), len(value)))
	if err != nil {
		return nil, ErrInvalid
	}
	raw = raw[:n]
	// "date|value|mac": the MAC is what follows the second '|'.
	i := indexPipe(raw, 0)
	if i < 0 {
		return nil, ErrInvalid
	}
	j := indexPipe(raw, i+1)
	if j < 0 {
		return nil, ErrInvalid
	}
	signed, mac := raw[:j], raw[j+1:]
	if !digits(raw[:i]) {
		return nil, ErrInvalid
	}
	for k := range o.keys {
		op := o.keys[k]
		if !op.verify(name, signed, mac) {
			continue
		}
		return op.decrypt(dst, raw[i+1:j])
	}
	return nil, ErrInvalid
}

// verify checks mac against HMAC(name|signed).
func (op *opener) verify(name string, signed, mac []byte) bool {
	if len(mac) != sha256.Size {
		return false
	}
	st := op.macs.Get().(*macState)
	defer op.macs.Put(st)
	st.h.Reset()
	st.h.Write(unsafe.Slice(unsafe.StringData(name), len(name)))
	st.h.Write(pipe)
	st.h.Write(signed)
	return hmac.Equal(st.h.Sum(st.sum[:0]), mac)
}

// decrypt decodes the sealed value's inner base64 after dst (a fresh
// slice when dst is nil) and decrypts it in place, returning dst extended
// by the plaintext.
func (op *opener) decrypt(dst, v []byte) ([]byte, error) {
	enc := base64.URLEncoding
	at := len(dst)
	dst = slices.Grow(dst, enc.DecodedLen(len(v)))
	out := dst[at : at+enc.DecodedLen(len(v))]
	n, err := enc.Decode(out, v)
	if err != nil {
		return nil, ErrInvalid
	}
	out = out[:n]
	if op.block == nil {
		return dst[:at+n], nil
	}
	size := op.block.BlockSize()
	if len(out) <= size {
		return nil, ErrInvalid
	}
	iv, body := out[:size], out[size:]
	cipher.NewCTR(op.block, iv).XORKeyStream(body, body)
	// The plaintext follows dst's own bytes, where the IV was.
	copy(out, body)
	return dst[:at+len(body)], nil
}

var pipe = []byte{'|'}

// indexPipe is the index of the first '|' in b from from on, or -1.
func indexPipe(b []byte, from int) int {
	if i := bytes.IndexByte(b[from:], '|'); i >= 0 {
		return from + i
	}
	return -1
}

// digits reports whether b is a timestamp securecookie accepts: what
// strconv.ParseInt reads as an int64.
func digits(b []byte) bool {
	_, err := strconv.ParseInt(unsafe.String(unsafe.SliceData(b), len(b)), 10, 64)
	return err == nil
}
