package qelostest

import "slices"

// The API-token documents the server answers are built here, in the real
// server's key order; the golden exchanges hold the shapes.

// apiTokenList is GET /api/me/api-tokens's answer: the tokens of userID
// in tenant t, newest first, without their hashes. The caller holds s.mu.
func apiTokenList(t *tenantState, userID string) []object {
	list := []object{}
	for _, tok := range slices.Backward(t.apiTokens) {
		if tok.userID == userID {
			list = append(list, apiTokenListEntry(tok, t.workspaceByID(tok.workspaceID)))
		}
	}
	return list
}

// apiTokenListEntry is one token of the list, naming its workspace ws
// (nil: none, or one that is gone).
func apiTokenListEntry(t *apiTokenRecord, ws *workspaceRecord) object {
	var wsDoc, lastUsed any
	if ws != nil {
		wsDoc = workspaceName(ws)
	}
	if !t.lastUsedAt.IsZero() {
		lastUsed = isoTime(t.lastUsedAt)
	}
	return object{
		{"_id", t.id},
		{"workspace", wsDoc},
		{"nickname", t.nickname},
		{"tokenPrefix", t.prefix},
		{"expiresAt", isoTime(t.expiresAt)},
		{"lastUsedAt", lastUsed},
		{"usageCount", t.usageCount},
		{"created", isoTime(t.created)},
	}
}

// createdAPITokenDocument is the whole new token document POST
// /api/me/api-tokens answers as "apiToken", hash included, in the order
// Mongoose serialises a new document; its workspace is the id, or null.
func createdAPITokenDocument(t *apiTokenRecord, tenant string) object {
	var ws any
	if t.workspaceID != "" {
		ws = t.workspaceID
	}
	return object{
		{"tenant", tenant},
		{"user", t.userID},
		{"workspace", ws},
		{"nickname", t.nickname},
		{"token", t.hash},
		{"tokenPrefix", t.prefix},
		{"expiresAt", isoTime(t.expiresAt)},
		{"lastUsedAt", nil},
		{"usageCount", 0},
		{"_id", t.id},
		{"created", isoTime(t.created)},
		{"__v", 0},
	}
}
