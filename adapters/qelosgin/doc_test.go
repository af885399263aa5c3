package qelosgin_test

import (
	"testing"

	"github.com/qelos-io/integrator-go/internal/doccheck"
)

// TestDocShowsEverySignature: the package comment lists every exported
// function with its signature, so a reader sees every return value.
func TestDocShowsEverySignature(t *testing.T) { doccheck.Signatures(t, ".") }
