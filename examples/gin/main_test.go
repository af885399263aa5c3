package main

import (
	"testing"

	"github.com/qelos-io/integrator-go/internal/exampletest"
)

// TestExample starts this program against qelostest and drives the
// examples contract over HTTP (see exampletest.Suite).
func TestExample(t *testing.T) { exampletest.Suite(t, run) }
