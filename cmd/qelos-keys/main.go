// Command qelos-keys prints QELOS_COOKIE_KEYS values: a fresh one, or the
// steps of a rolling key rotation, and says which step a value is at. A key
// set is a 32-byte HMAC hash key and a 32-byte AES-256 block key, in the
// format middleware.ParseCookieKeys reads ("HASH:BLOCK", base64; "~" before
// a set that opens cookies but never seals them).
//
//	export QELOS_COOKIE_KEYS=$(go run github.com/qelos-io/integrator-go/cmd/qelos-keys)
//
// A rolling rotation is three deploys; each value is safe to run beside the
// one before it, so replicas on both see each other's cookies (and each
// other's outcomes in refresh/redisstore, which middleware.New gives every
// key) and nobody is signed out:
//
//	NEXT=$(QELOS_COOKIE_KEYS=$CURRENT qelos-keys -add)      # 1. CURRENT,~NEW: NEW opens, never seals
//	# deploy NEXT to every replica, then:
//	NEXT=$(QELOS_COOKIE_KEYS=$CURRENT qelos-keys -promote)  # 2. NEW,CURRENT: NEW seals, CURRENT still opens
//	# deploy NEXT to every replica; 30 days later (the refresh token's life):
//	NEXT=$(QELOS_COOKIE_KEYS=$CURRENT qelos-keys -retire)   # 3. NEW: CURRENT's cookies have expired
//
// QELOS_COOKIE_KEYS=$VALUE qelos-keys -status names the step a value is at
// and the next one. -rotate is -add: putting a new set first at once, as it
// once did, made replicas still on the old value refuse the new cookies in
// the middle of a rolling deploy.
//
// The keys are read from the environment, never from the command line,
// where other users of the machine could see them.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/qelos-io/integrator-go/middleware"
)

func main() {
	if err := run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "qelos-keys:", err)
		}
		os.Exit(2)
	}
}

// run prints a fresh QELOS_COOKIE_KEYS value to out, the next step of a
// rotation of getenv("QELOS_COOKIE_KEYS"), or (-status) the step it is at.
func run(args []string, getenv func(string) string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("qelos-keys", flag.ContinueOnError)
	fs.SetOutput(errOut)
	add := fs.Bool("add", false, "rotation step 1: add a fresh key set, accept-only, after the sets in QELOS_COOKIE_KEYS")
	rotate := fs.Bool("rotate", false, "the same as -add")
	promote := fs.Bool("promote", false, "rotation step 2: make the accept-only set in QELOS_COOKIE_KEYS the one that seals")
	retire := fs.Bool("retire", false, "rotation step 3: keep only the set that seals")
	status := fs.Bool("status", false, "say which rotation step QELOS_COOKIE_KEYS is at")
	keep := fs.Int("keep", 2, "with -promote, the most old key sets to keep after the new one")
	fs.Usage = func() {
		fmt.Fprintln(errOut, "usage: qelos-keys [-add | -promote [-keep N] | -retire | -status]\n\nPrints a fresh QELOS_COOKIE_KEYS value, or the next step of a rolling rotation of the value in QELOS_COOKIE_KEYS.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: keys are read from QELOS_COOKIE_KEYS, never from the command line", fs.Arg(0))
	}
	*add = *add || *rotate
	steps := 0
	for _, b := range []bool{*add, *promote, *retire, *status} {
		if b {
			steps++
		}
	}
	if steps > 1 {
		return errors.New("give one of -add, -promote, -retire, -status")
	}
	if steps == 0 {
		_, err := fmt.Fprintln(out, middleware.GenerateCookieKey().String())
		return err
	}
	current := strings.TrimSpace(getenv("QELOS_COOKIE_KEYS"))
	if current == "" {
		return errors.New("QELOS_COOKIE_KEYS is empty: give the keys in force, as in QELOS_COOKIE_KEYS=$CURRENT qelos-keys -add")
	}
	keys, err := middleware.ParseCookieKeys(current)
	if err != nil {
		return fmt.Errorf("QELOS_COOKIE_KEYS: %w", err)
	}
	sealing, acceptOnly := splitKeys(keys)
	var next []middleware.CookieKey
	switch {
	case *status:
		_, err := fmt.Fprintln(out, describe(sealing, acceptOnly))
		return err
	case *add:
		if len(acceptOnly) > 0 {
			return errors.New("QELOS_COOKIE_KEYS already holds an accept-only set: a rotation is under way; finish it with -promote once every replica runs this value")
		}
		fresh := middleware.GenerateCookieKey()
		fresh.AcceptOnly = true
		next = append(sealing, fresh)
	case *promote:
		if len(acceptOnly) != 1 {
			return fmt.Errorf("-promote needs exactly one accept-only set in QELOS_COOKIE_KEYS, found %d: start a rotation with -add", len(acceptOnly))
		}
		if *keep < 1 {
			return fmt.Errorf("-keep %d: keep at least the set in force, or cookies sealed with it stop opening and everybody is signed out", *keep)
		}
		promoted := acceptOnly[0]
		promoted.AcceptOnly = false
		next = append([]middleware.CookieKey{promoted}, sealing[:min(len(sealing), *keep)]...)
	case *retire:
		if len(acceptOnly) > 0 {
			return errors.New("QELOS_COOKIE_KEYS holds an accept-only set: -promote it (and deploy that) before retiring anything")
		}
		if len(sealing) == 1 {
			return errors.New("QELOS_COOKIE_KEYS holds one set only: nothing to retire")
		}
		next = sealing[:1]
	}
	sets := make([]string, len(next))
	for i, k := range next {
		sets[i] = k.String()
	}
	if _, err := fmt.Fprintln(out, strings.Join(sets, ",")); err != nil {
		return err
	}
	_, err = fmt.Fprintln(errOut, describe(splitKeys(next)))
	return err
}

func splitKeys(keys []middleware.CookieKey) (sealing, acceptOnly []middleware.CookieKey) {
	for _, k := range keys {
		if k.AcceptOnly {
			acceptOnly = append(acceptOnly, k)
		} else {
			sealing = append(sealing, k)
		}
	}
	return sealing, acceptOnly
}

// describe names the rotation step of a value and what to do next.
func describe(sealing, acceptOnly []middleware.CookieKey) string {
	switch {
	case len(acceptOnly) > 0:
		return "step 1 of 3 (added): the new set opens cookies but seals none. Deploy this value to every replica, then run -promote."
	case len(sealing) > 1:
		return fmt.Sprintf("step 2 of 3 (promoted): the first set seals; %d older set(s) still open cookies. Deploy this value to every replica; once the cookies sealed with the older sets have expired (the refresh token's lifetime, 30 days by default), run -retire.", len(sealing)-1)
	}
	return "steady: one key set seals and opens cookies. To rotate, run -add."
}
