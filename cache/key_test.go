package cache_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/pgwarp/pgwarp/cache"
)

// keyInput is every component of a key, as the proxy would feed it.
type keyInput struct {
	proto         cache.Protocol
	db, role      string
	settings      [][2]string
	statement     string
	params        []keyParam
	resultFormats []int16
	noFormats     bool
}

type keyParam struct {
	format int16
	oid    uint32
	value  []byte
}

func (in keyInput) key(t testing.TB, b *cache.KeyBuilder) cache.Key {
	t.Helper()
	b.Reset(in.proto, in.db, in.role)
	for _, s := range in.settings {
		b.Setting(s[0], s[1])
	}
	b.Statement(in.statement)
	for _, p := range in.params {
		b.Param(p.format, p.oid, p.value)
	}
	if !in.noFormats {
		b.ResultFormats(in.resultFormats)
	}
	k, err := b.Key()
	if err != nil {
		t.Fatalf("Key: %v", err)
	}
	return k
}

func baseKeyInput() keyInput {
	return keyInput{
		proto: cache.ProtocolExtended,
		db:    "app",
		role:  "app",
		settings: [][2]string{
			{"search_path", `"$user", public`},
			{"TimeZone", "UTC"},
			{"DateStyle", "ISO, MDY"},
			{"IntervalStyle", "postgres"},
			{"client_encoding", "UTF8"},
			{"extra_float_digits", "1"},
			{"bytea_output", "hex"},
		},
		statement: "SELECT id, name FROM public.artifact WHERE id = $1 AND kind = $2",
		params: []keyParam{
			{format: 0, oid: 23, value: []byte("42")},
			{format: 1, oid: 25, value: []byte("gauge")},
		},
		resultFormats: []int16{1},
	}
}

func TestKeyIsTheSameWhateverTheOrderOfSettings(t *testing.T) {
	var b cache.KeyBuilder
	in := baseKeyInput()
	want := in.key(t, &b)
	reversed := in
	reversed.settings = nil
	for i := len(in.settings) - 1; i >= 0; i-- {
		reversed.settings = append(reversed.settings, in.settings[i])
	}
	if got := reversed.key(t, &b); got != want {
		t.Fatalf("reversed settings give key %s, want %s", got, want)
	}
}

func TestKeySettingNamesIgnoreASCIICaseButValuesDoNot(t *testing.T) {
	var b cache.KeyBuilder
	in := baseKeyInput()
	want := in.key(t, &b)

	upper := in
	upper.settings = append([][2]string(nil), in.settings...)
	upper.settings[1][0] = "TIMEZONE"
	if got := upper.key(t, &b); got != want {
		t.Fatalf("setting name TIMEZONE gives key %s, want the key of TimeZone %s", got, want)
	}

	value := in
	value.settings = append([][2]string(nil), in.settings...)
	value.settings[1][1] = "utc"
	if got := value.key(t, &b); got == want {
		t.Fatal("setting value utc gives the same key as UTC")
	}
}

func TestKeyChangesWithEveryComponent(t *testing.T) {
	tests := []struct {
		name   string
		change func(*keyInput)
	}{
		{"simple protocol instead of extended", func(in *keyInput) { in.proto = cache.ProtocolSimple }},
		{"another database", func(in *keyInput) { in.db = "app2" }},
		{"another role", func(in *keyInput) { in.role = "reporting" }},
		{"another search_path", func(in *keyInput) { in.settings[0][1] = "tenant_7, public" }},
		{"another TimeZone", func(in *keyInput) { in.settings[1][1] = "Europe/Paris" }},
		{"another DateStyle", func(in *keyInput) { in.settings[2][1] = "German, DMY" }},
		{"another IntervalStyle", func(in *keyInput) { in.settings[3][1] = "iso_8601" }},
		{"another client_encoding", func(in *keyInput) { in.settings[4][1] = "LATIN1" }},
		{"another extra_float_digits", func(in *keyInput) { in.settings[5][1] = "3" }},
		{"another bytea_output", func(in *keyInput) { in.settings[6][1] = "escape" }},
		{"one more setting", func(in *keyInput) { in.settings = append(in.settings, [2]string{"lc_monetary", "C"}) }},
		{"one setting fewer", func(in *keyInput) { in.settings = in.settings[1:] }},
		{"another statement", func(in *keyInput) { in.statement += " LIMIT 1" }},
		{"another parameter value", func(in *keyInput) { in.params[0].value = []byte("43") }},
		{"another parameter format", func(in *keyInput) { in.params[0].format = 1 }},
		{"another parameter type", func(in *keyInput) { in.params[0].oid = 20 }},
		{"a NULL parameter instead of an empty one", func(in *keyInput) { in.params[1].value = nil }},
		{"an empty parameter", func(in *keyInput) { in.params[1].value = []byte{} }},
		{"one parameter fewer", func(in *keyInput) { in.params = in.params[:1] }},
		{"text results instead of binary", func(in *keyInput) { in.resultFormats = []int16{0} }},
		{"per-column result formats", func(in *keyInput) { in.resultFormats = []int16{1, 1} }},
		{"no result formats", func(in *keyInput) { in.resultFormats = nil }},
		{"result formats not given", func(in *keyInput) { in.noFormats = true }},
	}
	var b cache.KeyBuilder
	base := baseKeyInput().key(t, &b)
	seen := map[cache.Key]string{base: "base"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseKeyInput()
			tt.change(&in)
			k := in.key(t, &b)
			if other, dup := seen[k]; dup {
				t.Fatalf("key %s equals the key of %q", k, other)
			}
			seen[k] = tt.name
		})
	}
}

