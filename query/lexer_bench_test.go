package query

import "testing"

var sinkText string

// BenchmarkLex is the lexer alone on the pgbench statement, with reused
// buffers as Classify uses them.
func BenchmarkLex(b *testing.B) {
	sql := "SELECT abalance FROM pgbench_accounts WHERE aid = 12345;"
	key := make([]byte, 0, 256)
	text := make([]byte, 0, 256)
	b.SetBytes(int64(len(sql)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sc := scan{key: key[:0]}
		text = lex(sql, &sc, false, text)
		key = sc.key
		sinkText = sc.text
	}
}
