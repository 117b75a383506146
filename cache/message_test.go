package cache_test

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/pgwarp/pgwarp/cache"
)

func TestInvalidationEncodesToItsDocumentedText(t *testing.T) {
	tests := []struct {
		name string
		msg  cache.Invalidation
		want string
	}{
		{
			name: "tables of a database",
			msg:  cache.Invalidation{Origin: "pgwarp-1", Database: "app", Tables: []cache.TableID{"public.orders", "sales.line_items"}},
			want: "pgwarp-invalidate/1 pgwarp-1 app public.orders sales.line_items",
		},
		{
			name: "a whole database without origin",
			msg:  cache.Invalidation{Database: "app"},
			want: "pgwarp-invalidate/1 - app",
		},
		{
			name: "an origin of exactly a dash",
			msg:  cache.Invalidation{Origin: "-", Database: "-"},
			want: "pgwarp-invalidate/1 %2D -",
		},
		{
			name: "quoted identifiers with spaces, percent signs and non-ASCII bytes",
			msg:  cache.Invalidation{Database: "my db", Tables: []cache.TableID{`public."Order Lines"`, `public."100%"`, `public."café"`}},
			want: `pgwarp-invalidate/1 - my%20db public."Order%20Lines" public."100%25" public."caf%C3%A9"`,
		},
		{
			name: "control characters",
			msg:  cache.Invalidation{Database: "a\nb\x00c\x7f"},
			want: "pgwarp-invalidate/1 - a%0Ab%00c%7F",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.msg.MarshalText()
			if err != nil {
				t.Fatalf("MarshalText: %v", err)
			}
			if string(got) != tt.want {
				t.Fatalf("MarshalText = %q, want %q", got, tt.want)
			}
			var back cache.Invalidation
			if err := back.UnmarshalText(got); err != nil {
				t.Fatalf("UnmarshalText: %v", err)
			}
			if !reflect.DeepEqual(back, tt.msg) {
				t.Fatalf("round trip = %+v, want %+v", back, tt.msg)
			}
		})
	}
}

func TestInvalidationTooLargeForNotifyWidensToTheWholeDatabase(t *testing.T) {
	msg := cache.Invalidation{Origin: "a", Database: "app"}
	for i := range 1000 {
		msg.Tables = append(msg.Tables, cache.TableID("public.table_"+strings.Repeat("x", i%20)))
	}
	text, err := msg.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	if len(text) > cache.MaxInvalidationBytes {
		t.Fatalf("encoded %d bytes, more than %d", len(text), cache.MaxInvalidationBytes)
	}
	var back cache.Invalidation
	if err := back.UnmarshalText(text); err != nil {
		t.Fatal(err)
	}
	if back.Database != "app" || len(back.Tables) != 0 {
		t.Fatalf("decoded %+v, want a whole-database invalidation of app", back)
	}
}

func TestInvalidationThatCannotBeEncodedIsAnError(t *testing.T) {
	for name, msg := range map[string]cache.Invalidation{
		"no database":   {Tables: []cache.TableID{"public.a"}},
		"empty table":   {Database: "app", Tables: []cache.TableID{""}},
		"huge database": {Database: strings.Repeat("\x00", 3000)},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := msg.MarshalText(); !errors.Is(err, cache.ErrBadInvalidation) {
				t.Fatalf("MarshalText error = %v, want ErrBadInvalidation", err)
			}
		})
	}
}

