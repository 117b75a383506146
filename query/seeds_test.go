package query_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// fuzzSeeds are the seed inputs of each fuzz target, also committed under
// testdata/fuzz/<target>/ so that the corpus lives beside the code and
// `go test` replays it without the fuzzing cache.
func fuzzSeeds() map[string][]string {
	var classify, readOnly []string
	classify = append(classify, scannerCorpus...)
	for _, c := range eligibilityCases {
		classify = append(classify, c.sql)
		readOnly = append(readOnly, c.sql)
	}
	for _, c := range effectCases {
		classify = append(classify, c.sql)
	}
	for i, sql := range readOnlyVariants() {
		if i%10 == 0 {
			readOnly = append(readOnly, sql)
		}
	}
	return map[string][]string{
		"FuzzLexer":    scannerCorpus,
		"FuzzClassify": classify,
		"FuzzReadOnly": readOnly,
		"FuzzKeys":     keySeeds,
	}
}

// seedFile returns the name and contents of the corpus file for one seed,
// in the format of `go test -fuzz`.
func seedFile(target, sql string) (string, []byte) {
	body := []byte("go test fuzz v1\nstring(" + strconv.Quote(sql) + ")\n")
	if target == "FuzzKeys" {
		// FuzzKeys also takes a parameter value.
		body = append(body, "string(\"7\")\n"...)
	}
	sum := sha256.Sum256(body)
	return filepath.Join("testdata", "fuzz", target, "seed-"+hex.EncodeToString(sum[:8])), body
}

// TestFuzzSeedCorporaAreCommitted checks that every seed of the fuzz
// targets is committed under testdata/fuzz. PGWARP_WRITE_FUZZ_SEEDS=1
// writes the missing files.
func TestFuzzSeedCorporaAreCommitted(t *testing.T) {
	write := os.Getenv("PGWARP_WRITE_FUZZ_SEEDS") == "1"
	for target, seeds := range fuzzSeeds() {
		for _, sql := range seeds {
			name, body := seedFile(target, sql)
			got, err := os.ReadFile(name)
			if err == nil && string(got) == string(body) {
				continue
			}
			if !write {
				t.Errorf("seed %q of %s is not committed as %s (run with PGWARP_WRITE_FUZZ_SEEDS=1)", sql, target, name)
				continue
			}
			if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(name, body, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
