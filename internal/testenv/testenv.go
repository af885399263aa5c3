// Package testenv decides what a test does when a service it needs (a
// redis-server, a Chromium) is missing from the machine.
package testenv

import (
	"os"
	"testing"
)

// RequireServicesEnv is set by the README's test command (scripts/test.sh),
// which installs every service: there, a missing one is a failure, so that
// CI can never pass by skipping.
const RequireServicesEnv = "QELOS_TEST_REQUIRE_SERVICES"

// Missing reports that a service the test needs is absent: the test skips
// with msg (which should say how to run it), or fails under the README's
// test command.
func Missing(tb testing.TB, msg string) {
	tb.Helper()
	if os.Getenv(RequireServicesEnv) != "" {
		tb.Fatalf("%s (required: %s is set)", msg, RequireServicesEnv)
	}
	tb.Skip(msg)
}
