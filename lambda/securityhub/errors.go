package securityhub

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// modeledErrors are the errors both operations declare in the model, with
// their fault; any other code comes back as a *smithy.GenericAPIError, as
// from the SDK. The difference matters to the SDK's retryer: it retries an
// HTTP 429 whose error is not modeled.
var modeledErrors = map[string]smithy.ErrorFault{
	"InternalException":      smithy.FaultServer,
	"InvalidAccessException": smithy.FaultClient,
	"InvalidInputException":  smithy.FaultClient,
	"LimitExceededException": smithy.FaultClient,
}

// ModeledError is an error the model declares for the operation, as the
// SDK's types.InternalException and the like: its message reads "CODE:
// MESSAGE".
type ModeledError struct {
	Code    string
	Message string
	Fault   smithy.ErrorFault
}

var _ smithy.APIError = (*ModeledError)(nil)

func (e *ModeledError) Error() string                 { return e.Code + ": " + e.Message }
func (e *ModeledError) ErrorCode() string             { return e.Code }
func (e *ModeledError) ErrorMessage() string          { return e.Message }
func (e *ModeledError) ErrorFault() smithy.ErrorFault { return e.Fault }

// responseError is what an error answer (HTTP status outside 2xx) becomes,
// the SDK's way: an *awshttp.ResponseError, with the status and the request
// ID, around the API error the body and headers name.
func responseError(resp *http.Response, body []byte) error {
	return &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: resp}, Err: apiError(resp.Header, body)},
		RequestID:     requestID(resp.Header),
	}
}

// apiError decodes a REST-JSON error as the SDK's restjson does: the code
// from the X-Amzn-ErrorType header, else the body's Code or __type, cut to
// its name; the message from the body's Message (or message). A body that is
// not JSON (a proxy's error page) keeps its start as the message.
func apiError(h http.Header, body []byte) smithy.APIError {
	code := sanitizeErrorCode(h.Get("X-Amzn-ErrorType"))
	var doc struct {
		Code    string
		Type    string `json:"__type"`
		Message string // encoding/json takes "message" too
	}
	message := ""
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, &doc); err != nil {
			message = fmt.Sprintf("undecodable error body: %q", truncate(body, 256))
		}
	}
	if code == "" {
		code = sanitizeErrorCode(doc.Code)
	}
	if code == "" {
		code = sanitizeErrorCode(doc.Type)
	}
	if code == "" {
		code = "UnknownError"
	}
	if doc.Message != "" {
		message = doc.Message
	}
	for modeled, fault := range modeledErrors {
		if strings.EqualFold(code, modeled) {
			return &ModeledError{Code: modeled, Message: message, Fault: fault}
		}
	}
	if message == "" {
		message = "UnknownError" // the SDK's message of an unmodeled error without one
	}
	return &smithy.GenericAPIError{Code: code, Message: message}
}

// sanitizeErrorCode is the SDK's restjson.SanitizeErrorCode: what comes
// before a colon, then after a #.
func sanitizeErrorCode(code string) string {
	code, _, _ = strings.Cut(code, ":")
	if _, after, ok := strings.Cut(code, "#"); ok {
		code = after
	}
	return code
}

// requestID is the request ID header the SDK reads.
func requestID(h http.Header) string {
	for _, name := range []string{"X-Amzn-Requestid", "X-Amz-RequestId"} {
		if v := h.Get(name); v != "" {
			return v
		}
	}
	return ""
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
