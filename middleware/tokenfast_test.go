package middleware

import (
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
	"time"
)

// signedToken builds an HS256 token of the given header and payload JSON,
// signed with secret.
func signedToken(t testing.TB, header, payload, secret string) string {
	t.Helper()
	tr := newTokenReader(secret, "0", 0, time.Now)
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	h := tr.macs.Get().(interface {
		Reset()
		Write([]byte) (int, error)
		Sum([]byte) []byte
	})
	h.Reset()
	h.Write([]byte(signed))
	return signed + "." + enc.EncodeToString(h.Sum(nil))
}

const testHeader = `{"alg":"HS256","typ":"JWT"}`

// fastClaimPayloads are claim sets the fast reader must read as the
// general one does, or leave to it.
var fastClaimPayloads = []string{
	`{"sub":"u1","tenant":"0","exp":1796552065,"iat":1796534065,"username":"a@b.c","email":"a@b.c","firstName":"Ada","lastName":"Admin","roles":["admin"],"workspace":{"_id":"w1","name":"Acme%20Team","roles":["admin","user"],"labels":[]}}`,
	`{"sub":"u1","tenant":"0","exp":1796552065.5}`,
	`{"sub":"u1","tenant":"0","exp":1.7e9,"nbf":null,"roles":null,"workspace":null}`,
	` { "sub" : "u1" , "tenant" : "0" , "exp" : 17 } `,
	`{"sub":"u1","tenant":"0","exp":17,"extra":true,"n":-1.5e3,"z":null,"s":"x"}`,
	`{"sub":"u1","tenant":"0","exp":17,"obj":{"a":1}}`,               // an unknown object: left to the general reader
	`{"sub":"u1","tenant":"0","exp":17,"arr":[1,2]}`,                 // an unknown array: the same
	`{"sub":"u\"1","tenant":"0","exp":17}`,                           // an escape
	`{"sub":"u1","tenant":"999","TENANT":"0","tenant":"0","exp":17}`, // a repeated claim: last wins there
	`{"sub":"u1","tenant":"0","exp":17,"x":1,"x":"2"}`,               // a repeated claim it skips: no matter
	`{"sub":"u1","exp":17,"email":"a","tenant":"0","email":"b"}`,     // a repeated user claim
	`{"sub":"u1","tenant":"0","exp":"17"}`,                           // a date as a string: refused
	`{"sub":1,"tenant":"0","exp":17}`,                                // a type the claims do not expect
	`{"sub":"u1","tenant":"0","exp":17} trailing`,
	`{"sub":"u1","tenant":"0","exp":17,"roles":["a",1]}`,
	`{"sub":"u1","tenant":"0","exp":17,"workspace":{"_id":"","name":"x"}}`,
	`{"sub":"u1","tenant":"0","exp":17,"workspace":{"_id":"w","_id":"v"}}`,
	`{"sub":"u1","tenant":"0","exp":1e400}`,
	`{"sub":"u1","tenant":"0","exp":01}`,
	`{"sub":"\xff","tenant":"0","exp":17}`,
	`{"sub":"u1","tenant":"0","exp":17,}`,
	`[]`,
	`null`,
	`{}`,
	`{"sub":"u1","tenant":"0","exp":17,"workspace":"w"}`,
	`{"sub":"u1","tenant":"0","exp":17,"name":"Ada%20Lovelace","fullName":null}`,
}

// TestFastReaderAgrees: on every claim set, the fast reader either reads
// exactly what the general reader (jwt/v5, encoding/json, claims) reads,
// or declines; a token signed with another secret is never read fast.
func TestFastReaderAgrees(t *testing.T) {
	for _, payload := range fastClaimPayloads {
		checkFastReader(t, payload)
	}
	tok := signedToken(t, testHeader, fastClaimPayloads[0], "other secret")
	if _, ok := newTokenReader("secret", "0", 0, time.Now).readFast(tok, true); ok {
		t.Error("a token signed with another secret was read")
	}
	if _, ok := newTokenReader("secret", "0", 0, time.Now).readFast(signedToken(t, testHeader, fastClaimPayloads[0], "secret"), true); !ok {
		t.Error("the common token was not read fast: the test proves nothing")
	}
}

func checkFastReader(t *testing.T, payload string) {
	t.Helper()
	for _, header := range []string{testHeader, `{"alg":"HS256"}`, `{"alg":"none"}`} {
		tok := signedToken(t, header, payload, "secret")
		tr := newTokenReader("secret", "0", 0, time.Now)
		fast, ok := tr.readFast(tok, true)
		if !ok {
			continue
		}
		if header != testHeader {
			t.Errorf("header %s read fast", header)
		}
		m, err := tr.parse(tok, true)
		if err != nil {
			t.Errorf("%s: read fast, but the general reader refuses it: %v", payload, err)
			continue
		}
		slow, err := m.read()
		if err != nil {
			t.Errorf("%s: read fast, but the general reader refuses its claims: %v", payload, err)
			continue
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Errorf("%s:\nfast %+v\nslow %+v", payload, fast, slow)
		}
	}
}

func FuzzFastReader(f *testing.F) {
	for _, p := range fastClaimPayloads {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		if strings.Count(payload, "{") > 16 {
			return
		}
		checkFastReader(t, payload)
	})
}