func TestInvalidationDecoderRejectsMalformedText(t *testing.T) {
	tests := []struct{ name, text string }{
		{"empty", ""},
		{"wrong header", "pgwarp-invalidate/2 - app"},
		{"header only", "pgwarp-invalidate/1"},
		{"no database", "pgwarp-invalidate/1 -"},
		{"empty origin field", "pgwarp-invalidate/1  app"},
		{"empty database field", "pgwarp-invalidate/1 - "},
		{"database of only a dash is fine but an empty table is not", "pgwarp-invalidate/1 - - "},
		{"double space", "pgwarp-invalidate/1 - app  public.a"},
		{"trailing space", "pgwarp-invalidate/1 - app public.a "},
		{"raw control byte", "pgwarp-invalidate/1 - app public.a\n"},
		{"raw non-ASCII byte", "pgwarp-invalidate/1 - caf\xc3\xa9"},
		{"truncated escape", "pgwarp-invalidate/1 - app%2"},
		{"bad hex", "pgwarp-invalidate/1 - app%G0"},
		{"lower-case hex", "pgwarp-invalidate/1 - a%0ab"},
		{"needless escape", "pgwarp-invalidate/1 - %61pp"},
		{"escaped dash outside the origin", "pgwarp-invalidate/1 - %2D"},
		{"too long", "pgwarp-invalidate/1 - app " + strings.Repeat("x", cache.MaxInvalidationBytes)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m cache.Invalidation
			if err := m.UnmarshalText([]byte(tt.text)); !errors.Is(err, cache.ErrBadInvalidation) {
				t.Fatalf("UnmarshalText(%q) = %v, want ErrBadInvalidation", tt.text, err)
			}
		})
	}
}

func TestInvalidationDecoderDoesNotRetainItsInput(t *testing.T) {
	text := []byte("pgwarp-invalidate/1 node-1 app public.orders")
	var m cache.Invalidation
	if err := m.UnmarshalText(text); err != nil {
		t.Fatal(err)
	}
	copy(text, bytes.Repeat([]byte("X"), len(text)))
	if m.Origin != "node-1" || m.Database != "app" || m.Tables[0] != "public.orders" {
		t.Fatalf("decoded message changed with its input: %+v", m)
	}
}

// FuzzUnmarshalInvalidation feeds arbitrary payloads, as any database user
// could NOTIFY them, to the decoder: it must never panic, and whatever it
// accepts must be canonical, i.e. re-encode to exactly the input.
func FuzzUnmarshalInvalidation(f *testing.F) {
	f.Add([]byte("pgwarp-invalidate/1 pgwarp-1 app public.orders sales.line_items"))
	f.Add([]byte("pgwarp-invalidate/1 - app"))
	f.Add([]byte("pgwarp-invalidate/1 %2D - public.\"caf%C3%A9\""))
	f.Add([]byte("pgwarp-invalidate/2 i1 app t:public.log k:public.sales:artifact:A%3A1 k:public.sales:day:2026-01-01"))
	f.Fuzz(func(t *testing.T, text []byte) {
		var m cache.Invalidation
		if err := m.UnmarshalText(text); err != nil {
			if !errors.Is(err, cache.ErrBadInvalidation) {
				t.Fatalf("error %v does not wrap ErrBadInvalidation", err)
			}
			return
		}
		if m.Database == "" {
			t.Fatal("accepted a message without a database")
		}
		for _, tb := range m.Tables {
			if tb == "" {
				t.Fatal("accepted an empty table")
			}
		}
		again, err := m.MarshalText()
		if err != nil {
			t.Fatalf("accepted %q but cannot re-encode it: %v", text, err)
		}
		if !bytes.Equal(again, text) {
			t.Fatalf("accepted %q, which re-encodes as %q: the encoding is not canonical", text, again)
		}
	})
}

