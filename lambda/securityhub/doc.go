// Package securityhub is the part of AWS Security Hub's API that vpce-guard
// calls, BatchImportFindings and BatchUpdateFindings, written by hand: the
// SDK's client of every Security Hub operation and every ASFF resource type
// was about 1.5 MB of a bootstrap held under 12 MiB, for two calls.
//
// It does what the SDK's client does for these two calls, with the SDK's own
// parts where they are exported: requests signed with the SDK's SigV4 signer
// (signing name securityhub) with the credentials of the aws.Config it is made
// from; the endpoint the SDK's rules give (securityhub.REGION.DNS-SUFFIX in
// every partition, FIPS and dual-stack when the configuration asks for them)
// or the one configured (AWS_ENDPOINT_URL_SECURITYHUB, the services section of
// the shared config file, AWS_ENDPOINT_URL), see [NewFromConfig]; the
// configuration's retryer, with the SDK's retry loop; and errors of the SDK's
// types, so that errors.As finds the error code, the HTTP status and the
// request ID, and the messages read as before ("operation error SecurityHub:
// BatchImportFindings, https response error StatusCode: 403, RequestID: …,
// api error AccessDeniedException: …").
//
// The shapes are the API model's (botocore's securityhub 2018-10-26
// service-2.json, the same model the SDK is generated from), limited to the
// members vpce-guard sends or reads, under the model's member names.
package securityhub
