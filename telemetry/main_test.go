package telemetry_test

import (
	"os"
	"testing"

	"github.com/pgwarp/pgwarp/internal/pgtest"
)

// TestMain fails the tests when one leaves a pgwarp goroutine running.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
