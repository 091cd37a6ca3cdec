package vent

import (
	"encoding/json"
	"testing"
)

func TestJSONText(t *testing.T) {
	for _, c := range []struct {
		in   any
		want string
	}{
		{`{"a": 1}`, `{"a": 1}`},
		{[]byte(`[1, 2]`), `[1, 2]`},
		{json.RawMessage(`true`), `true`},
		{map[string]any{"m": "hé"}, `{"m":"hé"}`},
		{nil, `null`},
	} {
		got, err := JSONText(c.in)
		if err != nil || got != c.want {
			t.Errorf("JSONText(%#v) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	if _, err := JSONText(make(chan int)); err == nil {
		t.Error("JSONText(chan) did not fail")
	}
}
