package qelostest

import (
	"testing"
	"time"
)

func TestIssueErrors(t *testing.T) {
	s := NewHandler(Options{})
	defer s.Close()
	if _, _, err := s.IssuePair("nobody@example.com", ""); err == nil {
		t.Error("unknown user accepted")
	}
	if _, _, err := s.IssuePair(UserEmail, AcmeWorkspaceID); err == nil {
		t.Error("non-member workspace accepted")
	}
	if _, err := s.IssueAccessToken(AdminEmail, "nope", time.Hour); err == nil {
		t.Error("unknown workspace accepted")
	}
	if _, err := s.IssueCookie("nobody", ""); err == nil {
		t.Error("unknown user accepted")
	}
}
