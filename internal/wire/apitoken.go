package wire

import (
	"encoding/json"
	"time"

	"github.com/qelos-io/integrator-go"
)

// APIToken is one of Qelos's API-token records (GET and POST
// /api/me/api-tokens). Its fields are those of qelosapi.APIToken, so one
// converts to the other.
type APIToken struct {
	ID          string     `json:"_id"`
	Nickname    string     `json:"nickname"`
	TokenPrefix string     `json:"tokenPrefix"`
	ExpiresAt   time.Time  `json:"expiresAt"`
	LastUsedAt  *time.Time `json:"lastUsedAt,omitempty"`
	Created     time.Time  `json:"created"`
	UsageCount  int        `json:"usageCount"`
	Workspace   *qelos.Workspace
}

// UnmarshalJSON reads a record whose workspace is an id string when
// created and an {_id, name} object when listed.
func (t *APIToken) UnmarshalJSON(b []byte) error {
	type plain APIToken
	var raw struct {
		plain
		Workspace json.RawMessage `json:"workspace"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*t = APIToken(raw.plain)
	t.Workspace = nil
	var id string
	var ws qelos.Workspace
	switch {
	case json.Unmarshal(raw.Workspace, &id) == nil && id != "":
		t.Workspace = &qelos.Workspace{ID: id}
	case json.Unmarshal(raw.Workspace, &ws) == nil && ws.ID != "":
		t.Workspace = &ws
	}
	return nil
}

// CreatedAPIToken is the answer to POST /api/me/api-tokens: the secret,
// shown this once, and the record.
type CreatedAPIToken struct {
	Token    string   `json:"token"`
	APIToken APIToken `json:"apiToken"`
}
