package middleware

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
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

// accessClaims is the claim set of a Qelos access (and cookie) token.
type accessClaims struct {
	jwt.RegisteredClaims
	Tenant       string          `json:"tenant"`
	Username     string          `json:"username"`
	Email        string          `json:"email"`
	Phone        string          `json:"phone"`
	Name         string          `json:"name"`
	FullName     string          `json:"fullName"`
	FirstName    string          `json:"firstName"`
	LastName     string          `json:"lastName"`
	ProfileImage string          `json:"profileImage"`
	Roles        []string        `json:"roles"`
	Workspace    *claimWorkspace `json:"workspace"`
}

type claimWorkspace struct {
	ID     string   `json:"_id"`
	Name   string   `json:"name"`
	Roles  []string `json:"roles"`
	Labels []string `json:"labels"`
}

// tokenReader reads Qelos tokens with the algorithm pinned. With a secret it
// verifies HS256 signatures; without one, the caller vouches for the token
// (it came out of a cookie this app sealed, from Qelos over TLS).
type tokenReader struct {
	secret []byte // nil: do not verify signatures
	tenant string // every access token must carry it
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
// reject).
func (tr *tokenReader) readAccess(token string) (accessToken, error) {
	var c accessClaims
	if err := tr.parse(token, &c, tr.secret != nil); err != nil {
		return accessToken{}, err
	}
	if c.ExpiresAt == nil {
		return accessToken{}, errTokenNoExpiry
	}
	if c.Subject == "" {
		return accessToken{}, errTokenNoSubject
	}
	if c.Tenant != tr.tenant {
		return accessToken{}, errTokenTenant
	}
	if c.NotBefore != nil && tr.now().Add(tr.leeway).Before(c.NotBefore.Time) {
		return accessToken{}, errTokenNotYet
	}
	u := &User{
		ID:           c.Subject,
		Tenant:       c.Tenant,
		Username:     c.Username,
		Email:        c.Email,
		Phone:        c.Phone,
		Name:         decodeIfNeeded(c.Name),
		FirstName:    decodeIfNeeded(c.FirstName),
		LastName:     decodeIfNeeded(c.LastName),
		FullName:     decodeIfNeeded(c.FullName),
		ProfileImage: c.ProfileImage,
		Roles:        c.Roles,
	}
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
	if w := c.Workspace; w != nil && w.ID != "" {
		u.Workspace = &Workspace{ID: w.ID, Name: decodeIfNeeded(w.Name), Roles: w.Roles, Labels: w.Labels}
	}
	t := accessToken{user: u, expires: c.ExpiresAt.Time}
	if c.IssuedAt != nil {
		t.issued = c.IssuedAt.Time
	}
	return t, nil
}

// readExpiry returns a token's exp without verifying its signature (a
// refresh token is signed with a secret only Qelos holds). The algorithm is
// still pinned. A token without exp reports the zero time.
func (tr *tokenReader) readExpiry(token string) (time.Time, error) {
	var c jwt.RegisteredClaims
	if err := tr.parse(token, &c, false); err != nil {
		return time.Time{}, err
	}
	if c.ExpiresAt == nil {
		return time.Time{}, nil
	}
	return c.ExpiresAt.Time, nil
}

func (tr *tokenReader) parse(token string, claims jwt.Claims, verify bool) error {
	if len(token) > maxTokenSize {
		return errTokenTooLarge
	}
	if verify {
		_, err := tr.parser.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return tr.secret, nil })
		return err
	}
	t, _, err := tr.parser.ParseUnverified(token, claims)
	if err != nil {
		return err
	}
	if alg := t.Method.Alg(); alg != qelosAlg {
		return fmt.Errorf("token algorithm %q is not %s", alg, qelosAlg)
	}
	return nil
}
