package middleware

// The fast reading of a Qelos token: the common token (jsonwebtoken's
// HS256 header, a flat claim set of strings, numbers and string arrays,
// no escapes) is verified with a reused HMAC and read by hand, with no
// reflection and its strings cut from the one decoded payload. Anything
// else — another header, an escape, a duplicate claim, a type the claims
// do not expect, trailing bytes — is left to the general reader
// (tokenReader.parse and claims), so both read every token alike: the fast
// one only ever says "the same answer", or "not mine".

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"
)

// qelosHeader is the header segment jsonwebtoken writes for HS256:
// {"alg":"HS256","typ":"JWT"}.
const qelosHeader = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"

// accessClaims names the claims an access token is read for, by their
// index in fastClaims: the dates, the strings (the user's in User's order),
// then roles and the workspace. Both readers work from it: by hand
// (claimParser.claims) and from jwt/v5's map (claims.read).
var accessClaims = [...]string{
	"exp", "nbf", "iat",
	"sub", "tenant", "username", "email", "phone", "name", "firstName", "lastName", "fullName", "profileImage",
	"roles", "workspace",
}

// accessIndex and workspaceIndex find a claim's index by its name.
var accessIndex, workspaceIndex = newNameIndex(accessClaims[:]), newNameIndex(workspaceClaims[:])

// nameIndex finds a name's index in a list of at most 16 names, each
// shorter than 16 bytes, comparing only the names of its length: a claim
// set's keys are read one by one.
type nameIndex struct {
	names []string
	byLen [16]uint16 // bit i of byLen[n]: names[i] is n bytes long
}

func newNameIndex(names []string) nameIndex {
	x := nameIndex{names: names}
	for i, n := range names {
		if i >= 16 || len(n) >= len(x.byLen) {
			panic("middleware: a nameIndex holds at most 16 names, each shorter than 16 bytes")
		}
		x.byLen[len(n)] |= 1 << i
	}
	return x
}

// find returns k's index, or -1.
func (x *nameIndex) find(k string) int {
	if len(k) >= len(x.byLen) {
		return -1
	}
	for m := x.byLen[len(k)]; m != 0; m &= m - 1 {
		if i := bits.TrailingZeros16(m); x.names[i] == k {
			return i
		}
	}
	return -1
}

// Indexes into accessClaims.
const (
	claimExp = iota // the dates
	claimNbf
	claimIat
	claimSub // the strings
	claimTenant
	claimUsername
	claimEmail
	claimPhone
	claimName
	claimFirstName
	claimLastName
	claimFullName
	claimProfileImage
	claimRoles
	claimWorkspace
)

// fastClaims is what a reader found in a claim set.
type fastClaims struct {
	dates [claimSub]time.Time           // exp, nbf, iat
	strs  [claimRoles - claimSub]string // sub, tenant, then the user's
	roles []string
	ws    *Workspace
}

// date returns date claim i (claimExp, claimNbf or claimIat).
func (c *fastClaims) date(i int) time.Time { return c.dates[i] }

// str returns string claim i (claimSub to claimProfileImage).
func (c *fastClaims) str(i int) string { return c.strs[i-claimSub] }

// macPool keeps HMAC states keyed with the reader's secret.
type macPool struct{ sync.Pool }

func newMacPool(secret []byte) *macPool {
	p := &macPool{}
	p.New = func() any { return hmac.New(sha256.New, secret) }
	return p
}

// readFast reads token the fast way, verifying its signature when verify
// (the reader has a secret). ok is false when the token is not one it
// reads; the general reader then decides.
func (tr *tokenReader) readFast(token string, verify bool) (c fastClaims, ok bool) {
	rest, found := strings.CutPrefix(token, qelosHeader+".")
	if !found {
		return c, false
	}
	dot := strings.IndexByte(rest, '.')
	if dot < 0 {
		return c, false
	}
	payload, sig := rest[:dot], rest[dot+1:]
	if verify {
		if tr.macs == nil || !tr.verifyFast(token[:len(qelosHeader)+1+dot], sig) {
			return c, false
		}
	}
	enc := base64.RawURLEncoding
	buf := make([]byte, enc.DecodedLen(len(payload)))
	n, err := enc.Decode(buf, unsafe.Slice(unsafe.StringData(payload), len(payload)))
	if err != nil {
		return c, false
	}
	p := claimParser{s: unsafe.String(unsafe.SliceData(buf), n)}
	return p.claims()
}

// verifyFast checks sig (base64url) against HMAC-SHA256(signed).
func (tr *tokenReader) verifyFast(signed, sig string) bool {
	var want [sha256.Size]byte
	if base64.RawURLEncoding.DecodedLen(len(sig)) != len(want) {
		return false
	}
	if n, err := base64.RawURLEncoding.Decode(want[:], unsafe.Slice(unsafe.StringData(sig), len(sig))); err != nil || n != len(want) {
		return false
	}
	h := tr.macs.Get().(hash.Hash)
	defer tr.macs.Put(h)
	h.Reset()
	h.Write(unsafe.Slice(unsafe.StringData(signed), len(signed)))
	var got [sha256.Size]byte
	return hmac.Equal(h.Sum(got[:0]), want[:])
}

