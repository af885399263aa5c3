package qelostest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/qelos-io/integrator-go/internal/jsuri"
)

// errInvalidToken is returned by verify for every unusable token; callers
// never need to tell the reasons apart because the real server doesn't.
var errInvalidToken = errors.New("qelostest: invalid token")

// jwtHeader is the header jsonwebtoken writes for HS256.
var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

// sign encodes claims (in their order) as an HS256 JWT signed with secret.
func sign(claims object, secret string) (string, error) {
	payload, err := marshal(claims)
	if err != nil {
		return "", err
	}
	signing := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(payload)
	sig, err := jwt.SigningMethodHS256.Sign(signing, []byte(secret))
	if err != nil {
		return "", err
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// tokenClaims is what the server reads back from its access, cookie and
// refresh JWTs.
type tokenClaims struct {
	// Workspace is the raw claim: an object in access/cookie tokens, a
	// string id in refresh tokens.
	Workspace       json.RawMessage `json:"workspace"`
	Sub             string          `json:"sub"`
	Tenant          string          `json:"tenant"`
	Username        string          `json:"username"`
	Email           string          `json:"email"`
	Phone           string          `json:"phone"`
	FullName        string          `json:"fullName"`
	FirstName       string          `json:"firstName"`
	LastName        string          `json:"lastName"`
	Roles           []string        `json:"roles"`
	ProfileImage    string          `json:"profileImage"`
	TokenIdentifier string          `json:"tokenIdentifier"`
	Exp             json.Number     `json:"exp"`
}

// workspaceObject returns the workspace claim of an access or cookie token,
// compacted, or nil when there is none.
func (c *tokenClaims) workspaceObject() json.RawMessage {
	if len(c.Workspace) == 0 || c.Workspace[0] != '{' {
		return nil
	}
	var b bytes.Buffer
	if json.Compact(&b, c.Workspace) != nil {
		return nil
	}
	return b.Bytes()
}

// workspaceID returns the workspace id of a refresh token (a string claim)
// or of an access token (the _id of an object claim).
func (c *tokenClaims) workspaceID() string {
	var id string
	if json.Unmarshal(c.Workspace, &id) == nil {
		return id
	}
	var ws struct {
		ID string `json:"_id"`
	}
	if json.Unmarshal(c.Workspace, &ws) == nil {
		return ws.ID
	}
	return ""
}

var parser = jwt.NewParser(
	jwt.WithValidMethods([]string{"HS256", "HS384", "HS512"}),
	jwt.WithoutClaimsValidation(), // exp is checked against the server clock below
)

// verify checks token's signature against secret and its exp against the
// server clock, and returns its claims. Like jsonwebtoken, a token without
// exp never expires.
func (s *Server) verify(token, secret string) (*tokenClaims, error) {
	if token == "" || len(token) > 16<<10 {
		return nil, errInvalidToken
	}
	if _, err := parser.Parse(token, func(*jwt.Token) (any, error) { return []byte(secret), nil }); err != nil {
		return nil, errInvalidToken
	}
	parts := strings.Split(token, ".")
	payload, err := parser.DecodeSegment(parts[1])
	if err != nil {
		return nil, errInvalidToken
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var c tokenClaims
	if err := dec.Decode(&c); err != nil {
		return nil, errInvalidToken
	}
	if c.Exp != "" {
		exp, err := parseNumericDate(c.Exp)
		if err != nil || !s.now().Before(exp) {
			return nil, errInvalidToken
		}
	}
	return &c, nil
}

// expClaim returns the exp claim for a token issued at now with lifetime
// ttl. A whole number of seconds gives iat+ttl as an integer, exactly as
// jsonwebtoken does. Any other lifetime gives now+ttl with millisecond
// precision as a fractional JSON number (e.g. 1795747241.25), so that
// millisecond TTLs work in tests.
func expClaim(now time.Time, ttl time.Duration) json.Number {
	if ttl%time.Second == 0 {
		return json.Number(strconv.FormatInt(now.Unix()+int64(ttl/time.Second), 10))
	}
	ms := now.Add(ttl).UnixMilli()
	return json.Number(strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64))
}

// parseNumericDate reads a (possibly fractional) NumericDate with
// millisecond precision.
func parseNumericDate(n json.Number) (time.Time, error) {
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e15 {
		return time.Time{}, errInvalidToken
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e3))*int64(time.Millisecond)), nil
}

