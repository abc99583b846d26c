// Package config reads vpce-guard's settings from environment variables.
//
// The Lambda reads them once at cold start and refuses to start on a bad value, so
// a typo fails the deployment loudly instead of every invocation quietly. Every
// problem is reported at once, each naming the variable, its value and what was
// expected.
package config
