package qelostest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Every user document the server answers is built here: one function a
// document, each a list of keys in the real server's order, and one
// place (userView.value) that knows how a key of a user renders. The
// golden exchanges and the fidelity tests hold the shapes.

// userView is what a user document shows: a stored user, or for /api/me
// the caller as its token describes it, with the tenant it belongs to.
type userView struct {
	User
	tenant string
}

// viewOf is the view of the stored user u. The caller holds s.mu.
func viewOf(u *userRecord) *userView { return &userView{User: u.User, tenant: u.tenant} }

// doc renders the keys of v in order. A key ending in "?" is left out
// when its value is empty (an empty string or map), as JSON.stringify
// drops an undefined property; the other keys are always present.
func (v *userView) doc(keys ...string) object {
	o := make(object, 0, len(keys))
	for _, k := range keys {
		key, optional := strings.CutSuffix(k, "?")
		val := v.value(key)
		if optional && isEmpty(val) {
			continue
		}
		o = append(o, field{key, val})
	}
	return o
}

// value is the value of key in a user document.
func (v *userView) value(key string) any {
	switch key {
	case "_id":
		return v.ID
	case "tenant":
		return v.tenant
	case "username":
		return v.Username
	case "email":
		return v.Email
	case "emailVerified":
		return false // not tracked
	case "socialLogins":
		return []string{} // not tracked
	case "phone":
		return v.Phone
	case "password":
		return bcryptStandIn("hash", v.ID+"\x00"+v.Password, 31)
	case "salt":
		return bcryptStandIn("salt", v.ID, 0)
	case "name":
		return v.displayName()
	case "fullName":
		return v.FullName
	case "firstName":
		return v.FirstName
	case "lastName":
		return v.LastName
	case "birthDate":
		return v.BirthDate
	case "profileImage":
		return v.ProfileImage
	case "roles":
		return nonNil(v.Roles)
	case "metadata":
		if v.Metadata == nil {
			return map[string]any{}
		}
		return v.Metadata
	}
	panic(fmt.Sprintf("qelostest: a user document has no key %q", key))
}

// isEmpty reports whether val is an empty string or map.
func isEmpty(val any) bool {
	switch val := val.(type) {
	case string:
		return val == ""
	case map[string]any:
		return len(val) == 0
	}
	return false
}

// signInUser is the user of a sign-in answer.
func signInUser(u *userRecord) object {
	return viewOf(u).doc("username", "email", "firstName", "lastName", "name", "roles")
}

// signUpUser is the user of a sign-up answer; its "name" is the full name
// sign-up stores.
func signUpUser(u *userRecord) object {
	return viewOf(u).doc("username", "email", "name", "fullName", "firstName", "lastName?", "roles")
}

// refreshUser is the user of a token refresh answer.
func refreshUser(u *userRecord) object {
	return viewOf(u).doc("email", "roles")
}

// cookieRefreshUser is the user of a cookie refresh answer.
func cookieRefreshUser(u *userRecord) object {
	return viewOf(u).doc("_id", "username?", "email?", "phone?", "fullName?", "firstName?", "lastName?", "roles", "profileImage?")
}

// meDocument is the /api/me body of id, as Qelos's buildMeResponse shows
// it. Name fields are decoded, and "name" and "fullName" are both the
// display name. "workspace" is the raw JWT claim (its name still
// URI-encoded, or "" after an OAuth refresh), the unencoded workspace of a
// scoped API token, or absent.
func meDocument(id *identity) object {
	v := &userView{User: id.user, tenant: id.tenant.id}
	v.ID = id.userID()
	v.FullName = v.displayName()
	if c := id.claims; c != nil {
		v.tenant, v.Username, v.Email, v.Phone, v.Roles = c.Tenant, c.Username, c.Email, c.Phone, c.Roles
		if !id.known {
			v.FirstName, v.LastName = decodeIfNeeded(c.FirstName), decodeIfNeeded(c.LastName)
			v.FullName = (&User{FirstName: v.FirstName, LastName: v.LastName, FullName: decodeIfNeeded(c.FullName)}).displayName()
		}
	}
	me := v.doc("_id", "tenant", "username?", "email?", "phone?", "name?", "firstName?", "lastName?", "fullName?", "profileImage?", "birthDate?", "roles", "metadata")
	if id.workspace != nil {
		me = me.add("workspace", id.workspace)
	}
	return me
}

