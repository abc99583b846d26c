// Package emulator runs the real pieces of vpce-guard's end-to-end tests on
// this machine, without an AWS account and without the network beyond
// 127.0.0.1:
//
//   - moto in server mode as EC2 ([StartMoto], [SharedMoto]), found through
//     the MOTO_SERVER variable or the repository's .venv (make venv), and as
//     the account that cdk deploy deploys to ([StartMotoForDeploy]), with
//     [Run] for the CLI runs;
//   - the function's bootstrap, built as it ships (internal/build) for this machine
//     ([BuildBootstrap]), run by the AWS Lambda Runtime Interface Emulator
//     ([StartLambda]) and invoked over HTTP exactly as Lambda would;
//   - a reverse proxy between the function and moto that injects throttling,
//     server errors and slow answers per action ([StartFaultProxy]), and
//     stands in for Security Hub's BatchUpdateFindings, which moto lacks
//     ([ResolveFindings]);
//   - SDK clients for moto with dummy credentials ([EC2Client],
//     [SecurityHubClient]);
//   - AWS's event-ruler, the open-source matcher of EventBridge-style
//     patterns, in a Java process that answers on its standard output
//     ([StartEventRuler]), found through VPCE_GUARD_EVENT_RULER or the jar
//     make event-ruler builds.
//
// Every server listens on 127.0.0.1 on a free port and is waited for until it
// answers; every process is stopped when the test (or, for the shared moto,
// the test binary) ends, and has its log printed when the test failed.
//
// When moto or event-ruler is missing, a test skips with a hint to run make
// test, unless VPCE_GUARD_REQUIRE_EMULATORS=1 (set by make test), where it
// fails instead.
//
// A test binary that shares moto and the builds calls [Main] from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(emulator.Main(m)) }
package emulator