// newTokenIdentifier returns "<ms since epoch>:<base64 of a random decimal
// string>", the format of Qelos's getUniqueId.
func (s *Server) newTokenIdentifier() string {
	r := strconv.FormatFloat(rand.Float64(), 'f', -1, 64)
	return strconv.FormatInt(s.now().UnixMilli(), 10) + ":" + base64.StdEncoding.EncodeToString([]byte(r))
}

// identifierAge returns how old a token identifier is, and false when it
// has no readable timestamp.
func (s *Server) identifierAge(identifier string) (time.Duration, bool) {
	ms, _, ok := strings.Cut(identifier, ":")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return 0, false
	}
	return s.now().Sub(time.UnixMilli(n)), true
}

// claimOptions varies the claim set between the places that mint tokens.
type claimOptions struct {
	workspace  json.RawMessage // the workspace claim, nil for none
	noUsername bool            // workspace activation selects no username
	noEmail    bool            // sign-up tokens carry no email
	identifier string          // cookie tokens only
	parent     string          // OAuth refresh: identifier of the refresh token spent
	ttl        time.Duration
}

// sessionClaims builds the access/cookie claim set of u in the order the
// real server writes it.
func (s *Server) sessionClaims(u *userRecord, o claimOptions) object {
	now := s.now()
	c := object{}
	if o.workspace != nil {
		c = c.add("workspace", o.workspace)
	}
	c = c.add("sub", u.ID).add("tenant", u.tenant)
	if !o.noUsername {
		c = c.addString("username", u.Username)
	}
	if !o.noEmail {
		c = c.addString("email", u.Email)
	}
	c = c.addString("phone", u.Phone).
		addString("fullName", encodeIfNeeded(u.FullName)).
		addString("firstName", encodeIfNeeded(u.FirstName)).
		addString("lastName", encodeIfNeeded(u.LastName)).
		add("roles", nonNil(u.Roles)).
		addString("profileImage", u.ProfileImage).
		addString("tokenIdentifier", o.identifier).
		add("iat", now.Unix()).
		add("exp", expClaim(now, o.ttl))
	return c
}

// refreshClaims builds the refresh-token claim set.
func (s *Server) refreshClaims(u *userRecord, workspaceID, identifier string) object {
	now := s.now()
	c := object{{"sub", u.ID}, {"tenant", u.tenant}}
	c = c.addString("workspace", workspaceID)
	return c.add("tokenIdentifier", identifier).
		add("iat", now.Unix()).
		add("exp", expClaim(now, s.opts.RefreshTTL))
}

// workspaceClaim builds the workspace claim {_id, name (URI-encoded),
// roles, labels}.
func workspaceClaim(ws *workspaceRecord, roles []string) json.RawMessage {
	b, _ := marshal(membershipDocument(ws, roles).set("name", encodeIfNeeded(ws.name)))
	return b
}

// bareWorkspaceClaim is the claim the real server writes when it only knows
// the workspace id (after an OAuth refresh, after a social callback).
func bareWorkspaceClaim(id string) json.RawMessage {
	b, _ := marshal(object{{"_id", id}, {"name", ""}})
	return b
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// encodeIfNeeded URI-encodes s unless it already decodes to something
// different (i.e. is already encoded), like Qelos's encodeIfNeeded.
func encodeIfNeeded(s string) string {
	if d, ok := jsuri.Decode(s); ok && d != s {
		return s
	}
	return jsuri.Encode(s)
}

// decodeIfNeeded URI-decodes s, or returns it unchanged when it isn't a
// valid encoding.
func decodeIfNeeded(s string) string {
	if d, ok := jsuri.Decode(s); ok {
		return d
	}
	return s
}