// claimParser reads a claim set by hand; ok false at the first thing it
// does not read exactly as encoding/json into a map would.
type claimParser struct {
	s string
	i int
}

func (p *claimParser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *claimParser) eat(c byte) bool {
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a string with no escapes, valid UTF-8 and no control
// characters.
func (p *claimParser) str() (string, bool) {
	if !p.eat('"') {
		return "", false
	}
	start := p.i
	j := strings.IndexByte(p.s[start:], '"')
	if j < 0 {
		return "", false
	}
	v := p.s[start : start+j]
	for k := 0; k < len(v); k++ {
		if c := v[k]; c == '\\' || c < 0x20 {
			return "", false
		}
	}
	if !utf8.ValidString(v) {
		return "", false
	}
	p.i = start + j + 1
	return v, true
}

// null reads a null, if there is one.
func (p *claimParser) null() bool {
	p.ws()
	if strings.HasPrefix(p.s[p.i:], "null") {
		p.i += 4
		return true
	}
	return false
}

// optStr reads a string or null (as "").
func (p *claimParser) optStr() (string, bool) {
	if p.null() {
		return "", true
	}
	return p.str()
}

// strs reads an array of strings, or null (nil).
func (p *claimParser) strs() ([]string, bool) {
	if p.null() {
		return nil, true
	}
	if !p.eat('[') {
		return nil, false
	}
	out := make([]string, 0, 4)
	if p.eat(']') {
		return out, true
	}
	for {
		v, ok := p.str()
		if !ok {
			return nil, false
		}
		out = append(out, v)
		if p.eat(']') {
			return out, true
		}
		if !p.eat(',') {
			return nil, false
		}
	}
}

// number reads a JSON number as a date, as claims.date does; null is the
// zero time.
func (p *claimParser) date() (time.Time, bool) {
	if p.null() {
		return time.Time{}, true
	}
	p.ws()
	start := p.i
	for p.i < len(p.s) && strings.IndexByte("0123456789-+.eE", p.s[p.i]) >= 0 {
		p.i++
	}
	lit := p.s[start:p.i]
	if !jsonNumber(lit) {
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil || math.IsInf(f, 0) || math.Abs(f) > 1<<53 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

// jsonNumber reports whether s is a number by JSON's grammar.
func jsonNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	return i == len(s)
}

// skip reads a value this reader has no use for: a string, number, true,
// false or null. Arrays and objects of claims it does not know are left
// to the general reader.
func (p *claimParser) skip() bool {
	p.ws()
	if p.i >= len(p.s) {
		return false
	}
	switch c := p.s[p.i]; {
	case c == '"':
		_, ok := p.str()
		return ok
	case c == '-' || c >= '0' && c <= '9':
		_, ok := p.date()
		return ok
	}
	for _, lit := range [...]string{"true", "false", "null"} {
		if strings.HasPrefix(p.s[p.i:], lit) {
			p.i += len(lit)
			return true
		}
	}
	return false
}

// object reads the members of an object, calling member for each key.
// member refuses a key it reads twice (encoding/json would keep the
// last); keys it skips may repeat, as they change nothing.
func (p *claimParser) object(member func(key string) bool) bool {
	if !p.eat('{') {
		return false
	}
	if p.eat('}') {
		return true
	}
	for {
		k, ok := p.str()
		if !ok || !p.eat(':') || !member(k) {
			return false
		}
		if p.eat('}') {
			return true
		}
		if !p.eat(',') {
			return false
		}
	}
}

// once records a known claim in seen, and reports false when it was
// already there.
func once(seen *uint32, bit uint32) bool {
	if *seen&bit != 0 {
		return false
	}
	*seen |= bit
	return true
}

// claims reads the whole claim set.
func (p *claimParser) claims() (c fastClaims, ok bool) {
	var seen uint32
	ok = p.object(func(k string) bool {
		i := accessIndex.find(k)
		if i < 0 {
			return p.skip()
		}
		var ok bool
		switch {
		case i < claimSub:
			c.dates[i], ok = p.date()
		case i < claimRoles:
			c.strs[i-claimSub], ok = p.optStr()
		case i == claimRoles:
			c.roles, ok = p.strs()
		default:
			c.ws, ok = p.workspace()
		}
		return ok && once(&seen, 1<<i)
	})
	p.ws()
	return c, ok && p.i == len(p.s)
}

// workspace reads the workspace claim as claims.workspace does; null, or
// an empty _id, is no workspace.
func (p *claimParser) workspace() (*Workspace, bool) {
	if p.null() {
		return nil, true
	}
	var id, name string
	var lists [2][]string // roles, labels
	var seen uint32
	ok := p.object(func(k string) bool {
		i := workspaceIndex.find(k)
		var ok bool
		switch i {
		case -1:
			return p.skip()
		case 0:
			id, ok = p.optStr()
		case 1:
			name, ok = p.optStr()
		default:
			lists[i-2], ok = p.strs()
		}
		return ok && once(&seen, 1<<i)
	})
	if !ok {
		return nil, false
	}
	return newWorkspace(id, name, lists[0], lists[1]), true
}
