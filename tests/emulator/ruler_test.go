package emulator_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vpce-guard/vpce-guard/tests/emulator"
)

// One event-ruler process holds several rules, answers which match each
// event, and reports a pattern it refuses without losing the rules it has.
func TestEventRuler(t *testing.T) {
	t.Parallel()
	ruler := emulator.StartEventRuler(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rules := map[string]string{
		"not-self": `{"detail": {"arn": [{"anything-but": "self"}]}}`,
		"no-arn":   `{"detail": {"arn": [{"exists": false}]}}`,
		"logs":     `{"detail": {"$or": [{"service": [{"suffix": ".logs"}]}, {"arn": ["self"]}]}}`,
	}
	for name, pattern := range rules {
		if err := ruler.AddRule(ctx, name, []byte(pattern)); err != nil {
			t.Fatal(err)
		}
	}
	if err := ruler.AddRule(ctx, "typo", []byte(`{"detail": {"arn": [{"exist": false}]}}`)); err == nil || !strings.Contains(err.Error(), "exist") {
		t.Errorf("a pattern with an unknown operator: error %v, want one that names it", err)
	}
	for _, tt := range []struct {
		event string
		want  []string
	}{
		{`{"detail": {"arn": "other"}}`, []string{"not-self"}},
		{`{"detail": {"arn": "self"}}`, []string{"logs"}},
		{`{"detail": {"service": "com.amazonaws.eu-west-1.logs"}}`, []string{"logs", "no-arn"}},
		{`{"detail": {}}`, []string{"no-arn"}},
	} {
		got, err := ruler.Match(ctx, []byte(tt.event))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			got = nil
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s matched %v, want %v", tt.event, got, tt.want)
		}
	}
	if _, err := ruler.Match(ctx, []byte(`{"detail": `)); err == nil {
		t.Error("an event that is not JSON matched without an error")
	}
}
