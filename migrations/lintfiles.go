package migrations

import "github.com/pgwarp/pgwarp/migrations/lint"

// LintFiles converts migrations to the linter's input, in order.
func LintFiles(migs []*Migration) []lint.File {
	files := make([]lint.File, 0, len(migs))
	for _, m := range migs {
		f := lint.File{Name: m.File}
		for _, s := range m.Sections {
			for _, b := range []struct {
				down bool
				blk  Block
			}{{false, s.Up}, {true, s.Down}} {
				f.Blocks = append(f.Blocks, lint.Block{
					Down:        b.down,
					Line:        b.blk.Line,
					SQL:         b.blk.SQL,
					Transaction: b.blk.Options.Transaction(),
					Options:     b.blk.Options,
					Malformed:   b.blk.Malformed,
				})
			}
		}
		files = append(files, f)
	}
	return files
}

// Lint lints every migration of the runner.
func (r *Runner) Lint() []lint.Finding {
	return lint.Check(LintFiles(r.migs))
}

// lintPending lints the whole set, so that the linter knows the tables the
// earlier files created, and keeps the findings of the pending files.
func (r *Runner) lintPending(pending []*Migration) []lint.Finding {
	want := map[string]bool{}
	for _, m := range pending {
		want[m.File] = true
	}
	var out []lint.Finding
	for _, f := range r.Lint() {
		if want[f.File] {
			out = append(out, f)
		}
	}
	return out
}
