package recordring

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

func TestTheRingKeepsOnlyTheNewestRecords(t *testing.T) {
	t.Parallel()
	r := New(4)
	for i := 1; i <= 10; i++ {
		r.Add(&modelapi.RequestRecord{RequestID: fmt.Sprint(i)})
	}
	got := r.Snapshot(Filter{})
	if len(got) != 4 || got[0].RequestID != "7" || got[3].RequestID != "10" || got[3].Seq != 10 {
		t.Fatalf("ring %+v", got)
	}
	if got := r.Snapshot(Filter{Since: 8}); len(got) != 2 || got[0].Seq != 9 {
		t.Fatalf("since 8: %+v", got)
	}
	if got := r.Snapshot(Filter{Since: 100}); got == nil || len(got) != 0 {
		t.Fatalf("since 100: %#v, want an empty, non-nil list", got)
	}
	if got := r.Snapshot(Filter{RequestID: "3"}); len(got) != 0 {
		t.Fatalf("evicted record still found: %+v", got)
	}
	if got := r.Snapshot(Filter{Limit: 2}); len(got) != 2 || got[1].Seq != 10 {
		t.Fatalf("limit 2: %+v", got)
	}
}

func TestAFilterReadsSinceAsASequenceOrATimeAndNamesABadParameter(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f, err := ParseFilter(url.Values{"since": {at.Format(time.RFC3339Nano)}, "limit": {"3"}, "id": {"x"}})
	if err != nil || !f.SinceTime.Equal(at) || f.Limit != 3 || f.RequestID != "x" {
		t.Fatalf("got %+v, %v", f, err)
	}
	if f, err := ParseFilter(url.Values{"since": {"7"}}); err != nil || f.Since != 7 {
		t.Fatalf("since 7: %+v, %v", f, err)
	}
	for _, q := range []string{"since=yesterday", "limit=0", "limit=x"} {
		v, _ := url.ParseQuery(q)
		if _, err := ParseFilter(v); err == nil || !strings.HasPrefix(err.Error(), strings.Split(q, "=")[0]+":") {
			t.Errorf("%s: %v", q, err)
		}
	}
}
