package securityhub

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// MaxResponseBytes bounds what is read of an answer. A hundred refused
// findings, each with its ID (512 characters at most) and message, are
// well under 200 KB; an error body past it is cut, a success past it fails.
const MaxResponseBytes = 1 << 20

// userAgent names the caller in Security Hub's CloudTrail events.
const userAgent = "vpce-guard"

// Options are a Client's settings, read from the aws.Config by
// NewFromConfig and open to change by its option functions.
type Options struct {
	// Region is the region of the endpoint and of the signature.
	Region string
	// Credentials sign the requests; nil or aws.AnonymousCredentials sends
	// them unsigned, as the SDK does.
	Credentials aws.CredentialsProvider
	// Endpoint says where the requests go, see ResolveEndpoint.
	Endpoint EndpointOptions
	// HTTPClient sends the requests.
	HTTPClient aws.HTTPClient
	// Retryer decides which failures are tried again, how often and after
	// how long.
	Retryer aws.Retryer
	// Now is the signing clock.
	Now func() time.Time
}

// Client calls Security Hub's BatchImportFindings and BatchUpdateFindings.
// It is safe for concurrent use; create it once per account and region.
type Client struct {
	options  Options
	endpoint *url.URL
	// endpointErr is why there is no endpoint: every call returns it, as the
	// SDK's calls do.
	endpointErr error
	signer      *v4.Signer
}

// NewFromConfig returns the Client of cfg as the SDK's
// securityhub.NewFromConfig would make it: its region and credentials (in a
// credentials cache if they are not already), its HTTP client (else the
// SDK's default), its retryer (else the SDK's standard one, or the adaptive
// one for RetryMode adaptive; RetryMaxAttempts caps it), its endpoint (see
// endpointOptions), then optFns.
func NewFromConfig(cfg aws.Config, optFns ...func(*Options)) *Client {
	o := Options{Region: cfg.Region, Credentials: cfg.Credentials, HTTPClient: cfg.HTTPClient, Retryer: retryerOf(cfg), Now: time.Now}
	endpoint, err := endpointOptions(cfg, os.LookupEnv)
	o.Endpoint = endpoint
	for _, fn := range optFns {
		fn(&o)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = awshttp.NewBuildableClient()
	}
	if o.Credentials != nil && !aws.IsCredentialsProvider(o.Credentials, (*aws.CredentialsCache)(nil)) &&
		!aws.IsCredentialsProvider(o.Credentials, aws.AnonymousCredentials{}) {
		o.Credentials = aws.NewCredentialsCache(o.Credentials)
	}
	c := &Client{options: o, signer: v4.NewSigner()}
	if err == nil {
		c.endpoint, err = ResolveEndpoint(o.Region, o.Endpoint)
	}
	c.endpointErr = err
	return c
}

func retryerOf(cfg aws.Config) aws.Retryer {
	var r aws.Retryer
	switch {
	case cfg.Retryer != nil:
		r = cfg.Retryer()
	case cfg.RetryMode == aws.RetryModeAdaptive:
		r = retry.NewAdaptiveMode()
	default:
		r = retry.NewStandard()
	}
	if cfg.RetryMaxAttempts != 0 {
		r = retry.AddWithMaxAttempts(r, cfg.RetryMaxAttempts)
	}
	return r
}

// Endpoint is where the client's requests go, or why it has none.
func (c *Client) Endpoint() (*url.URL, error) {
	if c.endpointErr != nil {
		return nil, c.endpointErr
	}
	u := *c.endpoint
	return &u, nil
}

// BatchImportFindings imports findings (POST /findings/import). Findings it
// refuses one by one are in the output's FailedFindings, not an error.
func (c *Client) BatchImportFindings(ctx context.Context, in *BatchImportFindingsInput) (*BatchImportFindingsOutput, error) {
	out := &BatchImportFindingsOutput{}
	if err := c.call(ctx, "BatchImportFindings", http.MethodPost, "/findings/import", in, out); err != nil {
		return nil, err
	}
	return out, nil
}

// BatchUpdateFindings updates what a customer may change of findings (PATCH
// /findings/batchupdate). Findings it does not update are in the output's
// UnprocessedFindings, not an error.
func (c *Client) BatchUpdateFindings(ctx context.Context, in *BatchUpdateFindingsInput) (*BatchUpdateFindingsOutput, error) {
	out := &BatchUpdateFindingsOutput{}
	if err := c.call(ctx, "BatchUpdateFindings", http.MethodPatch, "/findings/batchupdate", in, out); err != nil {
		return nil, err
	}
	return out, nil
}

// call runs an operation; its error is a *smithy.OperationError, as the
// SDK's.
func (c *Client) call(ctx context.Context, operation, method, path string, in, out any) error {
	if err := c.retried(ctx, method, path, in, out); err != nil {
		return &smithy.OperationError{ServiceID: ServiceID, OperationName: operation, Err: err}
	}
	return nil
}

