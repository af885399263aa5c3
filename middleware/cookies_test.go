package middleware_test

import (
	"encoding/base64"
	qelos "github.com/qelos-io/integrator-go"
	"net/http"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
)

// TestBadCookiesAreRejected: every malformed session is cleared and the
// request continues anonymous, without a panic and without calling Qelos.
func TestBadCookiesAreRejected(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	good := h.pair(qelostest.AdminEmail, acmeID, false)
	access, refreshValue := good[0].Value, good[1].Value

	// A second app with other keys seals a perfectly valid pair.
	other := newHarness(t, qelostest.Options{}, nil)
	foreign := other.pair(qelostest.AdminEmail, acmeID, false)

	unsigned := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "6b08ed3053ba253bfa2e98e9", "exp": 4102444800})
	noneToken, _ := unsigned.SignedString(jwt.UnsafeAllowNoneSignatureType)
	noneAccess, noneRefresh := middleware.SealPair(h.mw, noneToken, "x", nil)
	hs512 := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims{"sub": "6b08ed3053ba253bfa2e98e9", "exp": 4102444800})
	hs512Token, _ := hs512.SignedString([]byte(h.qelos.Secret()))
	hs512Access, _ := middleware.SealPair(h.mw, hs512Token, "x", nil)
	noExp, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "u"}).SignedString([]byte("k"))
	noExpAccess, _ := middleware.SealPair(h.mw, noExp, "x", nil)
	garbageAccess, _ := middleware.SealPair(h.mw, "not.a.jwt", "x", nil)

	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}

	tests := []struct {
		name            string
		access, refresh string
	}{
		{"tampered access cookie", flip(access, len(access)/2), refreshValue},
		{"tampered MAC", flip(access, len(access)-12), refreshValue},
		{"truncated access cookie", access[:len(access)/2], refreshValue},
		{"sealed with another app's keys", foreign[0].Value, foreign[1].Value},
		{"access and refresh cookies swapped", refreshValue, access},
		{"oversized cookie (> 24 KiB)", strings.Repeat("A", 25<<10), refreshValue},
		{"not base64 at all", "%%%<script>", refreshValue},
		{"alg none token inside a valid seal", noneAccess, noneRefresh},
		{"HS512 token (algorithm not pinned)", hs512Access, refreshValue},
		{"token without exp", noExpAccess, refreshValue},
		{"garbage token", garbageAccess, refreshValue},
		{"raw JWT instead of a sealed cookie", base64.RawURLEncoding.EncodeToString([]byte(noneToken)), refreshValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.qelos.Calls(qelostest.EndpointRefresh)
			r := h.get("/private",
				&http.Cookie{Name: accessCookie, Value: tt.access},
				&http.Cookie{Name: refreshCookie, Value: tt.refresh})
			if r.status != 401 {
				t.Fatalf("status %d %s, want 401", r.status, r.body)
			}
			if !r.cleared(accessCookie) || !r.cleared(refreshCookie) {
				t.Fatalf("bad session not cleared: %v", r.cookies)
			}
			if h.qelos.Calls(qelostest.EndpointRefresh) != before {
				t.Fatal("a bad cookie reached Qelos")
			}
		})
	}
	if h.eventCount(qelos.EventCookieRejected) < len(tests) {
		t.Fatalf("%d rejection events for %d bad sessions", h.eventCount(qelos.EventCookieRejected), len(tests))
	}
}

func TestJWTSecretVerifiesSignatures(t *testing.T) {
	t.Run("right secret", func(t *testing.T) {
		h := newHarness(t, qelostest.Options{JWTSecret: "s3cret"}, func(c *middleware.Config) { c.JWTSecret = "s3cret" })
		if r := h.get("/private", h.pair(qelostest.AdminEmail, acmeID, true)...); r.status != 200 {
			t.Fatalf("expired pair: status %d %s", r.status, r.body)
		}
		if r := h.get("/private", h.pair(qelostest.AdminEmail, acmeID, false)...); r.status != 200 {
			t.Fatalf("valid pair: status %d %s", r.status, r.body)
		}
	})
	t.Run("token signed with another secret", func(t *testing.T) {
		h := newHarness(t, qelostest.Options{JWTSecret: "another-secret"}, func(c *middleware.Config) { c.JWTSecret = "the-real-secret" })
		r := h.get("/private", h.pair(qelostest.AdminEmail, acmeID, false)...)
		if r.status != 401 || !r.cleared(accessCookie) {
			t.Fatalf("status %d cookies %v, want 401 and cleared", r.status, r.cookies)
		}
	})
}

