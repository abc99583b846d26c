package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/vpce-guard/vpce-guard/lambda/config"
)

// A narrow rewrite is the owner's statements with the template's bounds:
// never the template itself, so CHECK_MODE=exact finds it non-compliant on
// its own Modify event and rewrites it again, bounds on bounds, until it
// no longer fits and the template is written. The two cannot be chosen
// together.
func TestNarrowRewriteNeedsSubsetMode(t *testing.T) {
	t.Parallel()
	_, err := config.FromEnv(env(map[string]string{"CHECK_MODE": "exact", "REWRITE": "narrow"}))
	var ve *config.VariableError
	if !errors.As(err, &ve) || ve.Name != "REWRITE" || !strings.Contains(err.Error(), "CHECK_MODE") {
		t.Errorf("error %v: want one that names REWRITE and CHECK_MODE", err)
	}
	if _, err := config.FromEnv(env(map[string]string{"CHECK_MODE": "subset", "REWRITE": "narrow"})); err != nil {
		t.Errorf("subset and narrow: %v", err)
	}
}
