package middleware

// The compact format of the access cookie. The library owns its cookie
// format, so the access cookie carries, beside its token, what the
// middleware reads from that token (the user, the session's workspace, the
// token's lifetime), already parsed and checked when the pair was sealed,
// and a digest of the refresh cookie sealed beside it. Opening a session
// never seen before is then one securecookie open (HMAC-SHA256, AES-CTR,
// base64) and the hand-written decode below: no JWT parse, no JSON, no
// reflection.
//
// The plaintext, after its version byte, is fixed fields and then strings,
// each a uvarint length and its bytes:
//
//	0x02 | refresh digest [16] | exp unix ns [8] | iat unix ns [8] | flags [1]
//	| session id | token (flags&2: its three JWT parts, base64url-decoded)
//	| user: id tenant username email phone name
//	  firstName lastName fullName profileImage | roles (uvarint count, strings)
//	| workspace, when flags&1: id name roles labels
//
// The decoded strings are substrings of the opened plaintext (one
// allocation that the session then keeps), so a cached session holds one
// buffer, not a dozen. Cookies of earlier formats (JSON, starting '{') are
// still opened; a session that does not fit maxSessionBytes with its
// identity beside the token is sealed as before (the token alone).

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unsafe"

	qelos "github.com/qelos-io/integrator-go"
)

// compactVersion starts an access cookie in the compact format. A JSON
// cookie starts with '{'.
const compactVersion = 0x02

// digestLen is how many bytes of the pair digest the access cookie
// carries: 128 bits tie the halves of a pair together.
const digestLen = 16

// macTailLen is how many characters at the end of a sealed value the pair
// digest covers: they encode (at least 31 bytes of) its HMAC-SHA256.
const macTailLen = 44

const (
	hasWorkspace = 1
	// rawToken: the token is sealed as its three JWT parts decoded from
	// base64url (a quarter smaller, and the cookie with it), which
	// re-encode to the very token.
	rawToken = 2
)

// maxSessionPlaintext bounds the plaintext of a session cookie within
// maxSessionBytes; a scratch buffer grown beyond twice it is let go.
const maxSessionPlaintext = maxSessionBytes

var errCompact = errors.New("compact session cookie is malformed")

// pairDigest is the digest of a sealed refresh cookie, as the access cookie
// sealed beside it records it: a SHA-256 of the refresh cookie's MAC (its
// last characters). Nobody can present that MAC without holding that very
// refresh cookie (it is not in the access cookie, which holds only its
// hash, readable when there is no block key), and the refresh cookie is
// opened and verified whole before its token is ever used (at refresh).
// Hashing the MAC rather than the whole cookie keeps the cold path at one
// SHA-256 block.
func pairDigest(refreshCookie string) [digestLen]byte {
	tail := refreshCookie
	if len(tail) > macTailLen {
		tail = tail[len(tail)-macTailLen:]
	}
	var buf [len(pairDigestDomain) + macTailLen]byte
	n := copy(buf[:], pairDigestDomain)
	n += copy(buf[n:], tail)
	sum := sha256.Sum256(buf[:n])
	var d [digestLen]byte
	copy(d[:], sum[:])
	return d
}

const pairDigestDomain = "qelos session pair\x00"

// openAccess opens the access cookie value, sealed beside refreshCookie.
// A compact one sealed beside that very refresh cookie comes back with
// c.paired set and its session's keys set (setKeys): opened, checked and
// ready to cache, with nothing more to read.
//
// The plaintext is opened into a buffer reused across requests: what the
// session keeps is copied out of it (detach), and its token is kept only
// when the pair must be read whole (not paired).
func (j *cookieJar) openAccess(value, refreshCookie, tag string) (v sealed, c compactSession, err error) {
	bp, _ := j.scratch.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	defer j.scratch.Put(bp)
	if v, c, err = j.openInto(bp, j.access, value); err != nil || c.auth == nil {
		return v, c, err
	}
	if c.paired = refreshCookie != "" && c.matches(refreshCookie); c.paired {
		c.setKeys(c.auth, v.Session, tag)
		v.Token = "" // in the scratch buffer; the cached session keeps none
	} else {
		v.Token = strings.Clone(c.token(v)) // out of the scratch buffer
	}
	return v, c, nil
}

