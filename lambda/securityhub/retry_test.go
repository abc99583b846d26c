package securityhub

import (
	"errors"
	"net/http"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// X-Amz-Retry-After stretches the retryer's delay, by at most five
// seconds, as in the SDK's retry loop.
func TestRetryAfter(t *testing.T) {
	t.Parallel()
	answer := func(header string) error {
		h := http.Header{}
		if header != "" {
			h.Set("X-Amz-Retry-After", header)
		}
		return responseError(&http.Response{StatusCode: http.StatusTooManyRequests, Header: h}, nil)
	}
	for _, tt := range []struct {
		delay time.Duration
		err   error
		want  time.Duration
	}{
		{time.Second, answer(""), time.Second},
		{time.Second, answer("2500"), 2500 * time.Millisecond},
		{time.Second, answer("200"), time.Second},
		{time.Second, answer("60000"), 6 * time.Second},
		{0, answer("0"), 0},
		{time.Second, answer("-5"), time.Second},
		{time.Second, answer("soon"), time.Second},
		{time.Second, errors.New("connection reset"), time.Second},
	} {
		if got := retryAfter(tt.delay, tt.err); got != tt.want {
			t.Errorf("retryAfter(%v, %v) = %v, want %v", tt.delay, tt.err, got, tt.want)
		}
	}
	var re *awshttp.ResponseError
	if !errors.As(answer("1"), &re) || re.HTTPStatusCode() != http.StatusTooManyRequests {
		t.Errorf("responseError: %v", answer("1"))
	}
}
