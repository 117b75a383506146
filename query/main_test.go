package query_test

import (
	"os"
	"testing"

	"github.com/pgwarp/pgwarp/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