// retried is the SDK's retry middleware (aws/retry, Attempt.HandleFinalize)
// around send: the first attempt's token, a retry token before each retry,
// released with each attempt's outcome, the retryer's delay, and a
// *retry.MaxAttemptsError when the attempts are spent.
func (c *Client) retried(ctx context.Context, method, path string, in, out any) error {
	if c.endpointErr != nil {
		return fmt.Errorf("failed to resolve service endpoint, %w", c.endpointErr)
	}
	body, err := json.Marshal(in)
	if err != nil {
		return &smithy.SerializationError{Err: err}
	}
	u := operationURL(c.endpoint, path).String()
	r := c.options.Retryer
	releaseAttempt, err := attemptToken(ctx, r)
	if err != nil {
		return fmt.Errorf("failed to get retry Send token, %w", err)
	}
	releaseRetry := func(error) error { return nil }
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := c.send(ctx, method, u, body, out)
		_ = releaseRetry(err)
		_ = releaseAttempt(err)
		releaseAttempt = func(error) error { return nil } // the first attempt's only
		if err == nil {
			return nil
		}
		if !r.IsErrorRetryable(err) {
			return err
		}
		if limit := r.MaxAttempts(); limit > 0 && attempt >= limit {
			return &retry.MaxAttemptsError{Attempt: attempt, Err: err}
		}
		var tokenErr error
		if releaseRetry, tokenErr = r.GetRetryToken(ctx, err); tokenErr != nil {
			return errors.Join(err, tokenErr)
		}
		delay, delayErr := r.RetryDelay(attempt, err)
		if delayErr != nil {
			return delayErr
		}
		if sleepErr := sleep(ctx, retryAfter(delay, err)); sleepErr != nil {
			return &aws.RequestCanceledError{Err: sleepErr}
		}
	}
}

// retryAfter is the SDK's adjustForRetryAfterHeader: an answer's
// X-Amz-Retry-After, in milliseconds, stretches the retryer's delay by at
// most five seconds, and never shortens it.
func retryAfter(delay time.Duration, err error) time.Duration {
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.Response == nil || re.Response.Response == nil {
		return delay
	}
	ms, parseErr := strconv.ParseInt(re.Response.Header.Get("X-Amz-Retry-After"), 10, 64)
	if parseErr != nil || ms < 0 {
		return delay
	}
	return min(max(time.Duration(ms)*time.Millisecond, delay), delay+5*time.Second)
}

// attemptToken is the token of an operation's first attempt, the SDK's way:
// GetAttemptToken of a RetryerV2 (the standard retryer is one), else
// GetInitialToken.
func attemptToken(ctx context.Context, r aws.Retryer) (func(error) error, error) {
	if v2, ok := r.(aws.RetryerV2); ok {
		return v2.GetAttemptToken(ctx)
	}
	return r.GetInitialToken(), nil
}

// send makes one attempt: the request, signed now, and its answer decoded
// into out.
func (c *Client) send(ctx context.Context, method, u string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return &smithy.SerializationError{Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if err := c.sign(ctx, req, body); err != nil {
		return err
	}
	resp, err := c.options.HTTPClient.Do(req)
	if err != nil {
		// As the SDK's transport: an ended context is not retried, any
		// other failure to send is a connection error, which is.
		if ctx.Err() != nil {
			return &smithy.CanceledError{Err: ctx.Err()}
		}
		return &smithyhttp.RequestSendError{Err: err}
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return fmt.Errorf("read the answer (HTTP %d): %w", resp.StatusCode, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return responseError(resp, truncate(data, MaxResponseBytes))
	}
	if len(data) > MaxResponseBytes {
		return &smithy.DeserializationError{Err: fmt.Errorf("answer over %d bytes", MaxResponseBytes)}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil // an empty answer is an empty output, as the SDK reads it
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &smithy.DeserializationError{Err: fmt.Errorf("decode the answer: %w", err), Snapshot: truncate(data, 1024)}
	}
	return nil
}

// sign signs req with SigV4 for Security Hub in the client's region, as the
// SDK's signing middleware does for a REST-JSON service: the payload's
// SHA-256 signed, not sent as a header.
func (c *Client) sign(ctx context.Context, req *http.Request, body []byte) error {
	if c.options.Credentials == nil || aws.IsCredentialsProvider(c.options.Credentials, aws.AnonymousCredentials{}) {
		return nil
	}
	creds, err := c.options.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("failed to retrieve credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), SigningName, c.options.Region, c.options.Now().UTC()); err != nil {
		return fmt.Errorf("failed to sign request: %w", err)
	}
	return nil
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