// FuzzInvalidationRoundTrip encodes arbitrary names: decoding must give them
// back, unless the message was widened to its whole database.
func FuzzInvalidationRoundTrip(f *testing.F) {
	f.Add("pgwarp-1", "app", "public.orders", `public."Order Lines"`)
	f.Add("", "-", "%", "\x00\n ")
	f.Fuzz(func(t *testing.T, origin, db, t1, t2 string) {
		msg := cache.Invalidation{Origin: origin, Database: db}
		for _, tb := range []string{t1, t2} {
			if tb != "" {
				msg.Tables = append(msg.Tables, cache.TableID(tb))
			}
		}
		text, err := msg.MarshalText()
		if err != nil {
			if db != "" && len(origin)+len(db) < 2000 {
				t.Fatalf("MarshalText(%+v): %v", msg, err)
			}
			return
		}
		if len(text) > cache.MaxInvalidationBytes {
			t.Fatalf("encoded %d bytes", len(text))
		}
		for _, c := range text {
			if c < ' ' || c > '~' {
				t.Fatalf("encoding %q is not printable ASCII", text)
			}
		}
		var back cache.Invalidation
		if err := back.UnmarshalText(text); err != nil {
			t.Fatalf("UnmarshalText(%q): %v", text, err)
		}
		if len(back.Tables) == 0 && len(msg.Tables) > 0 {
			// Widened: allowed only if the tables did not fit.
			full := len(text)
			for _, tb := range msg.Tables {
				full += 1 + escapedLen(string(tb))
			}
			if full <= cache.MaxInvalidationBytes {
				t.Fatalf("%+v fits in %d bytes but was widened to its whole database", msg, full)
			}
			msg.Tables = nil
		}
		if !reflect.DeepEqual(back, msg) {
			t.Fatalf("round trip of %+v gave %+v", msg, back)
		}
	})
}

// escapedLen is the documented encoded length of a database or table name.
func escapedLen(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c > ' ' && c <= '~' && c != '%' {
			n++
		} else {
			n += 3
		}
	}
	return n
}

func TestKeyedInvalidationRoundTripsAndWidensWhenTooLarge(t *testing.T) {
	msg := cache.Invalidation{Origin: "i1", Database: "app", Tables: []cache.TableID{"public.log"},
		Writes: []cache.Write{
			{Table: "public.sales", Columns: []cache.ColumnValues{{Column: "artifact", Values: []string{"A:1", "a 2"}}, {Column: "day", Values: []string{"2026-01-01"}}}},
			{Table: "public.t", Columns: []cache.ColumnValues{{Column: "id", Values: []string{"7"}}}},
		}}
	text, err := msg.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	want := "pgwarp-invalidate/2 i1 app t:public.log k:public.sales:artifact:A%3A1 k:public.sales:artifact:a%202 k:public.sales:day:2026-01-01 k:public.t:id:7"
	if string(text) != want {
		t.Fatalf("encoded\n%s\nwant\n%s", text, want)
	}
	var back cache.Invalidation
	if err := back.UnmarshalText(text); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, msg) {
		t.Fatalf("round trip gave %+v", back)
	}
	// Too many values for one NOTIFY: each write widens to its table.
	big := cache.Invalidation{Database: "app", Writes: []cache.Write{{Table: "public.sales", Columns: []cache.ColumnValues{{Column: "artifact"}}}}}
	for i := 0; i < 2000; i++ {
		big.Writes[0].Columns[0].Values = append(big.Writes[0].Columns[0].Values, fmt.Sprintf("artifact-%d", i))
	}
	text, err = big.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	if string(text) != "pgwarp-invalidate/1 - app public.sales" {
		t.Fatalf("a keyed write too large for NOTIFY encoded as %.80q", text)
	}
	for _, bad := range []string{
		"pgwarp-invalidate/2 - app t:public.x",                 // no keyed write
		"pgwarp-invalidate/2 - app k:public.x:id:1 t:public.y", // t: after k:
		"pgwarp-invalidate/2 - app k:public.x:id",              // missing value
		"pgwarp-invalidate/2 - app k:public.x:id:1:2",          // unescaped ':'
		"pgwarp-invalidate/2 - app k:public.x::1",              // empty column
		"pgwarp-invalidate/2 - app public.x",                   // no prefix
	} {
		var m cache.Invalidation
		if err := m.UnmarshalText([]byte(bad)); !errors.Is(err, cache.ErrBadInvalidation) {
			t.Errorf("accepted %q: %+v", bad, m)
		}
	}
}
