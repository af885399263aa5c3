package middleware

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/qelos-io/integrator-go/internal/wire"
)

// maxTokenSize caps a token before it is parsed. Qelos tokens are under
// 1 KiB, but an access token carries the user's names, which Qelos does not
// bound: 16 KiB holds names thousands of characters long.
const maxTokenSize = 16 << 10

// The algorithm Qelos signs with (jsonwebtoken's default). Nothing else is
// accepted, signed or not: alg "none" and RS/HS confusion are rejected
// before any claim is read.
const qelosAlg = "HS256"

var (
	errTokenTooLarge  = errors.New("token larger than 8 KiB")
	errTokenNoExpiry  = errors.New("token has no exp claim")
	errTokenNoSubject = errors.New("token has no sub claim")
	errTokenNotYet    = errors.New("token is not valid yet (nbf)")
	errTokenTenant    = errors.New("token is of another tenant than Config.Tenant")
)

// claims is a token's claim set, read with its names matched exactly.
// encoding/json matches struct fields in any case, so a token carrying
// "tenant":"999" and "TENANT":"0" would read as tenant 0 through a
// struct; Qelos (jsonwebtoken, JSON.parse) reads only "tenant". The
// registered dates are JSON numbers only: an "exp" written as a string is
// no expiry Qelos would honour, so the token is refused.
type claims jwt.MapClaims

var errClaimType = errors.New("claim has the wrong JSON type")

// str returns a string claim; absent or null is "".
func (c claims) str(name string) (string, error) {
	switch v := c[name].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	}
	return "", fmt.Errorf("%w: %q is not a string", errClaimType, name)
}

// strs returns a claim that is an array of strings; absent or null is nil.
func (c claims) strs(name string) ([]string, error) {
	switch v := c[name].(type) {
	case nil:
		return nil, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%w: %q holds a non-string", errClaimType, name)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: %q is not an array", errClaimType, name)
}

// date returns a NumericDate claim (exp, nbf, iat); absent or null is the
// zero time. Only a JSON number is a date.
func (c claims) date(name string) (time.Time, error) {
	switch v := c[name].(type) {
	case nil:
		return time.Time{}, nil
	case json.Number:
		f, err := v.Float64()
		if err != nil || math.IsInf(f, 0) || math.Abs(f) > 1<<53 {
			return time.Time{}, fmt.Errorf("%w: %q is not a usable date", errClaimType, name)
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)), nil
	}
	return time.Time{}, fmt.Errorf("%w: %q is not a JSON number", errClaimType, name)
}

// workspaceClaims names the members of the workspace claim.
var workspaceClaims = [...]string{"_id", "name", "roles", "labels"}

// workspace returns the workspace claim, an object {_id, name, roles,
// labels}; absent or null is nil.
func (c claims) workspace() (*Workspace, error) {
	switch v := c["workspace"].(type) {
	case nil:
		return nil, nil
	case map[string]any:
		w := claims(v)
		id, idErr := w.str("_id")
		name, nameErr := w.str("name")
		roles, rolesErr := w.strs("roles")
		labels, labelsErr := w.strs("labels")
		if err := errors.Join(idErr, nameErr, rolesErr, labelsErr); err != nil {
			return nil, err
		}
		return newWorkspace(id, name, roles, labels), nil
	}
	return nil, fmt.Errorf("%w: \"workspace\" is not an object", errClaimType)
}

// newWorkspace is the workspace a token's claim names; an empty id is none.
func newWorkspace(id, name string, roles, labels []string) *Workspace {
	if id == "" {
		return nil
	}
	return &Workspace{ID: id, Name: wire.DecodeName(name), Roles: roles, Labels: labels}
}

// tokenReader reads Qelos tokens with the algorithm pinned. With a secret it
// verifies HS256 signatures; without one, the caller vouches for the token
// (it came out of a cookie this app sealed, from Qelos over TLS).
type tokenReader struct {
	secret []byte   // nil: do not verify signatures
	macs   *macPool // HMAC states keyed with secret, for readFast
	tenant string   // every access token must carry it
	parser *jwt.Parser
	leeway time.Duration
	now    func() time.Time
}

func newTokenReader(secret, tenant string, leeway time.Duration, now func() time.Time) *tokenReader {
	tr := &tokenReader{tenant: tenant, leeway: leeway, now: now, parser: jwt.NewParser(
		jwt.WithValidMethods([]string{qelosAlg}),
		jwt.WithoutClaimsValidation(), // expiry is decided by the caller: expired means refresh
		jwt.WithJSONNumber(),
	)}
	if secret != "" {
		tr.secret = []byte(secret)
		tr.macs = newMacPool(tr.secret)
	}
	return tr
}

