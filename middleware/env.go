package middleware

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// ConfigFromEnv reads a Config from the environment, with the variable names
// the Node and Python Qelos integrators use plus this package's own:
//
//	QELOS_APP_URL       Config.AppURL (required)
//	QELOS_COOKIE_KEYS   Config.CookieKeys (required), see ParseCookieKeys;
//	                    generate one with go run
//	                    github.com/qelos-io/integrator-go/cmd/qelos-keys
//	QELOS_JWT_SECRET    Config.JWTSecret
//	QELOS_TENANT        Config.Tenant (default "0")
//	QELOS_INSECURE_COOKIES Config.Cookie.Secure = SecureNever when "true"/"1":
//	                    plain-http development on a host other than localhost
//	QELOS_API_TOKEN     Config.APIToken
//	QELOS_REQUIRE_AUTH  Config.RequireAuth: "true"/"1" or "false"/"0"
//	QELOS_DISABLE_PROXY Config.Proxy.Disable: "true"/"1" or "false"/"0"
//	QELOS_PASSTHROUGH   Config.Proxy.Passthrough: "true"/"1" or "false"/"0"; see
//	                    its doc for the cookie-tossing trade-off
//	QELOS_SKIP_PATHS    Config.SkipPaths: comma-separated, trimmed, empties dropped
//
//	QELOS_PROXY_TARGET, QELOS_IP, QELOS_API_IP
//	                    Config.Proxy.Target: the first that is not blank,
//	                    trimmed (the rule of the Node and Python integrators)
//
// QELOS_REDIS_URL is read by the separate
// refresh/redisstore module (redisstore.NewFromEnv), whose Store goes in
// Config.Refresh.Store: this package does not link a Redis client.
//
// The errors name the variable, the expected format and the fix; every
// problem is reported at once (errors.Join). Fields the environment does
// not cover keep their zero value, for New to default. An unset or blank
// QELOS_COOKIE_KEYS is an error, so that a Config without error always
// holds at least one key (cfg.CookieKeys[0] is safe to index): replicas
// that silently generated keys of their own could not open each other's
// cookies. A development server that accepts losing its sessions on
// restart may set the variable itself before calling ConfigFromLookup,
// as the examples do, to GenerateCookieKey().String().
func ConfigFromEnv() (Config, error) { return ConfigFromLookup(os.Getenv) }

// ConfigFromLookup is ConfigFromEnv reading the variables through getenv
// (such as os.Getenv, or a map's lookup in a test).
func ConfigFromLookup(getenv func(string) string) (Config, error) {
	var c Config
	var errs []error
	c.AppURL = strings.TrimSpace(getenv("QELOS_APP_URL"))
	if c.AppURL == "" {
		errs = append(errs, errors.New("QELOS_APP_URL is required: set it to your Qelos app URL, such as https://app.qelos.example"))
	}
	if v := getenv("QELOS_COOKIE_KEYS"); strings.TrimSpace(v) == "" {
		errs = append(errs, errNoCookieKeysEnv)
	} else if keys, err := ParseCookieKeys(v); err != nil {
		errs = append(errs, fmt.Errorf("QELOS_COOKIE_KEYS: %w", err))
	} else {
		c.CookieKeys = keys
	}
	for _, name := range []string{"QELOS_PROXY_TARGET", "QELOS_IP", "QELOS_API_IP"} {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			c.Proxy.Target = v
			break
		}
	}
	c.JWTSecret = getenv("QELOS_JWT_SECRET")
	c.Tenant = strings.TrimSpace(getenv("QELOS_TENANT"))
	c.APIToken = strings.TrimSpace(getenv("QELOS_API_TOKEN"))
	var err error
	if c.RequireAuth, err = envBool(getenv, "QELOS_REQUIRE_AUTH"); err != nil {
		errs = append(errs, err)
	}
	if c.Proxy.Disable, err = envBool(getenv, "QELOS_DISABLE_PROXY"); err != nil {
		errs = append(errs, err)
	}
	if c.Proxy.Passthrough, err = envBool(getenv, "QELOS_PASSTHROUGH"); err != nil {
		errs = append(errs, err)
	}
	c.SkipPaths = splitList(getenv("QELOS_SKIP_PATHS"))
	insecure, err := envBool(getenv, "QELOS_INSECURE_COOKIES")
	if err != nil {
		errs = append(errs, err)
	} else if insecure {
		c.Cookie.Secure = SecureNever
	}
	return c, errors.Join(errs...)
}

// errNoCookieKeysEnv says how to fix an unset QELOS_COOKIE_KEYS.
var errNoCookieKeysEnv = errors.New("QELOS_COOKIE_KEYS is required: generate a key set with `go run github.com/qelos-io/integrator-go/cmd/qelos-keys` " +
	"(or middleware.GenerateCookieKey().String()), keep it secret and give every replica the same value")

func envBool(getenv func(string) string, name string) (bool, error) {
	switch v := strings.ToLower(strings.TrimSpace(getenv(name))); v {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	default:
		return false, fmt.Errorf("%s=%q: expected true, 1, false or 0", name, v)
	}
}

// splitList splits a comma-separated list, trimming items and dropping
// empty ones.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
