package securityhub_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdk "github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/smithy-go"

	"github.com/vpce-guard/vpce-guard/lambda/securityhub"
)

const (
	region       = "eu-west-1"
	accessKeyID  = "AKIDEXAMPLE"
	secretKey    = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	sessionToken = "session-token-of-the-member-role"
)

var signedAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// request is what the test server received.
type request struct {
	method, path string
	header       http.Header
	host         string
	length       int64
	body         []byte
}

// answer is one of the test server's responses.
type answer struct {
	status int
	header map[string]string
	body   string
}

// server answers with answers in turn, the last one again once they run
// out, and keeps what it received.
type server struct {
	*httptest.Server
	mu       sync.Mutex
	answers  []answer
	requests []request
}

func newServer(t *testing.T, answers ...answer) *server {
	t.Helper()
	s := &server{answers: answers}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body) // a failed read shows as a wrong body
		s.mu.Lock()
		s.requests = append(s.requests, request{r.Method, r.URL.Path, r.Header.Clone(), r.Host, r.ContentLength, body})
		a := s.answers[min(len(s.requests), len(s.answers))-1]
		s.mu.Unlock()
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	}))
	t.Cleanup(s.Close)
	return s
}

// answerWith replaces the answers.
func (s *server) answerWith(answers ...answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers = answers
}

func (s *server) received() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// noWait is the standard retryer, three attempts, without its backoff or
// its retry quota: the tests never sleep.
func noWait() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 3
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		o.RateLimiter = ratelimit.None
	})
}

func testConfig() aws.Config {
	return aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(accessKeyID, secretKey, sessionToken),
		Retryer:     noWait,
	}
}

// newClient is a client of the test server, signing at signedAt.
func newClient(s *server) *securityhub.Client {
	return securityhub.NewFromConfig(testConfig(), func(o *securityhub.Options) {
		o.Endpoint = securityhub.EndpointOptions{BaseEndpoint: s.URL}
		o.Now = func() time.Time { return signedAt }
	})
}

const imported = `{"FailedCount":0,"SuccessCount":1,"FailedFindings":[]}`

// finding has every member the package knows set.
func finding() securityhub.AwsSecurityFinding {
	return securityhub.AwsSecurityFinding{
		SchemaVersion: "2018-10-08", ID: "vpce-guard/eu-west-1/111122223333/vpce-1/endpoint-policy",
		ProductARN:  "arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default",
		ProductName: "vpce-guard", GeneratorID: "vpce-guard/endpoint-policy", AwsAccountID: "111122223333", Region: region,
		Types:     []string{"Software and Configuration Checks/AWS Security Best Practices", "Effects/Data Exfiltration"},
		CreatedAt: "2026-01-02T03:04:05.000Z", UpdatedAt: "2026-01-02T03:04:05.000Z",
		Severity: &securityhub.Severity{Label: securityhub.SeverityLabelHigh},
		FindingProviderFields: &securityhub.FindingProviderFields{
			Severity: &securityhub.FindingProviderSeverity{Label: securityhub.SeverityLabelHigh}, Types: []string{"Effects/Data Exfiltration"}},
		Title: "VPC endpoint policy allows more than its template", Description: "The policy of VPC endpoint vpce-1 … <&> \"quoted\"",
		Resources: []securityhub.Resource{{Type: "Other", ID: "arn:aws:ec2:eu-west-1:111122223333:vpc-endpoint/vpce-1",
			Partition: securityhub.PartitionAws, Region: region, Details: &securityhub.ResourceDetails{Other: map[string]string{"verdict": "noncompliant", "é": "€"}}}},
		RecordState: securityhub.RecordStateActive,
		Compliance:  &securityhub.Compliance{Status: securityhub.ComplianceStatusFailed},
		Workflow:    &securityhub.Workflow{Status: securityhub.WorkflowStatusNew},
		Remediation: &securityhub.Remediation{Recommendation: &securityhub.Recommendation{Text: "Let vpce-guard write its template."}},
		Note:        &securityhub.Note{Text: "a note", UpdatedBy: "vpce-guard", UpdatedAt: "2026-01-02T03:04:05.000Z"},
	}
}