// accessToken is what an access token says.
type accessToken struct {
	user    *User
	issued  time.Time // zero when the token has no iat
	expires time.Time
}

// readAccess parses an access token into the user it names and its
// lifetime. It checks the algorithm, the signature when a secret is
// configured, that sub and exp are present and that the tenant is the
// app's; it does not reject an expired token (expired means refresh, not
// reject). Claims are read by their exact names (see claims); the common
// token by hand (see tokenfast.go), any other through jwt/v5.
func (tr *tokenReader) readAccess(token string) (accessToken, error) {
	if len(token) > maxTokenSize {
		return accessToken{}, errTokenTooLarge
	}
	c, ok := tr.readFast(token, tr.secret != nil)
	if !ok {
		m, err := tr.parse(token, tr.secret != nil)
		if err != nil {
			return accessToken{}, err
		}
		if c, err = m.read(); err != nil {
			return accessToken{}, err
		}
	}
	return tr.access(c)
}

// read reads the claims an access token is read for.
func (c claims) read() (fastClaims, error) {
	var f fastClaims
	var errs [len(accessClaims)]error
	for i, name := range accessClaims {
		switch {
		case i < claimSub:
			f.dates[i], errs[i] = c.date(name)
		case i < claimRoles:
			f.strs[i-claimSub], errs[i] = c.str(name)
		case i == claimRoles:
			f.roles, errs[i] = c.strs(name)
		default:
			f.ws, errs[i] = c.workspace()
		}
	}
	return f, errors.Join(errs[:]...)
}

// access checks the claims c of an access token and builds what it says.
func (tr *tokenReader) access(c fastClaims) (accessToken, error) {
	switch {
	case c.date(claimExp).IsZero():
		return accessToken{}, errTokenNoExpiry
	case c.str(claimSub) == "":
		return accessToken{}, errTokenNoSubject
	case c.str(claimTenant) != tr.tenant:
		return accessToken{}, errTokenTenant
	case !c.date(claimNbf).IsZero() && tr.now().Add(tr.leeway).Before(c.date(claimNbf)):
		return accessToken{}, errTokenNotYet
	}
	u := &User{ID: c.str(claimSub), Tenant: c.str(claimTenant), Username: c.str(claimUsername), Email: c.str(claimEmail),
		Phone: c.str(claimPhone), Name: wire.DecodeName(c.str(claimName)), FirstName: wire.DecodeName(c.str(claimFirstName)),
		LastName: wire.DecodeName(c.str(claimLastName)), FullName: wire.DecodeName(c.str(claimFullName)), ProfileImage: c.str(claimProfileImage)}
	u.Roles = c.roles
	// Qelos's /api/me derives fullName and name from the first and last
	// name when the profile has none; do the same so the user reads alike.
	if u.FullName == "" && (u.FirstName != "" || u.LastName != "") {
		u.FullName = strings.TrimSpace(u.FirstName + " " + u.LastName)
	}
	if u.Name == "" {
		u.Name = u.FullName
	}
	if u.Roles == nil {
		u.Roles = []string{}
	}
	u.Workspace = c.ws
	return accessToken{user: u, expires: c.date(claimExp), issued: c.date(claimIat)}, nil
}

// readExpiry returns a token's exp without verifying its signature (a
// refresh token is signed with a secret only Qelos holds). The algorithm is
// still pinned, and exp must be a JSON number. A token without exp reports
// the zero time.
func (tr *tokenReader) readExpiry(token string) (time.Time, error) {
	if len(token) <= maxTokenSize {
		if c, ok := tr.readFast(token, false); ok {
			return c.date(claimExp), nil
		}
	}
	c, err := tr.parse(token, false)
	if err != nil {
		return time.Time{}, err
	}
	return c.date("exp")
}

// parse checks token's algorithm (and, when verify, its signature) and
// returns its claims.
func (tr *tokenReader) parse(token string, verify bool) (claims, error) {
	if len(token) > maxTokenSize {
		return nil, errTokenTooLarge
	}
	c := jwt.MapClaims{}
	if verify {
		if _, err := tr.parser.ParseWithClaims(token, c, func(*jwt.Token) (any, error) { return tr.secret, nil }); err != nil {
			return nil, err
		}
		return claims(c), nil
	}
	t, _, err := tr.parser.ParseUnverified(token, c)
	if err != nil {
		return nil, err
	}
	if alg := t.Method.Alg(); alg != qelosAlg {
		return nil, fmt.Errorf("token algorithm %q is not %s", alg, qelosAlg)
	}
	return claims(c), nil
}
