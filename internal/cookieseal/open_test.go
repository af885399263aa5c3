package cookieseal_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/gorilla/securecookie"
	"github.com/qelos-io/integrator-go/internal/cookieseal"
)

func key(hashLen, blockLen int) cookieseal.Key {
	k := cookieseal.Key{Hash: make([]byte, hashLen)}
	rand.Read(k.Hash)
	if blockLen > 0 {
		k.Block = make([]byte, blockLen)
		rand.Read(k.Block)
	}
	return k
}

func seal(t *testing.T, k cookieseal.Key, name string, plaintext []byte) string {
	t.Helper()
	sc := securecookie.New(k.Hash, k.Block)
	sc.SetSerializer(securecookie.NopEncoder{})
	sc.MaxAge(0)
	sc.MaxLength(0)
	v, err := sc.Encode(name, bytes.Clone(plaintext)) // securecookie encrypts in place
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestOpenMatchesSecurecookie: every value securecookie seals opens to
// its plaintext, with any of the key sets and with the key set that sealed
// it anywhere in the list.
func TestOpenMatchesSecurecookie(t *testing.T) {
	plain := []byte("\x02 a compact session | with pipes | and bytes \x00\xff")
	for _, tc := range []struct {
		name           string
		hashLen, block int
	}{
		{"hash only", 32, 0},
		{"AES-128", 32, 16},
		{"AES-192", 64, 24},
		{"AES-256", 32, 32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, other := key(tc.hashLen, tc.block), key(32, 32)
			v := seal(t, k, "session", plain)
			for _, keys := range [][]cookieseal.Key{{k}, {other, k}, {k, other}} {
				o, err := cookieseal.New(keys...)
				if err != nil {
					t.Fatal(err)
				}
				got, err := o.Open("session", v)
				if err != nil || !bytes.Equal(got, plain) {
					t.Fatalf("Open = %q, %v; want %q", got, err, plain)
				}
				// OpenAppend keeps what dst held and appends the same
				// plaintext, in a buffer used before and too small.
				dst := append(make([]byte, 0, 8), "kept"...)
				got, err = o.OpenAppend(dst, "session", v)
				if err != nil || string(got) != "kept"+string(plain) {
					t.Fatalf("OpenAppend = %q, %v; want %q", got, err, "kept"+string(plain))
				}
			}
		})
	}
}

// TestOpenRefuses: a value is refused when anything about it differs from
// what was sealed: another name (the MAC covers it), another key, a
// changed byte anywhere, a cut, or junk; as securecookie refuses it.
func TestOpenRefuses(t *testing.T) {
	k := key(32, 32)
	v := seal(t, k, "access", []byte("the token"))
	raw, _ := base64.URLEncoding.DecodeString(v)
	flip := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 1
		return base64.URLEncoding.EncodeToString(b)
	}
	cases := []struct{ name, cookie, value string }{
		{"another cookie name", "refresh", v},
		{"a changed timestamp", "access", flip(0)},
		{"a changed value", "access", flip(15)},
		{"a changed MAC", "access", flip(len(raw) - 1)},
		{"cut short", "access", v[:len(v)-8]},
		{"not base64", "access", "!!!" + v},
		{"empty", "access", ""},
		{"no separators", "access", base64.URLEncoding.EncodeToString([]byte("abc"))},
		{"a timestamp that is no number", "access", base64.URLEncoding.EncodeToString(append([]byte("x1|"), raw[strings.IndexByte(string(raw), '|')+1:]...))},
	}
	o, err := cookieseal.New(k)
	if err != nil {
		t.Fatal(err)
	}
	sc := securecookie.New(k.Hash, k.Block)
	sc.SetSerializer(securecookie.NopEncoder{})
	sc.MaxAge(0)
	sc.MaxLength(0)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := o.Open(tc.cookie, tc.value); !errors.Is(err, cookieseal.ErrInvalid) {
				t.Errorf("Open = %q, %v; want ErrInvalid", got, err)
			}
			var p []byte
			if err := sc.Decode(tc.cookie, tc.value, &p); err == nil {
				t.Errorf("securecookie opens it (%q): the case proves nothing", p)
			}
		})
	}
	if _, err := (&cookieseal.Opener{}).Open("access", v); err == nil {
		t.Error("an Opener without keys opened a value")
	}
	o2, _ := cookieseal.New(key(32, 32))
	if _, err := o2.Open("access", v); !errors.Is(err, cookieseal.ErrInvalid) {
		t.Errorf("another key: %v", err)
	}
}

func TestNewRefusesABadBlockKey(t *testing.T) {
	if _, err := cookieseal.New(cookieseal.Key{Hash: make([]byte, 32), Block: make([]byte, 15)}); err == nil {
		t.Error("a 15-byte block key was accepted")
	}
}

func BenchmarkOpen(b *testing.B) {
	k := key(32, 32)
	sc := securecookie.New(k.Hash, k.Block)
	sc.SetSerializer(securecookie.NopEncoder{})
	v, _ := sc.Encode("access", bytes.Repeat([]byte("x"), 700))
	o, _ := cookieseal.New(k)
	b.Run("cookieseal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := o.Open("access", v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("securecookie", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var p []byte
			if err := sc.Decode("access", v, &p); err != nil {
				b.Fatal(err)
			}
		}
	})
}