func update() *securityhub.BatchUpdateFindingsInput {
	return &securityhub.BatchUpdateFindingsInput{
		FindingIdentifiers: []securityhub.AwsSecurityFindingIdentifier{{ID: finding().ID, ProductARN: finding().ProductARN}},
		Workflow:           &securityhub.WorkflowUpdate{Status: securityhub.WorkflowStatusResolved},
		Note:               &securityhub.NoteUpdate{Text: "vpce-guard rewrote the endpoint's policy", UpdatedBy: "vpce-guard"},
	}
}

// Both operations send what the SDK's client sends for the same input: the
// method, the path and the body, member for member. The SDK's input is
// decoded from ours by encoding/json, which matches member names without
// regard to case: a name we spell otherwise than the model reaches the
// SDK's serializer and comes back spelled the model's way, one we lack
// comes back missing; either way the bodies differ.
func TestWireFormatIsTheSDKs(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ours := newServer(t, answer{status: 200, body: imported})
	theirs := newServer(t, answer{status: 200, body: imported})
	client := newClient(ours)
	cfg := testConfig()
	cfg.BaseEndpoint = aws.String(theirs.URL)
	sdkClient := sdk.NewFromConfig(cfg)

	in := &securityhub.BatchImportFindingsInput{Findings: []securityhub.AwsSecurityFinding{finding()}}
	if _, err := client.BatchImportFindings(ctx, in); err != nil {
		t.Fatal(err)
	}
	var sdkIn sdk.BatchImportFindingsInput
	convert(t, in, &sdkIn)
	if _, err := sdkClient.BatchImportFindings(ctx, &sdkIn); err != nil {
		t.Fatal(err)
	}
	updated := answer{status: 200, body: `{"ProcessedFindings":[],"UnprocessedFindings":[]}`}
	ours.answerWith(updated)
	theirs.answerWith(updated)
	if _, err := client.BatchUpdateFindings(ctx, update()); err != nil {
		t.Fatal(err)
	}
	var sdkUpdate sdk.BatchUpdateFindingsInput
	convert(t, update(), &sdkUpdate)
	if _, err := sdkClient.BatchUpdateFindings(ctx, &sdkUpdate); err != nil {
		t.Fatal(err)
	}

	got, want := ours.received(), theirs.received()
	if len(got) != 2 || len(want) != 2 {
		t.Fatalf("%d and %d requests, want 2 each", len(got), len(want))
	}
	for i, op := range []string{"BatchImportFindings", "BatchUpdateFindings"} {
		if got[i].method != want[i].method || got[i].path != want[i].path || got[i].header.Get("Content-Type") != want[i].header.Get("Content-Type") {
			t.Errorf("%s: %s %s (%s), the SDK's %s %s (%s)", op, got[i].method, got[i].path, got[i].header.Get("Content-Type"),
				want[i].method, want[i].path, want[i].header.Get("Content-Type"))
		}
		if !reflect.DeepEqual(decode(t, got[i].body), decode(t, want[i].body)) {
			t.Errorf("%s body:\n%s\nthe SDK's:\n%s", op, got[i].body, want[i].body)
		}
	}
	if got[0].method != http.MethodPost || got[0].path != "/findings/import" || got[1].method != http.MethodPatch || got[1].path != "/findings/batchupdate" {
		t.Errorf("requests %s %s and %s %s", got[0].method, got[0].path, got[1].method, got[1].path)
	}
}

func convert(t *testing.T, from, to any) {
	t.Helper()
	b, err := json.Marshal(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, to); err != nil {
		t.Fatal(err)
	}
}

func decode(t *testing.T, body []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return v
}

