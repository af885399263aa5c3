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

// TestRollingRotation walks the three steps from one value to the next,
// and refuses the steps that would sign users out.
func TestRollingRotation(t *testing.T) {
	cur, old, stray := middleware.GenerateCookieKey(), middleware.GenerateCookieKey(), middleware.GenerateCookieKey()
	stray.AcceptOnly = true
	newSet := middleware.GenerateCookieKey()
	added := newSet
	added.AcceptOnly = true
	join := func(ks ...middleware.CookieKey) string {
		var ss []string
		for _, k := range ks {
			ss = append(ss, k.String())
		}
		return strings.Join(ss, ",")
	}
	tests := []struct {
		name    string
		args    []string
		current string
		check   func(t *testing.T, keys []middleware.CookieKey)
		err     string
	}{
		{"add: the set in force seals, a fresh one is accept-only", []string{"-add"}, join(cur), func(t *testing.T, keys []middleware.CookieKey) {
			if len(keys) != 2 || keys[0].String() != cur.String() || !keys[1].AcceptOnly || keys[1].String() == cur.String() {
				t.Fatalf("got %d sets; want CURRENT,~NEW", len(keys))
			}
		}, ""},
		{"-rotate is -add", []string{"-rotate"}, join(cur), func(t *testing.T, keys []middleware.CookieKey) {
			if len(keys) != 2 || keys[0].String() != cur.String() || !keys[1].AcceptOnly {
				t.Fatalf("got %d sets; want CURRENT,~NEW", len(keys))
			}
		}, ""},
		{"add twice", []string{"-add"}, join(cur, added), nil, "under way"},
		{"promote: the accept-only set seals, the others follow", []string{"-promote"}, join(cur, old, added), func(t *testing.T, keys []middleware.CookieKey) {
			if len(keys) != 3 || keys[0].String() != newSet.String() || keys[1].String() != cur.String() || keys[2].String() != old.String() {
				t.Fatalf("got %d sets; want NEW,CURRENT,OLD", len(keys))
			}
		}, ""},
		{"promote keeps at most -keep old sets", []string{"-promote", "-keep", "1"}, join(cur, old, added), func(t *testing.T, keys []middleware.CookieKey) {
			if len(keys) != 2 || keys[1].String() != cur.String() {
				t.Fatalf("got %d sets; want NEW,CURRENT", len(keys))
			}
		}, ""},
		{"promote with nothing added", []string{"-promote"}, join(cur), nil, "-add"},
		{"promote with two added", []string{"-promote"}, join(cur, added, stray), nil, "found 2"},
		{"-keep 0 would sign everybody out", []string{"-promote", "-keep", "0"}, join(cur, added), nil, "signed out"},
		{"retire: only the set that seals", []string{"-retire"}, join(newSet, cur), func(t *testing.T, keys []middleware.CookieKey) {
			if len(keys) != 1 || keys[0].String() != newSet.String() {
				t.Fatalf("got %d sets; want NEW", len(keys))
			}
		}, ""},
		{"retire before promoting", []string{"-retire"}, join(cur, added), nil, "-promote"},
		{"retire with one set", []string{"-retire"}, join(cur), nil, "nothing to retire"},
		{"nothing in force", []string{"-add"}, "", nil, "QELOS_COOKIE_KEYS"},
		{"a malformed value", []string{"-add"}, "not-a-key!", nil, "QELOS_COOKIE_KEYS"},
		{"two steps at once", []string{"-add", "-retire"}, join(cur), nil, "one of"},
		{"a key on the command line", []string{cur.String()}, "", nil, "never from the command line"},
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
			tt.check(t, keys)
		})
	}
}

// TestStatus names the step of each value of a rotation.
func TestStatus(t *testing.T) {
	cur, next := middleware.GenerateCookieKey(), middleware.GenerateCookieKey()
	added := next
	added.AcceptOnly = true
	for _, tt := range []struct{ value, want string }{
		{cur.String(), "steady"},
		{cur.String() + "," + added.String(), "step 1 of 3"},
		{next.String() + "," + cur.String(), "step 2 of 3"},
	} {
		var out, errOut bytes.Buffer
		if err := run([]string{"-status"}, func(string) string { return tt.value }, &out, &errOut); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(out.String(), tt.want) {
			t.Errorf("-status of a %q value: %q", tt.want, out.String())
		}
	}
}
