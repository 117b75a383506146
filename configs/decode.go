package configs

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// decoder walks a YAML document node by node so that every problem is
// reported with the file, the line and the dotted key path, and so that an
// unknown key is an error rather than silently ignored.
type decoder struct {
	file string
	errs []error
}

// LoadError is one problem found while loading a configuration file.
type LoadError struct {
	File   string
	Line   int
	Column int
	Path   string // dotted key path, e.g. "databases.app.pool.max_size"
	Msg    string
}

func (e *LoadError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Column)
	}
	if e.Path != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Path, e.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, e.Msg)
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	e := &LoadError{File: d.file, Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
}

func (d *decoder) err() error { return errors.Join(d.errs...) }

// field is a handler for one key of a mapping.
type field func(n *yaml.Node, path string)

// mapping calls the handler of each key of n, reporting unknown and
// duplicated keys.
func (d *decoder) mapping(n *yaml.Node, path string, fields map[string]field) {
	if n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "must be a mapping (key: value lines), got %s", describe(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		p := join(path, key)
		if seen[key] {
			d.errorf(k, p, "key given twice")
			continue
		}
		seen[key] = true
		h, ok := fields[key]
		if !ok {
			d.errorf(k, path, "unknown key %q%s", key, suggest(key, fields))
			continue
		}
		h(v, p)
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	return strconv.Quote(n.Value)
}

// suggest returns ` (did you mean "x"?)` for the closest known key.
func suggest(key string, fields map[string]field) string {
	best, bestD := "", 3
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if d := editDistance(key, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return fmt.Sprintf(" (known keys: %s)", strings.Join(names, ", "))
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func (d *decoder) scalar(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "must be a single value, got %s", describe(n))
		return "", false
	}
	return n.Value, true
}

func (d *decoder) str(dst *string) field {
	return func(n *yaml.Node, path string) {
		if v, ok := d.scalar(n, path); ok {
			*dst = v
		}
	}
}

func (d *decoder) boolean(dst *bool) field {
	return func(n *yaml.Node, path string) {
		v, ok := d.scalar(n, path)
		if !ok {
			return
		}
		switch strings.ToLower(v) {
		case "true", "yes", "on":
			*dst = true
		case "false", "no", "off":
			*dst = false
		default:
			d.errorf(n, path, "must be true or false, got %q", v)
		}
	}
}

// integer accepts a whole number within [lo, hi].
func (d *decoder) integer(dst *int, lo, hi int) field {
	return func(n *yaml.Node, path string) {
		v, ok := d.scalar(n, path)
		if !ok {
			return
		}
		i, err := strconv.Atoi(strings.ReplaceAll(v, "_", ""))
		if err != nil {
			d.errorf(n, path, "must be a whole number, got %q", v)
			return
		}
		if i < lo || i > hi {
			d.errorf(n, path, "must be between %d and %d, got %d", lo, hi, i)
			return
		}
		*dst = i
	}
}

func (d *decoder) float(dst *float64, lo, hi float64) field {
	return func(n *yaml.Node, path string) {
		v, ok := d.scalar(n, path)
		if !ok {
			return
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) {
			d.errorf(n, path, "must be a number, got %q", v)
			return
		}
		if f < lo || f > hi {
			d.errorf(n, path, "must be between %g and %g, got %g", lo, hi, f)
			return
		}
		*dst = f
	}
}

// duration accepts Go durations ("500ms", "20s", "5m", "1h30m") and "0".
func (d *decoder) duration(dst *time.Duration) field {
	return func(n *yaml.Node, path string) {
		v, ok := d.scalar(n, path)
		if !ok {
			return
		}
		dur, err := ParseDuration(v)
		if err != nil {
			d.errorf(n, path, "%v", err)
			return
		}
		*dst = dur
	}
}

// size accepts a byte count with an optional unit (B, kB/KiB, MB/MiB,
// GB/GiB; units are powers of 1024, as in postgresql.conf).
func (d *decoder) size(dst *int64) field {
	return func(n *yaml.Node, path string) {
		v, ok := d.scalar(n, path)
		if !ok {
			return
		}
		s, err := ParseSize(v)
		if err != nil {
			d.errorf(n, path, "%v", err)
			return
		}
		*dst = s
	}
}

func (d *decoder) enum(dst *string, allowed ...string) field {
	return func(n *yaml.Node, path string) {
		v, ok := d.scalar(n, path)
		if !ok {
			return
		}
		for _, a := range allowed {
			if strings.EqualFold(v, a) {
				*dst = a
				return
			}
		}
		d.errorf(n, path, "must be one of %s, got %q", strings.Join(allowed, ", "), v)
	}
}

func (d *decoder) strings(dst *[]string) field {
	return func(n *yaml.Node, path string) {
		if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
			*dst = []string{n.Value}
			return
		}
		d.sequence(n, path, func(item *yaml.Node, p string) {
			if v, ok := d.scalar(item, p); ok {
				*dst = append(*dst, v)
			}
		})
	}
}

func (d *decoder) sequence(n *yaml.Node, path string, each func(item *yaml.Node, path string)) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "must be a list, got %s", describe(n))
		return
	}
	for i, item := range n.Content {
		each(item, fmt.Sprintf("%s[%d]", path, i))
	}
}

// ParseDuration parses a Go duration string ("20s", "5m", "1h30m"); a bare
// "0" is zero.
func ParseDuration(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "0" {
		return 0, nil
	}
	dur, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: use a number with a unit, like 500ms, 20s, 5m or 1h", v)
	}
	if dur < 0 {
		return 0, fmt.Errorf("invalid duration %q: must not be negative", v)
	}
	return dur, nil
}

// ParseSize parses a byte count with an optional unit: B, kB or KiB, MB or
// MiB, GB or GiB (all powers of 1024, as in postgresql.conf).
func ParseSize(v string) (int64, error) {
	s := strings.TrimSpace(v)
	i := len(s)
	for i > 0 && (s[i-1] < '0' || s[i-1] > '9') {
		i--
	}
	num, unit := strings.TrimSpace(s[:i]), strings.TrimSpace(s[i:])
	n, err := strconv.ParseInt(strings.ReplaceAll(num, "_", ""), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid size %q: use a whole number of bytes with an optional unit, like 8MiB or 256MiB", v)
	}
	mult := int64(1)
	switch strings.ToLower(unit) {
	case "", "b":
	case "k", "kb", "kib":
		mult = 1 << 10
	case "m", "mb", "mib":
		mult = 1 << 20
	case "g", "gb", "gib":
		mult = 1 << 30
	default:
		return 0, fmt.Errorf("invalid size %q: unknown unit %q (use B, KiB, MiB or GiB)", v, unit)
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("invalid size %q: too large", v)
	}
	return n * mult, nil
}
