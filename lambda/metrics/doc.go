// Package metrics writes CloudWatch metrics in the Embedded Metric Format: one
// JSON object per line on a writer (standard output in Lambda), which CloudWatch
// Logs turns into metrics without any API call or extra permission.
//
// See https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
package metrics
