package qelostest

import (
	"testing"
)

func TestURIComponent(t *testing.T) {
	tests := []struct{ in, enc string }{
		{"Acme Team", "Acme%20Team"},
		{"R&D/Ops?", "R%26D%2FOps%3F"},
		{"it's(ok)!~*.-_", "it's(ok)!~*.-_"},
		{"Zoë", "Zo%C3%AB"},
		{"100%", "100%25"},
	}
	for _, tt := range tests {
		if got := encodeIfNeeded(tt.in); got != tt.enc {
			t.Errorf("encodeIfNeeded(%q) = %q, want %q", tt.in, got, tt.enc)
		}
		if got := encodeIfNeeded(tt.enc); got != tt.enc {
			t.Errorf("encodeIfNeeded(%q) re-encoded to %q", tt.enc, got)
		}
		if got := decodeIfNeeded(tt.enc); got != tt.in {
			t.Errorf("decodeIfNeeded(%q) = %q", tt.enc, got)
		}
	}
	if got := decodeIfNeeded("%E0%A4%A"); got != "%E0%A4%A" {
		t.Errorf("malformed escape decoded to %q", got)
	}
}
