package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/qelos-io/integrator-go/middleware"
)

func keysOut(t *testing.T, args []string, env map[string]string) ([]middleware.CookieKey, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(args, func(k string) string { return env[k] }, &out, &errOut); err != nil {
		return nil, err
	}
	keys, err := middleware.ParseCookieKeys(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatalf("output %q does not parse as QELOS_COOKIE_KEYS: %v", out.String(), err)
	}
	return keys, nil
}

func TestPrintsAFreshKeySet(t *testing.T) {
	a, err := keysOut(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := keysOut(t, nil, nil)
	if len(a) != 1 || len(a[0].Hash) != 32 || len(a[0].Block) != 32 {
		t.Fatalf("key sets %d, hash %d bytes, block %d bytes; want 1 set of 32+32", len(a), len(a[0].Hash), len(a[0].Block))
	}
	if a[0].String() == b[0].String() {
		t.Fatal("two runs printed the same key")
	}
	if _, err := middleware.New(middleware.Config{AppURL: "https://q.example", CookieKeys: a}); err != nil {
		t.Fatalf("New refuses the printed keys: %v", err)
	}
}

func TestRotate(t *testing.T) {
	k1, k2, k3 := middleware.GenerateCookieKey(), middleware.GenerateCookieKey(), middleware.GenerateCookieKey()
	tests := []struct {
		name    string
		args    []string
		current string
		keep    []middleware.CookieKey // the old sets expected after the new one
		err     string
	}{
		{"one set in force", []string{"-rotate"}, k1.String(), []middleware.CookieKey{k1}, ""},
		{"two sets, both kept", []string{"-rotate"}, k1.String() + "," + k2.String(), []middleware.CookieKey{k1, k2}, ""},
		{"the oldest dropped beyond -keep", []string{"-rotate", "-keep", "2"}, k1.String() + "," + k2.String() + "," + k3.String(), []middleware.CookieKey{k1, k2}, ""},
		{"nothing in force", []string{"-rotate"}, "", nil, "QELOS_COOKIE_KEYS"},
		{"a malformed value", []string{"-rotate"}, "not-a-key!", nil, "QELOS_COOKIE_KEYS"},
		{"-keep 0 would sign everybody out", []string{"-rotate", "-keep", "0"}, k1.String(), nil, "signed out"},
		{"a key on the command line", []string{k1.String()}, "", nil, "never from the command line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := keysOut(t, tt.args, map[string]string{"QELOS_COOKIE_KEYS": tt.current})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != 1+len(tt.keep) {
				t.Fatalf("%d key sets, want %d", len(keys), 1+len(tt.keep))
			}
			for i, k := range tt.keep {
				if keys[i+1].String() != k.String() {
					t.Fatalf("set %d is not the old set %d", i+1, i)
				}
			}
			if keys[0].String() == k1.String() {
				t.Fatal("the new set is the old one")
			}
		})
	}
}
