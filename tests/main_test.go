package tests

import (
	"flag"
	"os"
	"testing"

	"github.com/vpce-guard/vpce-guard/tests/emulator"
)

// emulatorParallel is how many tests run at once unless -parallel says
// otherwise. The emulator tests spend their time waiting (the SDK's backoff,
// slow answers, a function timeout) rather than computing, so the default,
// one per CPU, would leave a 2-core CI machine idle.
const emulatorParallel = "6"

// TestMain shares one moto and one bootstrap build among the emulator tests
// of this binary, and stops and removes them at the end.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", emulatorParallel)
	}
	os.Exit(emulator.Main(m))
}
