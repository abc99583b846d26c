package cli

// SimulateArgs are the arguments a printed witness line replays, for the
// test that reads the line back with bash.
var SimulateArgs = simulateArgs
