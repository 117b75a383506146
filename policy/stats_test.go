package policy_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/pgwarp/pgwarp/policy"
)

func TestStatsCountViolationsByLimitModeDatabaseAndUser(t *testing.T) {
	e := mustNew(t, policy.Config{
		Settings: policy.Settings{MaxRowsPerQuery: new(int64(1)), MaxRowsPerWrite: new(int64(1))},
		Overrides: []policy.Override{
			{Database: "analytics", Settings: policy.Settings{Mode: mode(policy.ModeWarn)}},
			{Database: "scratch", Settings: policy.Settings{Mode: mode(policy.ModeOff)}},
		},
	})
	rows := func(db, user string) {
		o := e.Check(db, user, autocommitRead).Observe()
		o.Row(1)
		o.Row(1)
	}
	rows("app", "web")
	rows("app", "web")
	rows("app", "api")
	rows("analytics", "web")
	rows("scratch", "web")
	o := e.Check("app", "web", autocommitWrite).Observe()
	o.Written(2)
	e.Check("analytics", "web", txRead).TransactionTimedOut(time.Minute)

	got := e.Stats()
	want := []policy.Series{
		{Database: "analytics", User: "web", Limit: policy.LimitRowsPerQuery, Mode: policy.ModeWarn, Count: 1},
		{Database: "analytics", User: "web", Limit: policy.LimitTransactionTimeout, Mode: policy.ModeWarn, Count: 1},
		{Database: "app", User: "api", Limit: policy.LimitRowsPerQuery, Mode: policy.ModeEnforce, Count: 1},
		{Database: "app", User: "web", Limit: policy.LimitRowsPerQuery, Mode: policy.ModeEnforce, Count: 2},
		{Database: "app", User: "web", Limit: policy.LimitRowsPerWrite, Mode: policy.ModeEnforce, Count: 1},
	}
	if fmt.Sprint(got.Series) != fmt.Sprint(want) || got.Total != 6 {
		t.Fatalf("Stats() = %+v (total %d)\nwant %+v (total 6)", got.Series, got.Total, want)
	}
}

func TestStatsFoldPairsBeyondTheCapIntoOther(t *testing.T) {
	e := mustNew(t, policy.Config{Settings: policy.Settings{MaxRowsPerQuery: new(int64(1))}})
	violate := func(user string) {
		o := e.Check("app", user, autocommitRead).Observe()
		o.Row(1)
		if o.Row(1) == nil {
			t.Fatalf("no violation for %s", user)
		}
	}
	const extra = 7
	for i := range policy.MaxStatsSeries + extra {
		violate(fmt.Sprintf("user%03d", i))
	}
	violate("user000") // a pair seen before the cap keeps its own series
	violate("late")    // a new pair after the cap is folded

	s := e.Stats()
	if len(s.Series) != policy.MaxStatsSeries+1 {
		t.Fatalf("%d series, want %d plus other", len(s.Series), policy.MaxStatsSeries)
	}
	counts := map[string]uint64{}
	for _, x := range s.Series {
		counts[x.Database+"/"+x.User] = x.Count
	}
	if got := counts[policy.OtherSeries+"/"+policy.OtherSeries]; got != extra+1 {
		t.Errorf("other = %d, want %d", got, extra+1)
	}
	if got := counts["app/user000"]; got != 2 {
		t.Errorf("app/user000 = %d, want 2", got)
	}
	if _, ok := counts["app/late"]; ok {
		t.Error("a pair beyond the cap got its own series")
	}
	if s.Total != policy.MaxStatsSeries+extra+2 {
		t.Errorf("Total = %d, want %d", s.Total, policy.MaxStatsSeries+extra+2)
	}
}

func TestOnViolationSeesEveryViolationOnceAfterItIsCounted(t *testing.T) {
	e := mustNew(t, policy.Config{Settings: policy.Settings{
		Mode:            mode(policy.ModeWarn),
		MaxRowsPerQuery: new(int64(2)),
	}})
	var seen []*policy.Violation
	e.OnViolation = func(v *policy.Violation) {
		if e.Stats().Total != uint64(len(seen)+1) {
			t.Errorf("hook ran before the violation was counted")
		}
		seen = append(seen, v)
	}
	o := e.Check("app", "web", autocommitRead).Observe()
	var returned []*policy.Violation
	for range 10 {
		if v := o.Row(1); v != nil {
			returned = append(returned, v)
		}
	}
	st := e.Check("app", "web", autocommitRead).StatementTimedOut(time.Hour)
	returned = append(returned, st)
	if len(seen) != 2 || len(returned) != 2 || seen[0] != returned[0] || seen[1] != returned[1] {
		t.Fatalf("hook saw %v, observer and constructor returned %v", seen, returned)
	}
}

func TestStatsSurviveReload(t *testing.T) {
	e := mustNew(t, policy.Config{Settings: policy.Settings{MaxRowsPerQuery: new(int64(1))}})
	o := e.Check("app", "web", autocommitRead).Observe()
	o.Row(1)
	o.Row(1)
	if err := e.Reload(policy.Config{}); err != nil {
		t.Fatal(err)
	}
	if got := e.Stats().Total; got != 1 {
		t.Fatalf("Total after reload = %d, want 1", got)
	}
}
