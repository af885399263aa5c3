package conformance_test

import (
	"testing"

	"github.com/qelos-io/integrator-go/internal/conformance"
)

// TestNetHTTP holds plain net/http, the reference, to the conformance table.
func TestNetHTTP(t *testing.T) {
	conformance.Run(t, conformance.NetHTTP)
}
