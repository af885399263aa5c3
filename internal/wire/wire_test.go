package wire_test

import (
	"reflect"
	"testing"

	"github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/internal/wire"
)

// TestDecodeName: names Qelos encoded are decoded; others are left alone.
func TestDecodeName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Acme%20Team", "Acme Team"},
		{"Ada", "Ada"},
		{"100%", "100%"},
		{"a b", "a b"},
		{"%E2%9C%93%20ok", "✓ ok"},
		{"50%25", "50%"},
		{"%zz", "%zz"},
		{"a%2Bb", "a+b"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := wire.DecodeName(tt.in); got != tt.want {
			t.Errorf("DecodeName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestDocuments: each Qelos document reads as Qelos sends it, and a
// document that is not one is an error or not ok.
func TestDocuments(t *testing.T) {
	if got := wire.ErrorMessage([]byte(`{"message":"nope"}`)); got != "nope" {
		t.Errorf("ErrorMessage message: %q", got)
	}
	if got := wire.ErrorMessage([]byte(`{"error":"bad"}`)); got != "bad" {
		t.Errorf("ErrorMessage error: %q", got)
	}
	var list wire.WorkspaceList
	if err := list.UnmarshalJSON([]byte(`[{"_id":"w1","name":"Acme%20Team","labels":["x"],"members":[{"roles":["admin"]}]}]`)); err != nil {
		t.Fatal(err)
	}
	if want := (wire.WorkspaceList{{ID: "w1", Name: "Acme Team", Labels: []string{"x"}, Roles: []string{"admin"}}}); !reflect.DeepEqual(list, want) {
		t.Errorf("WorkspaceList %+v, want %+v", list, want)
	}
	s, err := wire.ReadSignedIn([]byte(`{"payload":{"token":"a","refreshToken":"r","workspace":{"_id":"w1","name":"Acme"}}}`))
	if err != nil || s.Token != "a" || s.RefreshToken != "r" || !reflect.DeepEqual(s.Workspace, &qelos.Workspace{ID: "w1", Name: "Acme"}) {
		t.Errorf("ReadSignedIn %+v, %v", s, err)
	}
	if _, err := wire.ReadSignedIn([]byte(`{"payload":{"user":{}}}`)); err == nil {
		t.Error("ReadSignedIn of a cookie-mode answer: no error")
	}
	fields, ok := wire.SignUpErrors([]byte(`{"errors":{"email":{"code":"INVALID_EMAIL"},"password":"INVALID_PASSWORD","name":{"message":"TOO_LONG"}}}`))
	if want := map[string]string{"email": "INVALID_EMAIL", "password": "INVALID_PASSWORD", "name": "TOO_LONG"}; !ok || !reflect.DeepEqual(fields, want) {
		t.Errorf("SignUpErrors %v %v", fields, ok)
	}
	if _, ok := wire.SignUpErrors([]byte(`{"payload":{}}`)); ok {
		t.Error("SignUpErrors of a success: ok")
	}
}