func TestKeyRotation(t *testing.T) {
	oldKey, newKey := middleware.GenerateCookieKey(), middleware.GenerateCookieKey()
	before := newHarness(t, qelostest.Options{}, func(c *middleware.Config) { c.CookieKeys = []middleware.CookieKey{oldKey} })
	cookies := before.pair(qelostest.AdminEmail, acmeID, false)

	rotated := newHarness(t, qelostest.Options{}, func(c *middleware.Config) { c.CookieKeys = []middleware.CookieKey{newKey, oldKey} })
	if r := rotated.get("/private", cookies...); r.status != 200 {
		t.Fatalf("cookie sealed with a listed old key: %d %s", r.status, r.body)
	}
	// New cookies are sealed with the new key only.
	fresh := rotated.pair(qelostest.AdminEmail, acmeID, false)
	retiredOnlyOld := newHarness(t, qelostest.Options{}, func(c *middleware.Config) { c.CookieKeys = []middleware.CookieKey{oldKey} })
	if r := retiredOnlyOld.get("/private", fresh...); r.status != 401 {
		t.Fatalf("a cookie sealed with the new key opened with the old one: %d", r.status)
	}
	retired := newHarness(t, qelostest.Options{}, func(c *middleware.Config) { c.CookieKeys = []middleware.CookieKey{newKey} })
	if r := retired.get("/private", cookies...); r.status != 401 || !r.cleared(accessCookie) {
		t.Fatalf("cookie sealed with a retired key: %d", r.status)
	}
}

func TestParseCookieKeys(t *testing.T) {
	k := middleware.GenerateCookieKey()
	hashOnly := middleware.CookieKey{Hash: k.Hash}
	tests := []struct {
		name    string
		in      string
		want    int
		wantErr string
	}{
		{"one set with a block key", k.String(), 1, ""},
		{"hash only", hashOnly.String(), 1, ""},
		{"two sets for rotation", k.String() + "," + hashOnly.String(), 2, ""},
		{"spaces and empty items", " " + k.String() + " ,, ", 1, ""},
		{"url-safe base64", base64.RawURLEncoding.EncodeToString(k.Hash), 1, ""},
		{"empty", "", 0, "no cookie keys"},
		{"not base64", "!!!", 0, "not base64"},
		{"short hash key", base64.StdEncoding.EncodeToString([]byte("short")), 0, "32 or 64"},
		{"bad block key", base64.StdEncoding.EncodeToString(k.Hash) + ":" + base64.StdEncoding.EncodeToString([]byte("123")), 0, "16, 24 or 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := middleware.ParseCookieKeys(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(keys) != tt.want {
				t.Fatalf("got %d keys, %v; want %d", len(keys), err, tt.want)
			}
		})
	}
}

func TestNewValidatesConfig(t *testing.T) {
	key := []middleware.CookieKey{middleware.GenerateCookieKey()}
	tests := []struct {
		name    string
		cfg     middleware.Config
		wantErr string
	}{
		{"no AppURL", middleware.Config{CookieKeys: key}, "AppURL is required"},
		{"relative AppURL", middleware.Config{AppURL: "qelos.example", CookieKeys: key}, "absolute http(s) URL"},
		{"ftp AppURL", middleware.Config{AppURL: "ftp://qelos.example", CookieKeys: key}, "absolute http(s) URL"},
		{"no keys", middleware.Config{AppURL: "https://q.example"}, "CookieKeys is required"},
		{"short hash key", middleware.Config{AppURL: "https://q.example", CookieKeys: []middleware.CookieKey{{Hash: []byte("x")}}}, "32 or 64"},
		{"same cookie names", middleware.Config{AppURL: "https://q.example", CookieKeys: key, Cookie: middleware.CookieConfig{AccessName: "s", RefreshName: "s"}}, "must differ"},
		{"bad cookie name", middleware.Config{AppURL: "https://q.example", CookieKeys: key, Cookie: middleware.CookieConfig{AccessName: "a b"}}, "not a valid cookie"},
		{"SameSite None without Secure", middleware.Config{AppURL: "http://q.example", CookieKeys: key, Cookie: middleware.CookieConfig{SameSite: http.SameSiteNoneMode, Secure: middleware.SecureNever}}, "requires Secure"},
		{"relative skip path", middleware.Config{AppURL: "https://q.example", CookieKeys: key, SkipPaths: []string{"health"}}, "must start with /"},
		{"valid", middleware.Config{AppURL: "https://q.example/", CookieKeys: key}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := middleware.New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}
}
