package redisstore_test

import (
	"context"
	"log"
	"os"

	"github.com/qelos-io/integrator-go/refresh"
	"github.com/qelos-io/integrator-go/refresh/redisstore"
)

// Every replica of the app builds the same Coordinator on a Store over the
// shared Redis, with the same Secret (here, the app's cookie key). A storm of
// requests with one expired pair then costs one call to Qelos in total.
func Example() {
	store, err := redisstore.NewFromURL(os.Getenv("REDIS_URL"), redisstore.Options{
		Secret: []byte(os.Getenv("COOKIE_SECRET")), // at least 16 bytes, same on every replica
	})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	tokens := refresh.NewCoordinator(&refresh.Client{BaseURL: "https://app.qelos.example"}, refresh.Options{
		Store: store, // Redis trouble degrades to per-process coordination
	})

	// In a request handler, with the refresh token from the request's cookie:
	pair, err := tokens.Refresh(context.Background(), "refresh-token-from-cookie")
	switch {
	case refresh.IsDefinitive(err):
		// Qelos rejected the token: sign the user out.
	case err != nil:
		// Transient: keep the cookies, answer 503 or retry later.
	default:
		_ = pair // set the new cookies
	}
}
