package query_test

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/pgwarp/pgwarp/query"
)

// FuzzLexer checks the hand-written lexer on arbitrary input: it never
// panics, its tokens are ordered and in bounds, the comment-free text lexes
// to the same tokens, replacing literals by others of their class keeps the
// memo key, and wherever PostgreSQL's scanner accepts the input the token
// boundaries agree with it.
func FuzzLexer(f *testing.F) {
	for _, s := range scannerCorpus {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		toks := query.LexTokens(sql)
		prev := 0
		var texts []string
		params := 0
		for _, tk := range toks {
			if tk.Start < prev || tk.End <= tk.Start || tk.End > len(sql) {
				t.Fatalf("token %+v out of order or bounds in %q", tk, sql)
			}
			prev = tk.End
			texts = append(texts, tk.Text)
			if n, err := strconv.Atoi(strings.TrimPrefix(tk.Text, "$")); tk.Kind == "param" && err == nil {
				params = max(params, n)
			}
		}
		if got := query.ParamCount(sql); got != params {
			t.Fatalf("ParamCount(%q) = %d, its parameter tokens go up to $%d", sql, got, params)
		}
		text, key, _ := query.Lex(sql)
		var again []string
		for _, tk := range query.LexTokens(text) {
			again = append(again, tk.Text)
		}
		if got, want := strings.Join(again, "\x01"), strings.Join(trimSemicolons(texts), "\x01"); got != want {
			t.Fatalf("comment-free text %q of %q lexes to\n%q, want\n%q", text, sql, again, trimSemicolons(texts))
		}
		variant := query.LiteralVariant(sql)
		if _, vkey, _ := query.Lex(variant); vkey != key {
			t.Fatalf("literal variant %q of %q has key %q, want %q", variant, sql, vkey, key)
		}
		if _, err := compareWithScanner(sql); err != nil {
			t.Fatal(err)
		}
	})
}

func trimSemicolons(texts []string) []string {
	for len(texts) > 0 && texts[0] == ";" {
		texts = texts[1:]
	}
	for len(texts) > 0 && texts[len(texts)-1] == ";" {
		texts = texts[:len(texts)-1]
	}
	return texts
}

// FuzzClassify checks the classifier on arbitrary input: it never panics,
// its results are internally consistent, and a memoised result shared
// between strings that differ only in literal values equals what parsing
// the other string directly gives.
func FuzzClassify(f *testing.F) {
	for _, s := range scannerCorpus {
		f.Add(s)
	}
	for _, c := range eligibilityCases {
		f.Add(c.sql)
	}
	for _, c := range effectCases {
		f.Add(c.sql)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		c, err := query.NewClassifier(query.Config{})
		if err != nil {
			t.Fatal(err)
		}
		res := c.Classify(sql)
		checkInfo(t, sql, res.Info)
		// The second and third call come from the memo of lexer output by
		// exact text; they must answer as the lexer did.
		for i := 0; i < 2; i++ {
			again := c.Classify(sql)
			if again.Info != res.Info || again.Text != res.Text || again.Hint != res.Hint || !reflect.DeepEqual(again.Literals, res.Literals) {
				t.Fatalf("call %d of %q answered\n%+v\nafter\n%+v", i+2, sql, again, res)
			}
		}
		variant := query.LiteralVariant(sql)
		shared := c.Classify(variant).Info
		direct := query.ParseUncached(variant)
		if (shared.Err == nil) != (direct.Err == nil) && res.Info.Err == nil {
			// Only a literal's value can make one of two strings with the
			// same structure fail to parse (an invalid escape, say); the
			// proxy forwards both, and PostgreSQL reports the error.
			return
		}
		if !reflect.DeepEqual(shared.Statements, direct.Statements) {
			t.Fatalf("memoised classification of %q (shared with %q):\n%+v\ndirect parse:\n%+v", variant, sql, shared.Statements, direct.Statements)
		}
	})
}

// checkInfo asserts the invariants every classification satisfies.
func checkInfo(t *testing.T, sql string, info *query.Info) {
	t.Helper()
	if info == nil {
		t.Fatalf("Classify(%q) returned a nil Info", sql)
	}
	if info.Err != nil && len(info.Statements) > 0 {
		t.Fatalf("Classify(%q) has both an error and statements", sql)
	}
	for _, st := range info.Statements {
		if !st.ReadOnly {
			continue
		}
		switch st.Kind {
		case query.KindSelect, query.KindShow, query.KindCopyTo, query.KindExplain:
		default:
			t.Fatalf("Classify(%q): a %v statement is read-only", sql, st.Kind)
		}
		if len(st.Writes) > 0 || len(st.Creates) > 0 || len(st.Effects) > 0 || st.UnknownWrites ||
			st.Locking != query.LockNone || st.SelectInto || st.ModifyingCTE || st.Transaction.Kind != query.TxNone {
			t.Fatalf("Classify(%q): read-only statement %+v writes, locks or has effects", sql, st)
		}
	}
}
