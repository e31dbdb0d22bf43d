package session

import "testing"

func TestTunnelUpgrade(t *testing.T) {
	for offer, relayed := range map[string]bool{
		"websocket":         true,
		"WebSocket":         true,
		"foo/2, websocket":  true,
		"h2cx":              true,
		"h2c":               false,
		"H2C":               false,
		" h2c ":             false,
		"websocket, h2c":    false,
		"h2c/1.0":           false,
		"websocket,h2c,foo": false,
	} {
		got := tunnelUpgrade([]byte(offer))
		if (got != nil) != relayed || (relayed && string(got) != offer) {
			t.Errorf("tunnelUpgrade(%q) = %q, relayed want %v", offer, got, relayed)
		}
	}
	if tunnelUpgrade(nil) != nil {
		t.Error("no offer became one")
	}
}