func TestKeyFieldBoundariesAreUnambiguous(t *testing.T) {
	tests := []struct {
		name string
		a, b func(*keyInput)
	}{
		{
			name: "database and role",
			a:    func(in *keyInput) { in.db, in.role = "ab", "c" },
			b:    func(in *keyInput) { in.db, in.role = "a", "bc" },
		},
		{
			name: "setting name and value",
			a:    func(in *keyInput) { in.settings = [][2]string{{"search_pathx", "y"}} },
			b:    func(in *keyInput) { in.settings = [][2]string{{"search_path", "xy"}} },
		},
		{
			name: "two settings and one",
			a:    func(in *keyInput) { in.settings = [][2]string{{"a", "b"}, {"c", "d"}} },
			b:    func(in *keyInput) { in.settings = [][2]string{{"a", "bcd"}} },
		},
		{
			name: "statement and parameter",
			a: func(in *keyInput) {
				in.statement = "SELECT $1"
				in.params = []keyParam{{value: []byte("1")}}
			},
			b: func(in *keyInput) {
				in.statement = "SELECT $11"
				in.params = []keyParam{{value: []byte("")}}
			},
		},
		{
			name: "two parameters and one",
			a:    func(in *keyInput) { in.params = []keyParam{{value: []byte("a")}, {value: []byte("b")}} },
			b:    func(in *keyInput) { in.params = []keyParam{{value: []byte("ab")}} },
		},
	}
	var kb cache.KeyBuilder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := baseKeyInput(), baseKeyInput()
			tt.a(&a)
			tt.b(&b)
			if a.key(t, &kb) == b.key(t, &kb) {
				t.Fatal("different inputs give the same key")
			}
		})
	}
}

func TestKeyOfLargeInputsIsDeterministicAndSeesTheLastByte(t *testing.T) {
	big := strings.Repeat("SELECT 1 UNION ALL ", 2000) + "SELECT 1"
	value := []byte(strings.Repeat("x", 50_000))
	in := baseKeyInput()
	in.statement = big
	in.params = []keyParam{{format: 0, oid: 25, value: value}}

	var reused cache.KeyBuilder
	baseKeyInput().key(t, &reused) // a builder that already served a small key
	first := in.key(t, &reused)
	var fresh cache.KeyBuilder
	if got := in.key(t, &fresh); got != first {
		t.Fatalf("fresh builder gives %s, reused builder %s", got, first)
	}
	if got := in.key(t, &reused); got != first {
		t.Fatalf("second build gives %s, first %s", got, first)
	}
	changed := in
	changed.params = []keyParam{{format: 0, oid: 25, value: append(value[:len(value)-1:len(value)-1], 'y')}}
	if changed.key(t, &reused) == first {
		t.Fatal("changing the last byte of a 50 kB parameter keeps the key")
	}
	small := baseKeyInput().key(t, &reused)
	if again := baseKeyInput().key(t, &fresh); again != small {
		t.Fatalf("small key after a large one is %s, want %s", small, again)
	}
}

func TestKeyWithoutResetOrWithoutExactlyOneStatementIsAnError(t *testing.T) {
	tests := []struct {
		name  string
		build func(b *cache.KeyBuilder)
	}{
		{"no Reset", func(b *cache.KeyBuilder) { b.Statement("SELECT 1") }},
		{"no Statement", func(b *cache.KeyBuilder) { b.Reset(cache.ProtocolSimple, "app", "app") }},
		{"two Statements", func(b *cache.KeyBuilder) {
			b.Reset(cache.ProtocolSimple, "app", "app")
			b.Statement("SELECT 1")
			b.Statement("SELECT 2")
		}},
		{"Setting before Reset", func(b *cache.KeyBuilder) {
			b.Setting("TimeZone", "UTC")
			b.Statement("SELECT 1")
		}},
		{"second Key without Reset", func(b *cache.KeyBuilder) {
			b.Reset(cache.ProtocolSimple, "app", "app")
			b.Statement("SELECT 1")
			if _, err := b.Key(); err != nil {
				panic(err)
			}
			b.Statement("SELECT 1")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b cache.KeyBuilder
			tt.build(&b)
			if _, err := b.Key(); !errors.Is(err, cache.ErrKeyIncomplete) {
				t.Fatalf("Key error = %v, want ErrKeyIncomplete", err)
			}
		})
	}
}

func TestKeyBuildingForATypicalQueryDoesNotAllocate(t *testing.T) {
	in := baseKeyInput()
	var b cache.KeyBuilder
	in.key(t, &b) // warm the builder's buffers
	allocs := testing.AllocsPerRun(100, func() { in.key(t, &b) })
	if allocs != 0 {
		t.Fatalf("building a key allocates %.1f times, want 0", allocs)
	}
}