// openCompact is open, also returning the session read from an access
// cookie in the compact format; its zero value for one sealed as JSON.
func (j *cookieJar) openCompact(n cookieName, value string) (v sealed, c compactSession, err error) {
	return j.openInto(nil, n, value)
}

// openInto is openCompact, opening the plaintext into *scratch (nil: a
// fresh slice, which the strings returned point into). With a scratch
// buffer, only the token of a compact cookie still points into it.
func (j *cookieJar) openInto(scratch *[]byte, n cookieName, value string) (v sealed, c compactSession, err error) {
	if len(value) > maxCookieSize {
		return v, c, errors.New("cookie larger than 24 KiB")
	}
	var p []byte
	if scratch != nil {
		p, err = j.opener.OpenAppend((*scratch)[:0], n.mac, value)
		if cap(p) <= 2*maxSessionPlaintext {
			*scratch = p[:0]
		}
	} else {
		p, err = j.opener.Open(n.mac, value)
	}
	if err != nil {
		return v, c, err
	}
	if len(p) > 0 && p[0] == compactVersion {
		if v, c, err = decodeCompact(p); err == nil && scratch == nil {
			v.Token = c.token(v)
		}
		return v, c, err
	}
	if err := json.Unmarshal(p, &v); err != nil {
		return v, c, err
	}
	if v.Token == "" {
		return v, c, errors.New("cookie holds no token")
	}
	return v, c, nil
}

// compactSession is an access cookie opened from the compact format; its
// zero value (auth nil) stands for one sealed as JSON.
type compactSession struct {
	digest  [digestLen]byte
	expires time.Time
	issued  time.Time
	// auth is the session's Auth, its User and Workspace set (the
	// workspace is the session's, by sessionWorkspace, and the email the
	// sealed one for a token that names none), Privileged not yet.
	auth  *Auth
	block *compactBlock
	// paired is set by openAccess: the cookie was sealed beside the
	// refresh cookie it came with.
	paired bool
	// raw holds the token's decoded JWT parts, in the plaintext, when it
	// was sealed so (flags&rawToken); see token.
	raw [3]string
}

// matches reports whether the access cookie was sealed beside refreshCookie.
func (c *compactSession) matches(refreshCookie string) bool {
	d := pairDigest(refreshCookie)
	return subtle.ConstantTimeCompare(d[:], c.digest[:]) == 1
}

// encodeCompact appends the compact access cookie of a session to b: its
// id, token, the token read (t), the user as the session sees it (u) and
// the digest of the refresh cookie sealed beside it.
func encodeCompact(b []byte, sid, token string, t accessToken, u *User, digest [digestLen]byte) []byte {
	b = append(b, compactVersion)
	b = append(b, digest[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(t.expires.UnixNano()))
	var iat int64
	if !t.issued.IsZero() {
		iat = t.issued.UnixNano()
	}
	b = binary.BigEndian.AppendUint64(b, uint64(iat))
	var flags byte
	if u.Workspace != nil {
		flags |= hasWorkspace
	}
	parts, raw := jwtParts(token)
	if raw {
		flags |= rawToken
	}
	b = append(b, flags)
	b = appendString(b, sid)
	if raw {
		for _, part := range parts {
			b = binary.AppendUvarint(b, uint64(base64.RawURLEncoding.DecodedLen(len(part))))
			b, _ = base64.RawURLEncoding.AppendDecode(b, []byte(part))
		}
	} else {
		b = appendString(b, token)
	}
	for _, s := range [...]string{u.ID, u.Tenant, u.Username, u.Email, u.Phone, u.Name, u.FirstName, u.LastName, u.FullName, u.ProfileImage} {
		b = appendString(b, s)
	}
	b = appendStrings(b, u.Roles)
	if ws := u.Workspace; ws != nil {
		b = appendString(b, ws.ID)
		b = appendString(b, ws.Name)
		b = appendStrings(b, ws.Roles)
		b = appendStrings(b, ws.Labels)
	}
	return b
}

// jwtParts splits a JWT into its three parts, and reports whether each
// decodes from unpadded base64url and encodes back to itself (so the
// decoded parts give back the very token).
func jwtParts(token string) (parts [3]string, ok bool) {
	rest := token
	for i := range parts {
		if i < 2 {
			var found bool
			if parts[i], rest, found = strings.Cut(rest, "."); !found {
				return parts, false
			}
		} else {
			parts[i] = rest
		}
		p := parts[i]
		if p == "" || len(p)%4 == 1 || strings.ContainsAny(p, ".=") {
			return parts, false
		}
		d, err := base64.RawURLEncoding.DecodeString(p)
		if err != nil || base64.RawURLEncoding.EncodeToString(d) != p {
			return parts, false
		}
	}
	return parts, true
}

// token is the access token of a compact cookie, as it was sealed: built
// again from its parts when they were sealed decoded (a fresh string).
func (c *compactSession) token(v sealed) string {
	if c.raw[0] == "" && v.Token != "" {
		return v.Token
	}
	enc := base64.RawURLEncoding
	b := make([]byte, 0, enc.EncodedLen(len(c.raw[0]))+enc.EncodedLen(len(c.raw[1]))+enc.EncodedLen(len(c.raw[2]))+2)
	for i, part := range c.raw {
		if i > 0 {
			b = append(b, '.')
		}
		b = enc.AppendEncode(b, []byte(part))
	}
	return string(b)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendStrings(b []byte, list []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(list)))
	for _, s := range list {
		b = appendString(b, s)
	}
	return b
}

