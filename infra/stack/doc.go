// Package stack is vpce-guard's AWS CDK stack: the function built from
// ./lambda for provided.al2023 on arm64, the EventBridge rule on
// CreateVpcEndpoint and ModifyVpcEndpoint calls, the scheduled sweep, a
// least-privilege role, the failure queue, alarms, and optionally an alarm
// topic and a CloudTrail trail.
//
// Everything the stack does is decided by CDK context keys ([Keys]), read and
// validated by [SettingsFromContext]: the function's own settings are checked
// by lambda/config at synth, so a value the function would refuse stops the
// synth and names the context key.
package stack
