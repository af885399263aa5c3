package middleware

// One session identity. Every cookie pair this app issues carries a random
// session id, sealed into both of its cookies; a refresh and a workspace
// switch keep it. A pair whose halves disagree is refused, and sign-out
// revokes the id for the refresh token's whole life, so no mix of a
// signed-out session's cookies works again.

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"

	"github.com/qelos-io/integrator-go/refresh"
)

// sessionLife is how long Qelos's refresh tokens live ('30d', hard-coded in
// its auth service): a session id stays revoked at least this long after
// sign-out, whatever the refresh token presented at sign-out said.
const sessionLife = 30 * 24 * time.Hour

// newSessionID returns a fresh session id: 16 random bytes, base64url.
func newSessionID() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// legacySessionID is the id of a pair sealed before sessions had ids,
// derived from its refresh token: every replica, and every request racing
// to exchange that token, gives the session the same id, and a sign-out
// that meets the old pair revokes the id its successor would carry. An id
// is a name for revocation, not a credential: it need not be secret.
func legacySessionID(refreshTok string) string {
	sum := sha256.Sum256([]byte("qelos legacy session\x00" + refreshTok))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// sessionRevocation is the key under which a session id is revoked, in
// this process and in the shared store.
func sessionRevocation(sid string) string { return refresh.Key("session:" + sid) }

// legacySessionKey names a pair sealed before sessions had ids as the
// revocations recorded by earlier versions name it: its pair of tokens,
// hashed. Those revocations keep working for the life they were given.
func legacySessionKey(access, refreshTok string) string {
	return refresh.Key(access + "\x00" + refreshTok)
}

// Why a session's cookies are refused. Each clears the pair.
var (
	errSignedOut        = errors.New("session was signed out")
	errMixedPair        = errors.New("the session cookies belong to different sessions")
	errNoRefreshCookie  = errors.New("the access cookie came without its refresh cookie")
	errLegacyAccessOnly = errors.New("an access cookie sealed by an earlier version came without its refresh cookie")
)

// maxSessionBytes bounds the session's two cookies together as the browser
// sends them ("name=value; name=value"): whatever Qelos puts in names,
// labels or profile fields, a signed-in browser sends at most this many
// bytes of session cookies, well under the 8 KiB header limits of common
// proxies. A pair that would be larger is never written (qelos.ErrSessionTooLarge).
const maxSessionBytes = 4096

// Bounds on the display data sealed with a session (see boundWorkspace).
const (
	maxSealedName  = 128 // bytes of the workspace name, JSON-encoded
	maxSealedEntry = 64  // bytes of one role or label, JSON-encoded
	maxSealedList  = 256 // bytes of all roles, or all labels, JSON-encoded
	maxSealedID    = 64  // bytes of a workspace id (Qelos's are 24)
	maxSealedEmail = 254 // bytes of an email address (RFC 5321's bound)
)

// boundWorkspace returns the workspace as a session seals it: its id and
// the user's roles in it, with the display data bounded so the pair stays
// within maxSessionBytes whatever Qelos returns:
//
//   - the name is cut at a character boundary to at most 128 bytes once
//     JSON-encoded (128 ASCII characters);
//   - roles and labels keep their first entries while the list stays within
//     256 bytes JSON-encoded; an entry over 64 bytes is left out. Leaving a
//     role out only ever takes a permission away.
//
// A workspace whose id is over 64 bytes (Qelos's are 24) is no workspace.
// ws itself is not changed.
func boundWorkspace(ws *Workspace) *Workspace {
	if ws == nil {
		return nil
	}
	if len(ws.ID) > maxSealedID {
		return nil
	}
	b := &Workspace{ID: ws.ID, Name: cutEncoded(ws.Name, maxSealedName), Roles: boundList(ws.Roles), Labels: boundList(ws.Labels)}
	return b
}

// boundList keeps the entries of list that fit, in order.
func boundList(list []string) []string {
	if list == nil {
		return nil
	}
	out := make([]string, 0, len(list))
	total := 0
	for _, s := range list {
		n := encodedLen(s) + 1 // and its comma
		if n-1 > maxSealedEntry {
			continue
		}
		if total+n > maxSealedList {
			break
		}
		total += n
		out = append(out, s)
	}
	return out
}

// boundEmail is email when it is a plausible address length, else "".
func boundEmail(email string) string {
	if encodedLen(email) > maxSealedEmail {
		return ""
	}
	return email
}

// cutEncoded returns the longest prefix of s, at a character boundary,
// whose JSON encoding is at most max bytes.
func cutEncoded(s string, max int) string {
	n := 0
	for i, r := range s {
		w := runeEncodedLen(r, s[i:])
		if n+w > max {
			return s[:i]
		}
		n += w
	}
	return s
}

// encodedLen is the length of s inside a JSON string as encoding/json
// writes it (its quotes not counted).
func encodedLen(s string) int {
	n := 0
	for i, r := range s {
		n += runeEncodedLen(r, s[i:])
	}
	return n
}

// runeEncodedLen is how many bytes encoding/json writes for r, the first
// rune of rest: HTML-sensitive and control characters and the line
// separators are escaped as \uXXXX, an invalid byte as \ufffd.
func runeEncodedLen(r rune, rest string) int {
	switch {
	case r == '"' || r == '\\' || r == '\n' || r == '\r' || r == '\t':
		return 2
	case r < 0x20 || r == '<' || r == '>' || r == '&' || r == '\u2028' || r == '\u2029':
		return 6
	case r == '\uFFFD' && (len(rest) < 3 || rest[:3] != "\uFFFD"):
		return 6 // an invalid byte
	case r < 0x80:
		return 1
	case r < 0x800:
		return 2
	case r < 0x10000:
		return 3
	}
	return 4
}