// userListEntry is a user as GET /api/users answers it: Qelos's privileged
// user fields, in the order Qelos stores them.
func userListEntry(u *userRecord) object {
	o := viewOf(u).doc("_id", "username", "emailVerified", "socialLogins", "phone?", "fullName?", "firstName?", "lastName?", "birthDate?", "profileImage?", "roles", "metadata?")
	if !u.lastLogin.IsZero() {
		ll := object{{"created", isoTime(u.lastLogin)}}.addString("workspace", u.lastWorkspace)
		o = o.add("lastLogin", ll)
	}
	return o
}

// memberUserEntry is a member of a workspace as GET
// /api/workspaces/{id}/members answers it: the membership's id, the
// user's names, then the membership.
func memberUserEntry(u *userRecord, m *memberRecord) object {
	return append(object{{"_id", m.id}}, viewOf(u).doc("email?", "fullName?", "firstName?", "lastName?")...).
		add("user", m.userID).
		add("roles", nonNil(m.roles)).
		add("created", isoTime(m.created))
}

// memberUserList is GET /api/workspaces/{id}/members's answer: every
// user of tenant t who is a member of ws, in the tenant's order. The
// caller holds s.mu.
func memberUserList(t *tenantState, ws *workspaceRecord) []object {
	list := []object{}
	for _, u := range t.users {
		if m := ws.member(u.ID); m != nil {
			list = append(list, memberUserEntry(u, m))
		}
	}
	return list
}

// storedUserDocument is u as the real server's Mongoose document
// serialises (models/user.ts), secrets included: "password" (a bcrypt
// hash there; here a stand-in of the same shape, derived from the
// password, that verifies nothing), "salt", and "tokens", each session
// record with its tokenIdentifier and, for OAuth, metadata.relatedToken
// (the live access token it was minted with). The caller holds s.mu.
func storedUserDocument(u *userRecord) object {
	tokens := make([]any, 0, len(u.tokens))
	for _, t := range u.tokens {
		kind, meta := "cookie", object{}
		if t.kind == kindOAuth {
			kind = "oauth"
			meta = meta.addString("relatedToken", t.relatedToken).addString("workspace", t.workspace)
		}
		tokens = append(tokens, object{{"kind", kind}, {"metadata", meta}, {"tokenIdentifier", t.identifier},
			{"expiresAt", isoTime(t.expiresAt)}, {"_id", objectIDFor("token:" + t.identifier)}})
	}
	return viewOf(u).doc("_id", "tenant", "username", "email?", "emailVerified", "phone?", "password", "fullName?", "firstName?", "lastName?", "birthDate?", "profileImage?", "salt", "roles", "metadata").
		add("tokens", tokens).add("created", isoTime(u.created)).add("__v", len(u.tokens))
}

// bcryptStandIn is a string shaped like bcryptjs's output for cost 10
// ("$2a$10$" and 22 characters of salt, then extra characters of hash),
// derived from what and s.
func bcryptStandIn(what, s string, extra int) string {
	const alphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	sum := sha256.Sum256([]byte(what + "\x00" + s))
	b := []byte("$2a$10$")
	for i := range 22 + extra {
		b = append(b, alphabet[(sum[i%len(sum)]^byte(i))&63])
	}
	return string(b)
}

// objectIDFor is a stable 24-hex-digit id for s.
func objectIDFor(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:12])
}
