// Command qelos-keys prints a fresh QELOS_COOKIE_KEYS value: a key set of
// a 32-byte HMAC hash key and a 32-byte AES-256 block key, in the format
// middleware.ParseCookieKeys reads ("HASH:BLOCK", base64).
//
//	export QELOS_COOKIE_KEYS=$(go run github.com/qelos-io/integrator-go/cmd/qelos-keys)
//
// With -rotate it reads the keys in force from QELOS_COOKIE_KEYS and prints
// a fresh set followed by them ("NEW,CURRENT,…"): new cookies are sealed
// with the new set while cookies sealed with the old ones still open, so
// nobody is signed out. Deploy it to every replica, and drop the old sets
// once their cookies have expired (the refresh token's lifetime, 30 days
// by default); -keep bounds how many old sets are kept.
//
//	QELOS_COOKIE_KEYS=$(QELOS_COOKIE_KEYS=$CURRENT go run github.com/qelos-io/integrator-go/cmd/qelos-keys -rotate)
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

// run prints a fresh QELOS_COOKIE_KEYS value to out, or with -rotate a
// rotated one made from getenv("QELOS_COOKIE_KEYS").
func run(args []string, getenv func(string) string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("qelos-keys", flag.ContinueOnError)
	fs.SetOutput(errOut)
	rotate := fs.Bool("rotate", false, "put a fresh key set before the ones in QELOS_COOKIE_KEYS")
	keep := fs.Int("keep", 2, "with -rotate, the most old key sets to keep after the new one")
	fs.Usage = func() {
		fmt.Fprintln(errOut, "usage: qelos-keys [-rotate [-keep N]]\n\nPrints a fresh QELOS_COOKIE_KEYS value; with -rotate, a fresh set followed by the sets in QELOS_COOKIE_KEYS.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: keys are read from QELOS_COOKIE_KEYS, never from the command line", fs.Arg(0))
	}
	sets := []string{middleware.GenerateCookieKey().String()}
	if *rotate {
		if *keep < 1 {
			return fmt.Errorf("-keep %d: keep at least the set in force, or cookies sealed with it stop opening and everybody is signed out", *keep)
		}
		current := strings.TrimSpace(getenv("QELOS_COOKIE_KEYS"))
		if current == "" {
			return errors.New("-rotate needs the keys in force in QELOS_COOKIE_KEYS: QELOS_COOKIE_KEYS=$CURRENT qelos-keys -rotate")
		}
		old, err := middleware.ParseCookieKeys(current)
		if err != nil {
			return fmt.Errorf("QELOS_COOKIE_KEYS: %w", err)
		}
		for _, k := range old[:min(len(old), *keep)] {
			sets = append(sets, k.String())
		}
	}
	_, err := fmt.Fprintln(out, strings.Join(sets, ","))
	return err
}