// The request carries a SigV4 signature that verifies, recomputed here from
// what the server received by the algorithm as AWS documents it, for
// Security Hub in the client's region, with the session token signed. The
// same check passes for the SDK's own client, which keeps the check honest.
func TestSignature(t *testing.T) {
	t.Parallel()
	s := newServer(t, answer{status: 200, body: imported})
	in := &securityhub.BatchImportFindingsInput{Findings: []securityhub.AwsSecurityFinding{finding()}}
	if _, err := newClient(s).BatchImportFindings(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.BaseEndpoint = aws.String(s.URL)
	var sdkIn sdk.BatchImportFindingsInput
	convert(t, in, &sdkIn)
	if _, err := sdk.NewFromConfig(cfg).BatchImportFindings(t.Context(), &sdkIn); err != nil {
		t.Fatal(err)
	}
	for i, r := range s.received() {
		signed := verifySigV4(t, r)
		for _, h := range []string{"host", "x-amz-date", "x-amz-security-token", "content-type", "content-length"} {
			if !slices.Contains(signed, h) {
				t.Errorf("request %d: %s not signed (%v)", i, h, signed)
			}
		}
	}
	ours := s.received()[0]
	if got := ours.header.Get("X-Amz-Date"); got != "20260102T030405Z" {
		t.Errorf("X-Amz-Date %s, want the signing time", got)
	}
	if !strings.HasPrefix(ours.header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential="+accessKeyID+"/20260102/"+region+"/securityhub/aws4_request, ") {
		t.Errorf("Authorization %s", ours.header.Get("Authorization"))
	}
}

// verifySigV4 recomputes r's signature and returns its signed headers.
func verifySigV4(t *testing.T, r request) []string {
	t.Helper()
	auth := r.header.Get("Authorization")
	fields := map[string]string{}
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		t.Fatalf("Authorization %q: not SigV4", auth)
	}
	for part := range strings.SplitSeq(rest, ", ") {
		k, v, _ := strings.Cut(part, "=")
		fields[k] = v
	}
	scope := strings.SplitN(fields["Credential"], "/", 2)
	if len(scope) != 2 || scope[0] != accessKeyID {
		t.Fatalf("Credential %q", fields["Credential"])
	}
	date := r.header.Get("X-Amz-Date")
	if scope[1] != date[:8]+"/"+region+"/securityhub/aws4_request" {
		t.Errorf("scope %s, want %s/%s/securityhub/aws4_request", scope[1], date[:8], region)
	}
	if r.header.Get("X-Amz-Security-Token") != sessionToken {
		t.Errorf("X-Amz-Security-Token %q", r.header.Get("X-Amz-Security-Token"))
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	var canonical strings.Builder
	for _, h := range signed {
		v := r.header.Get(h)
		switch h {
		case "host":
			v = r.host
		case "content-length":
			v = fmt.Sprint(r.length)
		}
		canonical.WriteString(h + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	payload := sha256.Sum256(r.body)
	canonicalRequest := strings.Join([]string{r.method, r.path, "", canonical.String(), fields["SignedHeaders"], hex.EncodeToString(payload[:])}, "\n")
	hashed := sha256.Sum256([]byte(canonicalRequest))
	toSign := "AWS4-HMAC-SHA256\n" + date + "\n" + scope[1] + "\n" + hex.EncodeToString(hashed[:])
	key := []byte("AWS4" + secretKey)
	for _, part := range []string{date[:8], region, "securityhub", "aws4_request"} {
		key = hmacOf(key, part)
	}
	if want := hex.EncodeToString(hmacOf(key, toSign)); fields["Signature"] != want {
		t.Errorf("signature %s, recomputed %s; canonical request:\n%s", fields["Signature"], want, canonicalRequest)
	}
	return signed
}

func hmacOf(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// The credentials are the configuration's, asked for at each call: the
// member role's in an organization, renewed by their cache.
func TestCredentialsOfTheConfig(t *testing.T) {
	t.Parallel()
	s := newServer(t, answer{status: 200, body: imported})
	calls := 0
	cfg := testConfig()
	cfg.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		calls++
		return aws.Credentials{AccessKeyID: "ASIAMEMBER", SecretAccessKey: "s", SessionToken: "t", CanExpire: true, Expires: time.Now().Add(time.Hour)}, nil
	})
	client := securityhub.NewFromConfig(cfg, func(o *securityhub.Options) { o.Endpoint.BaseEndpoint = s.URL })
	for range 2 {
		if _, err := client.BatchImportFindings(t.Context(), &securityhub.BatchImportFindingsInput{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range s.received() {
		if !strings.Contains(r.header.Get("Authorization"), "Credential=ASIAMEMBER/") || r.header.Get("X-Amz-Security-Token") != "t" {
			t.Errorf("signed with %s, token %q", r.header.Get("Authorization"), r.header.Get("X-Amz-Security-Token"))
		}
	}
	if calls != 1 {
		t.Errorf("credentials retrieved %d times, want once: a provider that is not a cache gets one", calls)
	}
}

// Error answers come back as the SDK's errors do: the code and message
// (errors.As finds them as a smithy.APIError), the HTTP status and the
// request ID, in the SDK's words.
func TestErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		answer   answer
		code     string
		message  string
		modeled  bool
		attempts int
		text     string // the whole error message, when given
	}{
		{name: "access denied", answer: answer{status: 403, header: map[string]string{"X-Amzn-Errortype": "AccessDeniedException:http://internal.amazon.com/coral/", "X-Amzn-Requestid": "req-1"},
			body: `{"message":"User: arn:aws:sts::111122223333:assumed-role/vpce-guard/x is not authorized to perform: securityhub:BatchImportFindings"}`},
			code: "AccessDeniedException", message: "User: arn:aws:sts::111122223333:assumed-role/vpce-guard/x is not authorized to perform: securityhub:BatchImportFindings", attempts: 1,
			text: "operation error SecurityHub: BatchImportFindings, https response error StatusCode: 403, RequestID: req-1, api error AccessDeniedException: User: arn:aws:sts::111122223333:assumed-role/vpce-guard/x is not authorized to perform: securityhub:BatchImportFindings"},
		{name: "not subscribed, modeled", answer: answer{status: 401, header: map[string]string{"X-Amzn-Requestid": "req-2"},
			body: `{"Code":"InvalidAccessException","Message":"Account 111122223333 is not subscribed to AWS Security Hub"}`},
			code: "InvalidAccessException", message: "Account 111122223333 is not subscribed to AWS Security Hub", modeled: true, attempts: 1,
			text: "operation error SecurityHub: BatchImportFindings, https response error StatusCode: 401, RequestID: req-2, InvalidAccessException: Account 111122223333 is not subscribed to AWS Security Hub"},
		{name: "code in __type", answer: answer{status: 400, body: `{"__type":"com.amazonaws.securityhub#InvalidInputException","message":"Findings: too many"}`},
			code: "InvalidInputException", message: "Findings: too many", modeled: true, attempts: 1},
		{name: "no body", answer: answer{status: 400}, code: "UnknownError", message: "UnknownError", attempts: 1},
		{name: "throttled", answer: answer{status: 429, body: `{"Code":"TooManyRequestsException","Message":"Rate exceeded"}`},
			code: "TooManyRequestsException", message: "Rate exceeded", attempts: 3,
			text: "operation error SecurityHub: BatchImportFindings, exceeded maximum number of attempts, 3, https response error StatusCode: 429, RequestID: , api error TooManyRequestsException: Rate exceeded"},
		{name: "over the limit, modeled", answer: answer{status: 429, body: `{"Code":"LimitExceededException","Message":"slow down"}`},
			code: "LimitExceededException", message: "slow down", modeled: true, attempts: 3},
		{name: "429, an unknown code", answer: answer{status: 429, body: `{"Code":"SomethingNew"}`}, code: "SomethingNew", message: "UnknownError", attempts: 3},
		{name: "internal", answer: answer{status: 500, body: `{"Code":"InternalException","Message":"oops"}`}, code: "InternalException", message: "oops", modeled: true, attempts: 3},
		{name: "a proxy's page", answer: answer{status: 502, body: "<html>Bad Gateway</html>"}, code: "UnknownError",
			message: `undecodable error body: "<html>Bad Gateway</html>"`, attempts: 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, tt.answer)
			_, err := newClient(s).BatchImportFindings(t.Context(), &securityhub.BatchImportFindingsInput{Findings: []securityhub.AwsSecurityFinding{finding()}})
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.code || apiErr.ErrorMessage() != tt.message {
				t.Fatalf("%v; want %s: %s", err, tt.code, tt.message)
			}
			if _, generic := apiErr.(*smithy.GenericAPIError); generic == tt.modeled {
				t.Errorf("%T; modeled %v", apiErr, tt.modeled)
			}
			var respErr *awshttp.ResponseError
			if !errors.As(err, &respErr) || respErr.HTTPStatusCode() != tt.answer.status || respErr.ServiceRequestID() != tt.answer.header["X-Amzn-Requestid"] {
				t.Errorf("%v: want HTTP %d, request ID %q", err, tt.answer.status, tt.answer.header["X-Amzn-Requestid"])
			}
			var opErr *smithy.OperationError
			if !errors.As(err, &opErr) || opErr.Service() != "SecurityHub" || opErr.Operation() != "BatchImportFindings" {
				t.Errorf("%v: not an operation error of SecurityHub BatchImportFindings", err)
			}
			if tt.text != "" && err.Error() != tt.text {
				t.Errorf("error\n%s\nwant\n%s", err, tt.text)
			}
			if n := len(s.received()); n != tt.attempts {
				t.Errorf("%d attempts, want %d", n, tt.attempts)
			}
		})
	}
}

// Throttling and server errors are tried again, by the configuration's
// retryer, until an answer comes: the output is the answer's.
func TestRetries(t *testing.T) {
	t.Parallel()
	s := newServer(t,
		answer{status: 503, body: `{"Code":"ServiceUnavailable"}`},
		answer{status: 429, body: `{"Code":"TooManyRequestsException","Message":"Rate exceeded"}`},
		answer{status: 200, body: `{"FailedCount":2,"SuccessCount":1,"FailedFindings":[{"Id":"a","ErrorCode":"InvalidInput","ErrorMessage":"bad"},{"Id":"b","ErrorCode":"InvalidAccess","ErrorMessage":"not enabled"}]}`})
	out, err := newClient(s).BatchImportFindings(t.Context(), &securityhub.BatchImportFindingsInput{Findings: []securityhub.AwsSecurityFinding{finding()}})
	if err != nil {
		t.Fatal(err)
	}
	want := &securityhub.BatchImportFindingsOutput{FailedCount: 2, SuccessCount: 1, FailedFindings: []securityhub.ImportFindingsError{
		{ID: "a", ErrorCode: "InvalidInput", ErrorMessage: "bad"}, {ID: "b", ErrorCode: "InvalidAccess", ErrorMessage: "not enabled"}}}
	if !reflect.DeepEqual(out, want) {
		t.Errorf("output %+v, want %+v", out, want)
	}
	got := s.received()
	if len(got) != 3 {
		t.Fatalf("%d attempts, want 3", len(got))
	}
	// Each attempt is signed anew, with the same body.
	for _, r := range got {
		verifySigV4(t, r)
		if !bytes.Equal(r.body, got[0].body) || len(r.body) == 0 {
			t.Errorf("attempt body %q, want the first's", r.body)
		}
	}

	// The configuration's retryer decides: one attempt, none again.
	s = newServer(t, answer{status: 500, body: `{"Code":"InternalException"}`})
	cfg := testConfig()
	cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
	_, err = securityhub.NewFromConfig(cfg, func(o *securityhub.Options) { o.Endpoint.BaseEndpoint = s.URL }).
		BatchUpdateFindings(t.Context(), update())
	if err == nil || len(s.received()) != 1 {
		t.Errorf("%v after %d attempts; want an error after one", err, len(s.received()))
	}
}

// An empty answer is an empty output, as the SDK reads it; one that is not
// JSON is an error, and not tried again.
func TestAnswerDecoded(t *testing.T) {
	t.Parallel()
	s := newServer(t, answer{status: 200})
	if out, err := newClient(s).BatchImportFindings(t.Context(), &securityhub.BatchImportFindingsInput{}); err != nil || out.FailedCount != 0 {
		t.Errorf("%+v, %v; want an empty output", out, err)
	}
	s = newServer(t, answer{status: 200, body: "<html>"})
	var decodeErr *smithy.DeserializationError
	if _, err := newClient(s).BatchImportFindings(t.Context(), &securityhub.BatchImportFindingsInput{}); !errors.As(err, &decodeErr) || len(s.received()) != 1 {
		t.Errorf("%v after %d attempts; want a deserialization error after one", err, len(s.received()))
	}
}

// BatchUpdateFindings's answer, the findings it did not update with theirs.
func TestUnprocessedFindings(t *testing.T) {
	t.Parallel()
	s := newServer(t, answer{status: 200, body: `{"ProcessedFindings":[{"Id":"a","ProductArn":"p"}],` +
		`"UnprocessedFindings":[{"FindingIdentifier":{"Id":"b","ProductArn":"p"},"ErrorCode":"FindingNotFound","ErrorMessage":"not found"}]}`})
	out, err := newClient(s).BatchUpdateFindings(t.Context(), update())
	if err != nil {
		t.Fatal(err)
	}
	want := &securityhub.BatchUpdateFindingsOutput{
		ProcessedFindings: []securityhub.AwsSecurityFindingIdentifier{{ID: "a", ProductARN: "p"}},
		UnprocessedFindings: []securityhub.BatchUpdateFindingsUnprocessedFinding{
			{FindingIdentifier: &securityhub.AwsSecurityFindingIdentifier{ID: "b", ProductARN: "p"}, ErrorCode: "FindingNotFound", ErrorMessage: "not found"}},
	}
	if !reflect.DeepEqual(out, want) {
		t.Errorf("output %+v, want %+v", out, want)
	}
}

// A context that ends stops the call: before the request, or while it
// waits for the answer, and it is not tried again.
func TestContextEnds(t *testing.T) {
	t.Parallel()
	s := newServer(t, answer{status: 200, body: imported})
	ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	if _, err := newClient(s).BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{}); !errors.Is(err, context.DeadlineExceeded) || len(s.received()) != 0 {
		t.Errorf("%v after %d requests; want the deadline, and none", err, len(s.received()))
	}

	arrived := make(chan struct{}, 3)
	var attempts int
	var mu sync.Mutex
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The server sees the client go only once the body is read.
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		attempts++
		mu.Unlock()
		arrived <- struct{}{}
		<-r.Context().Done() // answers never; the client goes away
	}))
	defer hanging.Close()
	ctx, cancel = context.WithCancel(t.Context())
	go func() {
		<-arrived
		cancel()
	}()
	client := securityhub.NewFromConfig(testConfig(), func(o *securityhub.Options) { o.Endpoint.BaseEndpoint = hanging.URL })
	_, err := client.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{})
	mu.Lock()
	defer mu.Unlock()
	if !errors.Is(err, context.Canceled) || attempts != 1 {
		t.Errorf("%v after %d attempts; want canceled after one", err, attempts)
	}
}

