package policy_test

import (
	"testing"

	"github.com/pgwarp/pgwarp/policy"
)

// mustNew returns an Engine for cfg or fails the test.
func mustNew(t testing.TB, cfg policy.Config) *policy.Engine {
	t.Helper()
	e, err := policy.New(cfg)
	if err != nil {
		t.Fatalf("policy.New: %v", err)
	}
	return e
}

// mode returns a pointer to m, for Settings literals.
func mode(m policy.Mode) *policy.Mode { return &m }

var (
	autocommitRead  = policy.Statement{}
	autocommitWrite = policy.Statement{Write: true}
	txRead          = policy.Statement{InTransaction: true}
	txWrite         = policy.Statement{Write: true, InTransaction: true}
)
