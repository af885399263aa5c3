package main

import (
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/qelos-io/integrator-go/internal/exampletest"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
)

func init() { gin.SetMode(gin.TestMode) }

func TestContract(t *testing.T) {
	q := qelostest.New(qelostest.Options{})
	t.Cleanup(q.Close)
	url := exampletest.Start(t, run, map[string]string{
		"QELOS_APP_URL":     q.URL,
		"QELOS_COOKIE_KEYS": middleware.GenerateCookieKey().String(),
		"QELOS_JWT_SECRET":  q.Secret(),
	})
	exampletest.Contract(t, url, q)
}

func TestContractWithEphemeralKeys(t *testing.T) {
	q := qelostest.New(qelostest.Options{})
	t.Cleanup(q.Close)
	exampletest.Contract(t, exampletest.Start(t, run, map[string]string{"QELOS_APP_URL": q.URL}), q)
}

func TestStartupErrors(t *testing.T) {
	q := qelostest.New(qelostest.Options{})
	t.Cleanup(q.Close)
	exampletest.StartupErrors(t, run, q.URL)
}