// An answer is read up to MaxResponseBytes: a longer one fails rather than
// fill the memory, and an error answer is cut.
func TestAnswerBounded(t *testing.T) {
	t.Parallel()
	huge := `{"FailedCount":0,"SuccessCount":1` + strings.Repeat(" ", securityhub.MaxResponseBytes) + `}`
	s := newServer(t, answer{status: 200, body: huge})
	_, err := newClient(s).BatchImportFindings(t.Context(), &securityhub.BatchImportFindingsInput{})
	if err == nil || !strings.Contains(err.Error(), "answer over 1048576 bytes") {
		t.Errorf("%v; want the answer refused", err)
	}
	s = newServer(t, answer{status: 400, header: map[string]string{"X-Amzn-Errortype": "InvalidInputException"},
		body: `{"Message":"` + strings.Repeat("x", 2*securityhub.MaxResponseBytes) + `"}`})
	_, err = newClient(s).BatchImportFindings(t.Context(), &securityhub.BatchImportFindingsInput{})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidInputException" || len(apiErr.ErrorMessage()) > 300 {
		t.Errorf("%.200v; want InvalidInputException with a cut message", err)
	}
}

// A client whose endpoint cannot be resolved says why at every call.
func TestNoEndpoint(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Region = ""
	_, err := securityhub.NewFromConfig(cfg).BatchImportFindings(t.Context(), &securityhub.BatchImportFindingsInput{})
	if !errors.Is(err, securityhub.ErrMissingRegion) || !strings.Contains(err.Error(), "operation error SecurityHub: BatchImportFindings, failed to resolve service endpoint") {
		t.Errorf("%v; want the missing region", err)
	}
	_, err = securityhub.NewFromConfig(testConfig(), func(o *securityhub.Options) {
		o.Endpoint = securityhub.EndpointOptions{BaseEndpoint: "http://localhost:1", UseFIPS: true}
	}).
		BatchUpdateFindings(t.Context(), update())
	if !errors.Is(err, securityhub.ErrFIPSWithEndpoint) {
		t.Errorf("%v; want FIPS with an endpoint refused", err)
	}
}