// compactBlock is the one allocation a decoded session's structure takes,
// its revocation key and pair tag included.
type compactBlock struct {
	auth       Auth
	user       User
	ws         Workspace
	revocation [2 * sha256.Size]byte
	tag        [pairTagLen]byte
}

// sessionKeys sets a's revocation key (sessionRevocation of sid) and pair
// tag (pairTag of refreshCookie), in its block when a was decoded from the
// compact format (nothing to allocate), else as strings of their own.
func (c *compactSession) setKeys(a *Auth, sid, tag string) {
	if c.block == nil {
		a.session, a.pairTag = sessionRevocation(sid), strings.Clone(tag)
		return
	}
	b := c.block
	var in [len("session:") + 64]byte
	if len(sid) > len(in)-len("session:") {
		a.session, a.pairTag = sessionRevocation(sid), strings.Clone(tag)
		return
	}
	n := copy(in[:], "session:")
	n += copy(in[n:], sid)
	sum := sha256.Sum256(in[:n])
	hex.Encode(b.revocation[:], sum[:])
	t := copy(b.tag[:], tag)
	a.session = unsafe.String(&b.revocation[0], len(b.revocation))
	a.pairTag = unsafe.String(&b.tag[0], t)
}

// decodeCompact decodes a compact access cookie's plaintext p, which it
// keeps: every string returned points into it, and it must not change
// afterwards. It returns the session id and token in v.
func decodeCompact(p []byte) (v sealed, c compactSession, err error) {
	const fixed = 1 + digestLen + 8 + 8 + 1
	if len(p) < fixed || p[0] != compactVersion {
		return v, c, errCompact
	}
	s := unsafe.String(unsafe.SliceData(p), len(p))
	copy(c.digest[:], p[1:])
	c.expires = time.Unix(0, int64(binary.BigEndian.Uint64(p[1+digestLen:])))
	if iat := int64(binary.BigEndian.Uint64(p[1+digestLen+8:])); iat != 0 {
		c.issued = time.Unix(0, iat)
	}
	flags := p[fixed-1]
	d := decoder{s: s, i: fixed}
	blk := &compactBlock{}
	u := &blk.user
	v.Session = d.str()
	if flags&rawToken != 0 {
		for i := range c.raw {
			c.raw[i] = d.str()
		}
	} else {
		v.Token = d.str()
	}
	for _, f := range [...]*string{&u.ID, &u.Tenant, &u.Username, &u.Email, &u.Phone, &u.Name, &u.FirstName, &u.LastName, &u.FullName, &u.ProfileImage} {
		*f = d.str()
	}
	// One backing array for the three lists: counted first, filled after.
	nRoles := d.count()
	rolesAt := d.i
	for range nRoles {
		d.str()
	}
	var nWSRoles, nLabels int
	var wsAt, wsRolesAt, labelsAt int
	if flags&hasWorkspace != 0 {
		wsAt = d.i
		d.str()
		d.str()
		nWSRoles = d.count()
		wsRolesAt = d.i
		for range nWSRoles {
			d.str()
		}
		nLabels = d.count()
		labelsAt = d.i
		for range nLabels {
			d.str()
		}
	}
	if d.err || d.i != len(s) || (v.Token == "" && (c.raw[0] == "" || c.raw[1] == "" || c.raw[2] == "")) || v.Session == "" {
		return sealed{}, compactSession{}, errCompact
	}
	var all []string
	if n := nRoles + nWSRoles + nLabels; n > 0 {
		all = make([]string, n)
	}
	u.Roles = d.list(all[:nRoles:nRoles], rolesAt)
	if u.Roles == nil {
		u.Roles = []string{}
	}
	if flags&hasWorkspace != 0 {
		ws := &blk.ws
		d.i = wsAt
		ws.ID, ws.Name = d.str(), d.str()
		ws.Roles = d.list(all[nRoles:nRoles+nWSRoles:nRoles+nWSRoles], wsRolesAt)
		ws.Labels = d.list(all[nRoles+nWSRoles:], labelsAt)
		u.Workspace = ws
	}
	v.Session = blk.detach(v.Session)
	// No token: a session is cached without it, and its requests open it
	// from their own access cookie when asked (bind).
	blk.auth = Auth{User: u, Workspace: u.Workspace, Mode: qelos.ModeCookiePair, expires: c.expires, tokenInCookie: true}
	c.auth, c.block = &blk.auth, blk
	return v, c, nil
}

