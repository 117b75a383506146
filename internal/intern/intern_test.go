package intern_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/pgwarp/pgwarp/internal/intern"
)

func TestBytesReturnsTheStoredCopy(t *testing.T) {
	tb := intern.New(64, 100)
	first := tb.Bytes([]byte("SELECT 1")) // seen
	a := tb.Bytes([]byte("SELECT 1"))     // kept
	b := tb.Bytes([]byte("SELECT 1"))
	if first != "SELECT 1" || a != first || b != a {
		t.Fatalf("got %q, %q and %q", first, a, b)
	}
	if unsafe.StringData(a) != unsafe.StringData(b) {
		t.Fatal("equal bytes gave two copies")
	}
	if n := testing.AllocsPerRun(100, func() { _ = tb.Bytes([]byte("SELECT 1")) }); n != 0 {
		t.Fatalf("an interned string costs %v allocations, want 0", n)
	}
}

func TestBytesCostsOneAllocationForStringsThatNeverRecur(t *testing.T) {
	tb := intern.New(64, 100)
	texts := make([][]byte, 1000)
	for i := range texts {
		texts[i] = fmt.Appendf(nil, "SELECT %d", i)
	}
	i := 0
	if n := testing.AllocsPerRun(500, func() {
		_ = tb.Bytes(texts[i])
		i++
	}); n != 1 {
		t.Fatalf("a string seen once costs %v allocations, want 1", n)
	}
}

func TestBytesKeepsOnlyWhatFits(t *testing.T) {
	tb := intern.New(4, 8)
	long := []byte("SELECT 12345")
	if a, b, c := tb.Bytes(long), tb.Bytes(long), tb.Bytes(long); a != string(long) || unsafe.StringData(b) == unsafe.StringData(c) {
		t.Fatal("a string longer than maxLen was interned")
	}
	if tb.Bytes(nil) != "" || tb.Bytes([]byte{}) != "" {
		t.Fatal("empty input")
	}
	var nilTable *intern.Table
	if nilTable.Bytes([]byte("x")) != "x" {
		t.Fatal("nil table")
	}
	// Far more distinct strings than slots: every answer is still right.
	for i := range 1000 {
		s := fmt.Sprint("q", i%37)
		if got := tb.Bytes([]byte(s)); got != s {
			t.Fatalf("got %q for %q", got, s)
		}
	}
}

func TestBytesIsSafeForConcurrentUse(t *testing.T) {
	tb := intern.New(8, 64)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				s := strings.Repeat("x", (g+i)%50)
				if got := tb.Bytes([]byte(s)); got != s {
					t.Errorf("got %q for %q", got, s)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkBytes(b *testing.B) {
	tb := intern.New(1024, 4096)
	q := []byte(strings.Repeat("SELECT a, b FROM t WHERE x = 1 ", 10))
	b.ReportAllocs()
	for b.Loop() {
		_ = tb.Bytes(q)
	}
}

func BenchmarkString(b *testing.B) {
	q := []byte(strings.Repeat("SELECT a, b FROM t WHERE x = 1 ", 10))
	b.ReportAllocs()
	var s string
	for b.Loop() {
		s = string(q)
	}
	_ = s
}
