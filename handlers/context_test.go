package handlers

import (
	"encoding/json"
	"testing"
)

func TestASCIIJSONSurvivesHeaders(t *testing.T) {
	t.Parallel()
	msg := "Updated “CRM Sync” — café 🎉"
	b, _ := json.Marshal(map[string]string{"message": msg})
	header := asciiJSON(b)
	for _, r := range header {
		if r >= 0x80 {
			t.Fatalf("header %q has a non-ASCII character %q", header, r)
		}
	}
	var back map[string]string
	if err := json.Unmarshal([]byte(header), &back); err != nil {
		t.Fatal(err)
	}
	if back["message"] != msg {
		t.Fatalf("round trip gave %q, want %q", back["message"], msg)
	}
}

func TestFlashRoundTrip(t *testing.T) {
	t.Parallel()
	msg := "Saved; “quotes”, commas and é"
	if got := ReadFlash(flashValue(msg)); got != msg {
		t.Fatalf("flash round trip gave %q, want %q", got, msg)
	}
}