// detach copies the strings the block's session keeps (sid, which it
// returns, and its user's and workspace's) out of the plaintext into one
// allocation of their own, so the session cached does not keep the
// plaintext, whose largest part is the access token.
func (blk *compactBlock) detach(sid string) string {
	u, ws := &blk.user, &blk.ws
	fields := [...]*string{&sid, &u.ID, &u.Tenant, &u.Username, &u.Email, &u.Phone, &u.Name, &u.FirstName, &u.LastName, &u.FullName, &u.ProfileImage, &ws.ID, &ws.Name}
	lists := [...][]string{u.Roles, ws.Roles, ws.Labels}
	n := 0
	for _, f := range fields {
		n += len(*f)
	}
	for _, l := range lists {
		for _, s := range l {
			n += len(s)
		}
	}
	buf := make([]byte, 0, n)
	move := func(s *string) {
		if len(*s) == 0 {
			*s = "" // an empty substring still points into the plaintext, and would keep it
			return
		}
		at := len(buf)
		buf = append(buf, *s...)
		*s = unsafe.String(&buf[at], len(*s))
	}
	for _, f := range fields {
		move(f)
	}
	for _, l := range lists {
		for i := range l {
			move(&l[i])
		}
	}
	return sid
}

// decoder reads the strings of a compact cookie; err records that one ran
// past the end.
type decoder struct {
	s   string
	i   int
	err bool
}

func (d *decoder) uvarint() int {
	var x uint64
	for shift := 0; shift < 64; shift += 7 {
		if d.i >= len(d.s) {
			d.err = true
			return 0
		}
		c := d.s[d.i]
		d.i++
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			if x > uint64(len(d.s)) {
				d.err = true
				return 0
			}
			return int(x)
		}
	}
	d.err = true
	return 0
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err || n > len(d.s)-d.i {
		d.err = true
		return ""
	}
	v := d.s[d.i : d.i+n]
	d.i += n
	return v
}

// count reads a list's length, which cannot exceed the bytes left (each
// entry takes at least one).
func (d *decoder) count() int {
	n := d.uvarint()
	if n > len(d.s)-d.i {
		d.err = true
		return 0
	}
	return n
}

// list fills dst with the strings starting at offset at; nil when dst is
// empty.
func (d *decoder) list(dst []string, at int) []string {
	if len(dst) == 0 {
		return nil
	}
	d.i = at
	for i := range dst {
		dst[i] = d.str()
	}
	return dst
}
