package lessons

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// FuzzDecodeProgress: the decoder never panics, fails only with its own
// errors, and whatever it accepts encodes and decodes to the same value.
func FuzzDecodeProgress(f *testing.F) {
	good, err := EncodeProgress(sampleProgress())
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range [][]byte{
		good,
		good[:len(good)/2],
		[]byte(`{"version":1,"lessons":{}}`),
		[]byte(`{"version":1,"lessons":null}`),
		[]byte(`{"version":2}`),
		[]byte(`{"version":1,"lessons":{"uts":{"status":"done","part":"recap","updated":"2026-01-02T03:04:05.123456789+02:00","hints_used":3}}}`),
		[]byte(`{"version":1,"lessons":{"uts":{"status":"done"}}} {}`),
		[]byte(`[]`),
		[]byte(``),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodeProgress(b)
		if err != nil {
			if !errors.Is(err, ErrProgressCorrupt) && !errors.Is(err, ErrProgressFuture) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		enc, err := EncodeProgress(p)
		if err != nil {
			t.Fatalf("accepted %q but cannot encode it: %v", b, err)
		}
		q, err := DecodeProgress(enc)
		if err != nil {
			t.Fatalf("re-decode of %q: %v", enc, err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("round trip changed the value:\n%#v\n%#v", p, q)
		}
		enc2, err := EncodeProgress(q)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("round trip changed the value:\n%s\n%s", enc, enc2)
		}
		for id, lp := range p.Lessons {
			if !lp.Updated.Equal(q.Lessons[id].Updated) {
				t.Fatalf("time of %s changed: %v vs %v", id, lp.Updated, q.Lessons[id].Updated)
			}
		}
	})
}
