package badinput_test

// Bad inputs: every class of input the program must survive
// without a crash, with a clear error or a skip, and without writing anything
// it should not. These tests use the in-memory EC2 of internal/fakeec2 and
// need no moto. The "Bad inputs" table of tests/README.md lists them with what
// the program does.

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpce-guard/vpce-guard/internal/fakeec2"
	"github.com/vpce-guard/vpce-guard/lambda/cli"
	"github.com/vpce-guard/vpce-guard/lambda/cloudtrail"
	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/lambda/handler"
	"github.com/vpce-guard/vpce-guard/lambda/policy"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
	"github.com/vpce-guard/vpce-guard/policytemplates"
	"github.com/vpce-guard/vpce-guard/tests/emulator"
)

const (
	ownAccount   = "111122223333"
	otherAccount = "444455556666"
	testRegion   = "eu-west-1"
	logsService  = "com.amazonaws.eu-west-1.logs"
	vpceID       = "vpce-0123456789abcdef0"
)

// createRecord is the CloudTrail record of a CreateVpcEndpoint call in region by
// account.
func createRecord(eventID, endpointID, account, region string) string {
	return fmt.Sprintf(`{"eventVersion":"1.08","eventID":%q,"eventName":"CreateVpcEndpoint","eventSource":"ec2.amazonaws.com",`+
		`"eventTime":"2026-01-02T03:04:05Z","awsRegion":%q,"recipientAccountId":%q,`+
		`"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::%s:user/alice","accountId":%q},`+
		`"requestParameters":{"CreateVpcEndpointRequest":{"VpcId":"vpc-1","ServiceName":"com.amazonaws.%s.logs","VpcEndpointType":"Interface"}},`+
		`"responseElements":{"CreateVpcEndpointResponse":{"vpcEndpoint":{"vpcEndpointId":%q,"state":"pending"}}}}`,
		eventID, region, account, account, account, region, endpointID)
}

// eventEnvelope is an EventBridge event around a CloudTrail record.
func eventEnvelope(detail string) string {
	return `{"version":"0","id":"eb-1","detail-type":"AWS API Call via CloudTrail","source":"aws.ec2",` +
		`"account":"111122223333","time":"2026-01-02T03:04:05Z","region":"eu-west-1","resources":[],"detail":` + detail + `}`
}

func logsTemplate(t testing.TB, account string) string {
	t.Helper()
	text, err := policytemplates.Render(policytemplates.Logs, policytemplates.Params{Region: testRegion, AccountID: account})
	if err != nil {
		t.Fatal(err)
	}
	return string(text)
}

func defaultConfig(t testing.TB) config.Config {
	t.Helper()
	cfg, err := config.FromEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// handleEvent runs one event through handler.Handle against fake, for a function
// guarding eu-west-1, and returns what it logged. It fails the test on a panic
// rather than crashing the binary, so that the other cases still report.
func handleEvent(t *testing.T, fake *fakeec2.EC2, event []byte) (outcomes []remediate.Outcome, err error, logs string) {
	t.Helper()
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	h := handler.New(remediate.New(fake, testRegion, defaultConfig(t)), log, io.Discard)
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Errorf("Handle panicked: %v", p)
			}
		}()
		_, err = h.Handle(t.Context(), event)
	}()
	return emulator.LoggedOutcomes(t, buf.String()), err, buf.String()
}

// nestedArrays is depth levels of JSON arrays around inner.
func nestedArrays(depth int, inner string) string {
	return strings.Repeat("[", depth) + inner + strings.Repeat("]", depth)
}

// nestedObjects is depth levels of {"a": ...} around inner.
func nestedObjects(depth int, inner string) string {
	return strings.Repeat(`{"a":`, depth) + inner + strings.Repeat("}", depth)
}

// Malformed, truncated, invalid-UTF-8 and deeply nested events through the
// handler. Undecodable input is logged at ERROR as "malformed event dropped"
// and makes no AWS call; input that decodes but names no usable endpoint is
// skipped. No case may write.
func TestBadInputEvents(t *testing.T) {
	t.Parallel()
	good := eventEnvelope(createRecord("ct-1", vpceID, ownAccount, testRegion))
	goodRecord := createRecord("ct-1", vpceID, ownAccount, testRegion)
	for _, tc := range []struct {
		name      string
		event     string
		malformed bool   // logged at ERROR and dropped
		skipped   string // else: one skipped outcome whose reason holds this
		describes int    // DescribeVpcEndpoints calls allowed
		writes    int    // ModifyVpcEndpoint calls expected (only for the complete records of a cut log file)
	}{
		{name: "empty", event: "", malformed: true},
		{name: "whitespace", event: " \n\t", malformed: true},
		{name: "not-json", event: "hello", malformed: true},
		{name: "json-null", event: "null", malformed: true},
		{name: "json-number", event: "42", malformed: true},
		{name: "json-string", event: `"CreateVpcEndpoint"`, malformed: true},
		{name: "empty-object", event: "{}", malformed: true},
		{name: "unknown-shape", event: `{"hello":"world"}`, malformed: true},
		{name: "truncated-event-half", event: good[:len(good)/2], malformed: true},
		{name: "truncated-event-last-byte", event: good[:len(good)-1], malformed: true},
		{name: "truncated-record", event: goodRecord[:len(goodRecord)-10], malformed: true},
		{name: "detail-is-a-string", event: eventEnvelope(`"oops"`), malformed: true},
		{name: "detail-is-null", event: eventEnvelope(`null`), malformed: true},
		{name: "eventName-is-a-number", event: eventEnvelope(`{"eventID":"ct-1","eventName":7,"eventSource":"ec2.amazonaws.com"}`), skipped: "neither"},
		{name: "records-not-an-array", event: `{"Records":{"eventID":"ct-1"}}`, malformed: true},
		{name: "records-truncated-in-first", event: `{"Records":[` + goodRecord[:200], malformed: true},
		{name: "records-truncated-after-first", event: `{"Records":[` + goodRecord + `,{"eventID":"ct-2","eventNa`,
			malformed: true, describes: 1, writes: 1},
		{name: "records-second-wrong-type", event: `{"Records":[` + goodRecord + `,{"eventID":7}]}`,
			malformed: true, describes: 1, writes: 1},
		{name: "trailing-garbage", event: good + "}", malformed: true, describes: 1, writes: 1},
		{name: "invalid-utf8-in-endpoint-id", event: eventEnvelope(strings.Replace(goodRecord, vpceID, "vpce-0123\xff\xfe6789abcdef0", 1)),
			skipped: "no valid endpoint ID"},
		{name: "invalid-utf8-in-event-name", event: eventEnvelope(strings.Replace(goodRecord, "CreateVpcEndpoint", "Create\xffVpcEndpoint", 1)),
			skipped: "neither"},
		{name: "invalid-utf8-outside-strings", event: "\xff" + good, malformed: true},
		{name: "nested-10000-arrays-top-level", event: nestedArrays(10000, "1"), malformed: true},
		{name: "nested-10000-in-detail", event: eventEnvelope(nestedObjects(10000, "1")), malformed: true},
		{name: "nested-10000-in-request-parameters", event: eventEnvelope(strings.Replace(goodRecord,
			`"requestParameters":{`, `"deep":`+nestedArrays(10000, "0")+`,"requestParameters":{`, 1)), malformed: true},
		{name: "nested-100000-arrays", event: nestedArrays(100000, "1"), malformed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := fakeec2.New(fakeec2.Endpoint(vpceID, logsService, ownAccount, fakeec2.DefaultPolicy))
			outcomes, err, logs := handleEvent(t, fake, []byte(tc.event))
			if err != nil {
				t.Errorf("Handle returned %v, want no error: bad input is dropped, not retried", err)
			}
			dropped := strings.Contains(logs, `"level":"ERROR","msg":"malformed event dropped"`)
			if dropped != tc.malformed {
				t.Errorf("dropped as malformed = %v, want %v; logs:\n%s", dropped, tc.malformed, shorten(logs))
			}
			if tc.skipped != "" {
				if len(outcomes) != 1 || outcomes[0].Verdict != remediate.Skipped ||
					!strings.Contains(strings.Join(outcomes[0].Reasons, "; "), tc.skipped) {
					t.Errorf("outcomes %+v, want one skipped for %q", outcomes, tc.skipped)
				}
			}
			if got := fake.DescribeCalls(); got != tc.describes {
				t.Errorf("%d DescribeVpcEndpoints calls, want %d", got, tc.describes)
			}
			if got := fake.ModifyCalls(); got != tc.writes {
				t.Errorf("%d ModifyVpcEndpoint calls, want %d", got, tc.writes)
			}
			if p := fake.Policy(vpceID); p != fakeec2.DefaultPolicy && p != logsTemplate(t, ownAccount) {
				t.Errorf("the endpoint's policy is neither untouched nor the template:\n%s", p)
			}
		})
	}
}

// logFileOf is a CloudTrail log file of CreateVpcEndpoint records for the
// endpoints.
func logFileOf(endpoints ...string) string {
	recs := make([]string, len(endpoints))
	for i, id := range endpoints {
		recs[i] = createRecord(fmt.Sprintf("ct-%d", i+1), id, ownAccount, testRegion)
	}
	return `{"Records":[` + strings.Join(recs, ",") + `]}`
}

func gzipped(s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.Bytes()
}

// Truncated and corrupt .gz log files, through DecodeLogFile and through
// `vpce-guard replay` with the in-memory EC2: a clear error naming the file,
// exit status 2, and writes only for the records read in full before the
// damage (the template, never anything else).
func TestBadInputGzipLogFiles(t *testing.T) {
	t.Parallel()
	ids := []string{"vpce-00000000000000001", "vpce-00000000000000002", "vpce-00000000000000003"}
	// Enough records that the compressed stream spans more than a few bytes.
	plain := logFileOf(ids...)
	gz := gzipped(plain)
	flip := func(b []byte, at int) []byte {
		c := bytes.Clone(b)
		c[at] ^= 0xff
		return c
	}
	for _, tc := range []struct {
		name    string
		data    []byte
		message string // in the error and on standard error
		// maxWrites bounds the writes: a stream decoded up to the damage may
		// have acted on the records before it.
		maxWrites int
	}{
		{name: "empty-file", data: nil, message: "no JSON value"},
		{name: "gzip-magic-only", data: gz[:2], message: "gzip header"},
		{name: "gzip-header-cut", data: gz[:6], message: "gzip header"},
		{name: "gzip-header-only", data: gz[:10], message: "unexpected EOF"},
		{name: "gzip-cut-in-half", data: gz[:len(gz)/2], message: "unexpected EOF", maxWrites: 3},
		{name: "gzip-trailer-missing", data: gz[:len(gz)-8], message: "unexpected EOF", maxWrites: 3},
		{name: "gzip-trailer-cut", data: gz[:len(gz)-3], message: "unexpected EOF", maxWrites: 3},
		{name: "gzip-bad-checksum", data: flip(gz, len(gz)-6), message: "checksum", maxWrites: 3},
		{name: "gzip-bad-length", data: flip(gz, len(gz)-2), message: "checksum", maxWrites: 3},
		{name: "gzip-corrupt-deflate", data: flip(gz, 12), message: "malformed", maxWrites: 3},
		{name: "gzip-corrupt-middle", data: flip(gz, len(gz)/2), message: "malformed", maxWrites: 3},
		{name: "gzip-of-garbage", data: gzipped("not json at all"), message: "malformed"},
		{name: "gzip-of-empty", data: gzipped(""), message: "no JSON value"},
		{name: "gzip-of-truncated-json", data: gzipped(plain[:len(plain)/2]), message: "unexpected EOF", maxWrites: 3},
		{name: "plain-truncated-json", data: []byte(plain[:len(plain)-2]), message: "unexpected EOF", maxWrites: 3},
		{name: "gzip-twice", data: gzipped(string(gz)), message: "malformed"},
		{name: "random-bytes", data: []byte("\x00\x01\x02\xff\xfe binary"), message: "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			decoded := 0
			err := func() (err error) {
				defer func() {
					if p := recover(); p != nil {
						err = fmt.Errorf("DecodeLogFile panicked: %v", p)
					}
				}()
				return cloudtrail.DecodeLogFile(bytes.NewReader(tc.data), func(c cloudtrail.Call, err error) error {
					if err == nil {
						decoded++
					}
					return nil
				})
			}()
			if err == nil || !errors.Is(err, cloudtrail.ErrMalformed) || !strings.Contains(err.Error(), tc.message) {
				t.Errorf("DecodeLogFile: %v; want an error wrapping ErrMalformed that says %q", err, tc.message)
			}

			var endpoints []ec2types.VpcEndpoint
			for _, id := range ids {
				endpoints = append(endpoints, fakeec2.Endpoint(id, logsService, ownAccount, fakeec2.DefaultPolicy))
			}
			fake := fakeec2.New(endpoints...)
			status, stdout, stderr := replayCLI(t, fake, fstest.MapFS{"trail/bad.json.gz": {Data: tc.data}}, "trail/bad.json.gz")
			if status != cli.ExitError {
				t.Errorf("replay exit status %d, want %d", status, cli.ExitError)
			}
			if !strings.Contains(stderr, "vpce-guard replay: trail/bad.json.gz: ") || !strings.Contains(stderr, tc.message) {
				t.Errorf("replay standard error %q, want the file named and %q", stderr, tc.message)
			}
			writes := fake.ModifyCalls()
			if writes > tc.maxWrites || writes != decoded {
				t.Errorf("%d writes after %d records decoded, want one per decoded record and at most %d", writes, decoded, tc.maxWrites)
			}
			if lines := strings.Count(stdout, "\n"); lines != decoded {
				t.Errorf("%d outcomes printed, want %d:\n%s", lines, decoded, stdout)
			}
			template := logsTemplate(t, ownAccount)
			for _, id := range ids {
				if p := fake.Policy(id); p != fakeec2.DefaultPolicy && p != template {
					t.Errorf("%s: the policy is neither untouched nor the template:\n%s", id, p)
				}
			}
			t.Logf("%d records acted on before the error: %s", decoded, strings.TrimSpace(stderr))
		})
	}
}

// replayCLI runs `vpce-guard replay` on files in fsys with the fake as every
// region's EC2.
func replayCLI(t *testing.T, fake *fakeec2.EC2, fsys fs.FS, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := cli.Env{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut,
		ReadFile: func(name string) ([]byte, error) { return fs.ReadFile(fsys, name) },
		Open:     fsys.Open,
		NewEC2: func(_ context.Context, region string) (remediate.EC2, string, error) {
			return fake, region, nil
		},
	}
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Errorf("replay panicked: %v", p)
				status = -1
			}
		}()
		status = cli.Run(t.Context(), env, append([]string{"replay"}, args...))
	}()
	return status, out.String(), errOut.String()
}

// syntheticLog produces a CloudTrail log file of about size bytes on the fly:
// {"Records":[ then records until size is reached, then ]}. Nothing is held
// but the record being produced.
type syntheticLog struct {
	size, produced int64
	n              int
	buf            []byte
	done           bool
}

func (r *syntheticLog) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		switch {
		case r.done:
			return 0, io.EOF
		case r.produced == 0:
			r.buf = []byte(`{"Records":[`)
		case r.produced >= r.size:
			r.buf, r.done = []byte("]}\n"), true
		default:
			if r.n > 0 {
				r.buf = append(r.buf, ',', '\n')
			}
			r.n++
			// Another API call, so that replaying it needs no AWS call; a
			// different eventID each time, so nothing can be shared.
			r.buf = fmt.Appendf(r.buf, `{"eventVersion":"1.08","eventID":"ct-%09d","eventName":"RunInstances","eventSource":"ec2.amazonaws.com",`+
				`"eventTime":"2026-01-02T03:04:05Z","awsRegion":"eu-west-1","recipientAccountId":"111122223333",`+
				`"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333"},`+
				`"requestParameters":{"instancesSet":{"items":[{"imageId":"ami-0123456789abcdef0","minCount":1,"maxCount":1}]},`+
				`"userData":"%s"},"responseElements":null}`, r.n, strings.Repeat("A", 600))
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	r.produced += int64(n)
	return n, nil
}

// gzipReader compresses src on the fly through a pipe.
func gzipReader(src io.Reader) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		zw := gzip.NewWriter(pw)
		_, err := io.Copy(zw, src)
		if err == nil {
			err = zw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr
}

// A 100 MB log file (10 MB with -short), generated on the fly and streamed,
// never written to disk: plain through DecodeLogFile, and gzip through
// `vpce-guard replay` on standard input. The heap in use, sampled every 1,000
// records (in the callback, or as replay prints outcomes), stays under 64 MB
// above where it started. Every record is another API call, so replay asks
// EC2 nothing. Not parallel, so that no other test's allocations are counted.
func TestBadInputLargeLogFile(t *testing.T) {
	size := int64(100 << 20)
	if testing.Short() {
		size = 10 << 20
	}
	t.Run("plain-decode", func(t *testing.T) {
		heap := heapSampler()
		records := 0
		start := time.Now()
		err := cloudtrail.DecodeLogFile(&syntheticLog{size: size}, func(c cloudtrail.Call, err error) error {
			if err != nil {
				return err
			}
			if c.SkipReason == "" {
				return fmt.Errorf("record %s needs work: %+v", c.EventID, c)
			}
			records++
			if records%1000 == 0 {
				heap.sample()
			}
			return nil
		})
		elapsed := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("DecodeLogFile: %d MB, %d records in %v; %s", size>>20, records, elapsed.Round(time.Millisecond), heap)
		heap.check(t)
		if records < int(size/2000) {
			t.Errorf("only %d records read", records)
		}
	})
	t.Run("gzip-replay", func(t *testing.T) {
		fake := fakeec2.New()
		var errOut bytes.Buffer
		counter := &lineCounter{heap: heapSampler()}
		env := cli.Env{Stdin: gzipReader(&syntheticLog{size: size}), Stdout: counter, Stderr: &errOut,
			Open: func(string) (fs.File, error) { return nil, fs.ErrNotExist },
			NewEC2: func(_ context.Context, region string) (remediate.EC2, string, error) {
				return fake, region, nil
			}}
		start := time.Now()
		status := cli.Run(t.Context(), env, []string{"replay", "-"})
		t.Logf("replay: %d MB gzip-compressed on the fly, %d outcomes in %v; %s",
			size>>20, counter.lines, time.Since(start).Round(time.Millisecond), counter.heap)
		if status != cli.ExitOK || errOut.Len() > 0 {
			t.Errorf("replay: exit %d, %s", status, shorten(errOut.String()))
		}
		if counter.lines < int(size/2000) || fake.DescribeCalls() != 0 || fake.ModifyCalls() != 0 {
			t.Errorf("replay: %d outcomes, %d describes, %d writes; want about %d, 0, 0",
				counter.lines, fake.DescribeCalls(), fake.ModifyCalls(), size/1060)
		}
		counter.heap.check(t)
	})
}

// heapPeak tracks the peak of the heap in use against where it started.
type heapPeak struct{ base, peak uint64 }

func heapSampler() *heapPeak {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return &heapPeak{base: ms.HeapInuse, peak: ms.HeapInuse}
}

func (h *heapPeak) sample() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h.peak = max(h.peak, ms.HeapInuse)
}

func (h *heapPeak) String() string {
	return fmt.Sprintf("heap in use %.1f MB before, peak %.1f MB", float64(h.base)/(1<<20), float64(h.peak)/(1<<20))
}

// check fails the test if the heap in use grew by more than 64 MB.
func (h *heapPeak) check(t *testing.T) {
	t.Helper()
	const maxGrowth = 64 << 20
	if growth := int64(h.peak) - int64(h.base); growth > maxGrowth {
		t.Errorf("heap in use grew by %.1f MB, want at most %d MB", float64(growth)/(1<<20), maxGrowth>>20)
	}
}

// lineCounter counts lines written to it, samples the heap every 1,000
// lines, and keeps nothing.
type lineCounter struct {
	lines int
	heap  *heapPeak
}

func (c *lineCounter) Write(p []byte) (int, error) {
	n := bytes.Count(p, []byte("\n"))
	if (c.lines+n)/1000 > c.lines/1000 {
		c.heap.sample()
	}
	c.lines += n
	return len(p), nil
}

// Current policies that cannot be read (too long, invalid UTF-8, nested too
// deep, not JSON) are non-compliant with the parse error as the reason and are
// rewritten to the template, once. Unknown condition operators only narrow an
// Allow: the template narrowed by one is compliant and left alone, while an
// over-broad Allow behind one is still non-compliant.
func TestBadInputPolicies(t *testing.T) {
	t.Parallel()
	template := logsTemplate(t, ownAccount)
	// The template, with an Id long enough to pass the limit: valid JSON
	// and otherwise compliant, so only the length can make it fail.
	oversized := strings.Replace(template, `"Version"`, `"Id": "`+strings.Repeat("x", policy.MaxPolicyLength)+`", "Version"`, 1)
	withCondition := func(effect, action, resource, condition string) string {
		return `{"Version":"2012-10-17","Statement":[{"Sid":"S","Effect":"` + effect + `","Principal":"*","Action":"` + action +
			`","Resource":"` + resource + `","Condition":` + condition + `}]}`
	}
	ownLogs := "arn:aws:logs:eu-west-1:111122223333:log-group:*"
	unknown := `{"StringFancyEquals":{"aws:PrincipalAccount":"111122223333"}}`
	for _, tc := range []struct {
		name      string
		policy    string
		compliant bool
		reason    string // in the reasons when not compliant
	}{
		{name: "oversized-template-with-long-id", policy: oversized, reason: "over the 20480-character limit"},
		{name: "oversized-multibyte", policy: `{"Id":"` + strings.Repeat("é", policy.MaxPolicyLength) + `"}`, reason: "over the 20480-character limit"},
		{name: "invalid-utf8", policy: strings.Replace(template, "AllowOwnLogGroups", "Allow\xffOwn", 1), reason: "not valid UTF-8"},
		{name: "invalid-utf8-surrogate", policy: strings.Replace(template, "AllowOwnLogGroups", "Allow\xed\xa0\x80Own", 1), reason: "not valid UTF-8"},
		{name: "nested-10000-arrays", policy: nestedArrays(10000, "1"), reason: "nested deeper than"},
		{name: "nested-10000-in-condition", policy: withCondition("Allow", "logs:*", ownLogs,
			`{"StringEquals":{"aws:PrincipalAccount":`+nestedArrays(10000, `"1"`)+`}}`), reason: "nested deeper than"},
		{name: "nested-10000-objects", policy: nestedObjects(10000, "1"), reason: "over the 20480-character limit"},
		{name: "nested-3000-objects", policy: nestedObjects(3000, "1"), reason: "nested deeper than"},
		{name: "truncated", policy: template[:len(template)/2], reason: "unexpected end of input"},
		{name: "not-json", policy: "Allow everything", reason: "not valid JSON"},
		{name: "json-array", policy: "[]", reason: "must be a JSON object"},
		{name: "duplicate-key", policy: `{"Version":"2012-10-17","Version":"2008-10-17","Statement":[]}`, reason: "duplicate key"},
		{name: "unknown-operator-narrowing-the-template", policy: withCondition("Allow", "logs:*", ownLogs, unknown), compliant: true},
		{name: "unknown-operator-in-a-deny", policy: `{"Version":"2012-10-17","Statement":[` +
			`{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"` + ownLogs + `"},` +
			`{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*","Condition":` + unknown + `}]}`, compliant: true},
		{name: "unknown-operator-on-an-open-allow", policy: withCondition("Allow", "*", "*", unknown), reason: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := fakeec2.New(fakeec2.Endpoint(vpceID, logsService, ownAccount, tc.policy))
			outcomes, err, logs := handleEvent(t, fake, []byte(eventEnvelope(createRecord("ct-1", vpceID, ownAccount, testRegion))))
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if len(outcomes) != 1 {
				t.Fatalf("outcomes %+v, want one", outcomes)
			}
			o := outcomes[0]
			reasons := strings.Join(o.Reasons, "; ")
			t.Logf("%s/%s: %s", o.Verdict, o.Action, shorten(reasons))
			if strings.Contains(tc.name, "unknown-operator") &&
				(len(o.Notes) == 0 || !strings.Contains(o.Notes[0], `"StringFancyEquals" is unknown`) || !strings.Contains(logs, `"notes":`)) {
				t.Errorf("notes %q (logged: %v); want the unknown operator reported in the outcome and its log line",
					o.Notes, strings.Contains(logs, `"notes":`))
			}
			if tc.compliant {
				if o.Verdict != remediate.Compliant || o.Action != remediate.None || fake.ModifyCalls() != 0 {
					t.Errorf("%s/%s (%s), %d writes; want compliant, untouched", o.Verdict, o.Action, reasons, fake.ModifyCalls())
				}
				return
			}
			if o.Verdict != remediate.NonCompliant || o.Action != remediate.Rewritten || !strings.Contains(reasons, tc.reason) {
				t.Errorf("%s/%s (%s); want noncompliant/rewritten, saying %q", o.Verdict, o.Action, reasons, tc.reason)
			}
			if got := fake.Modifies(vpceID); got != 1 {
				t.Errorf("%d writes, want 1", got)
			}
			if got := fake.Policy(vpceID); got != template {
				t.Errorf("policy now:\n%s\nwant the template", shorten(got))
			}
			if o.PolicyBefore == "" || !strings.HasPrefix(o.PolicyBefore, "sha256:") {
				t.Errorf("policyBefore %q, want the hash of the unreadable text", o.PolicyBefore)
			}
			if strings.Contains(logs, `"level":"ERROR"`) {
				t.Errorf("an unreadable policy is a finding, not an error; logs:\n%s", shorten(logs))
			}
		})
	}
}

// `vpce-guard simulate` on a policy whose deciding statement has an unknown
// condition operator: it cannot decide, says so, and exits 2. When the
// statement with the unknown operator cannot match, the answer is still given.
func TestBadInputSimulateUnknownOperator(t *testing.T) {
	t.Parallel()
	ownLogs := "arn:aws:logs:eu-west-1:111122223333:log-group:*"
	files := map[string]string{
		"unknown-allow.json": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"` + ownLogs +
			`","Condition":{"StringFancyEquals":{"aws:PrincipalAccount":"111122223333"}}}]}`,
		"unknown-deny.json": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"` + ownLogs + `"},` +
			`{"Effect":"Deny","Principal":"*","Action":"logs:*","Resource":"*","Condition":{"DateFancy":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}}]}`,
		"unknown-elsewhere.json": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"` + ownLogs + `"},` +
			`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"DateFancy":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}}]}`,
		"invalid-utf8.json": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"\xff\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"*\",\"Resource\":\"*\"}]}",
		"nested.json":       nestedArrays(10000, "1"),
	}
	for _, tc := range []struct {
		file    string
		status  int
		message string
	}{
		{"unknown-allow.json", cli.ExitError, "unsupported condition operator"},
		{"unknown-deny.json", cli.ExitError, "unsupported condition operator"},
		{"unknown-elsewhere.json", cli.ExitOK, "Allow by"},
		{"invalid-utf8.json", cli.ExitError, "not valid UTF-8"},
		{"nested.json", cli.ExitError, "nested deeper than"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			env := cli.Env{Stdout: &out, Stderr: &errOut, ReadFile: func(name string) ([]byte, error) {
				if s, ok := files[name]; ok {
					return []byte(s), nil
				}
				return nil, fs.ErrNotExist
			}}
			status := cli.Run(t.Context(), env, []string{"simulate", "--policy", tc.file,
				"--action", "logs:PutLogEvents", "--resource", "arn:aws:logs:eu-west-1:111122223333:log-group:app",
				"--principal-account", ownAccount})
			if status != tc.status || !strings.Contains(out.String()+errOut.String(), tc.message) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d and %q", status, out.String(), shorten(errOut.String()), tc.status, tc.message)
			}
		})
	}
}

// Events for another region are skipped with no AWS call. Events for another
// account reach EC2 like any other (the function sees only what its role can
// describe); the template is always rendered for the endpoint's owner as
// Describe reports it, and for the event's account only when Describe names
// no owner.
func TestBadInputForeignEvents(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		event       string
		owner       string // the endpoint's OwnerId in Describe; "" for none
		describes   int
		writtenFor  string // the account the template written is rendered for; "" for no write
		skipReason  string
		wantAccount string // the outcome's account
	}{
		{name: "another-region", event: eventEnvelope(createRecord("ct-1", vpceID, ownAccount, "us-east-1")), owner: ownAccount,
			skipReason: "the event is from us-east-1 and this function guards eu-west-1", wantAccount: ownAccount},
		{name: "another-region-envelope-only", event: strings.Replace(eventEnvelope(strings.Replace(createRecord("ct-1", vpceID, ownAccount, testRegion),
			`"awsRegion":"eu-west-1",`, "", 1)), `"region":"eu-west-1"`, `"region":"ap-south-1"`, 1), owner: ownAccount,
			skipReason: "the event is from ap-south-1", wantAccount: ownAccount},
		{name: "another-account-owns-it", event: eventEnvelope(createRecord("ct-1", vpceID, otherAccount, testRegion)), owner: otherAccount,
			describes: 1, writtenFor: otherAccount, wantAccount: otherAccount},
		{name: "event-account-differs-from-owner", event: eventEnvelope(createRecord("ct-1", vpceID, otherAccount, testRegion)), owner: ownAccount,
			describes: 1, writtenFor: ownAccount, wantAccount: ownAccount},
		{name: "no-owner-in-describe", event: eventEnvelope(createRecord("ct-1", vpceID, otherAccount, testRegion)), owner: "",
			describes: 1, writtenFor: otherAccount, wantAccount: otherAccount},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := fakeec2.Endpoint(vpceID, logsService, tc.owner, fakeec2.DefaultPolicy)
			if tc.owner == "" {
				e.OwnerId = nil
			}
			fake := fakeec2.New(e)
			outcomes, err, _ := handleEvent(t, fake, []byte(tc.event))
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if len(outcomes) != 1 {
				t.Fatalf("outcomes %+v, want one", outcomes)
			}
			o := outcomes[0]
			if got := fake.DescribeCalls(); got != tc.describes {
				t.Errorf("%d describes, want %d", got, tc.describes)
			}
			if o.Account != tc.wantAccount {
				t.Errorf("outcome account %q, want %q", o.Account, tc.wantAccount)
			}
			if tc.skipReason != "" {
				if o.Verdict != remediate.Skipped || !strings.Contains(strings.Join(o.Reasons, "; "), tc.skipReason) || fake.ModifyCalls() != 0 {
					t.Errorf("%+v, %d writes; want skipped (%q) and no write", o, fake.ModifyCalls(), tc.skipReason)
				}
				return
			}
			if fake.ModifyCalls() != 1 || o.Action != remediate.Rewritten {
				t.Fatalf("%s/%s, %d writes; want rewritten once", o.Verdict, o.Action, fake.ModifyCalls())
			}
			if got, want := fake.Policy(vpceID), logsTemplate(t, tc.writtenFor); got != want {
				t.Errorf("written:\n%s\nwant the template for %s:\n%s", got, tc.writtenFor, want)
			}
		})
	}
}

// An endpoint deleted between Describe and Modify: the write fails with
// InvalidVpcEndpointId.NotFound. The outcome carries the error, the call is
// made once (no retry), nothing else is touched, and the invocation fails with
// RemediationError, as replay exits 2.
func TestBadInputVanishingEndpoint(t *testing.T) {
	t.Parallel()
	other := "vpce-0fedcba9876543210"
	newFake := func() *fakeec2.EC2 {
		fake := fakeec2.New(
			fakeec2.Endpoint(vpceID, logsService, ownAccount, fakeec2.DefaultPolicy),
			fakeec2.Endpoint(other, logsService, ownAccount, fakeec2.DefaultPolicy))
		fake.FailModify(vpceID, fakeec2.APIError("InvalidVpcEndpointId.NotFound",
			fmt.Sprintf("The Vpc Endpoint Id '%s' does not exist", vpceID)))
		return fake
	}
	logFile := logFileOf(vpceID, other)

	t.Run("handler", func(t *testing.T) {
		t.Parallel()
		fake := newFake()
		outcomes, err, logs := handleEvent(t, fake, []byte(logFile))
		if err != nil {
			t.Errorf("Handle: %v; want no error: a deleted endpoint needs no retry", err)
		}
		if len(outcomes) != 2 {
			t.Fatalf("outcomes %+v, want two", outcomes)
		}
		if o := outcomes[0]; o.EndpointID != vpceID || o.Verdict != remediate.NotFound || o.Action != remediate.None || o.Error != "" ||
			!strings.Contains(strings.Join(o.Reasons, " "), "deleted before the template could be written") {
			t.Errorf("vanished endpoint: %+v; want notfound with the reason, no action, no error", o)
		}
		if o := outcomes[1]; o.EndpointID != other || o.Action != remediate.Rewritten {
			t.Errorf("the other endpoint: %+v; want it rewritten all the same", o)
		}
		if d, m := fake.Describes(vpceID), fake.Modifies(vpceID); d != 1 || m != 1 {
			t.Errorf("vanished endpoint: %d describes, %d modifies; want 1 and 1, no retry", d, m)
		}
		if strings.Contains(logs, `"level":"ERROR"`) {
			t.Errorf("a deleted endpoint logged at ERROR:\n%s", shorten(logs))
		}
	})
	t.Run("replay", func(t *testing.T) {
		t.Parallel()
		fake := newFake()
		status, stdout, stderr := replayCLI(t, fake, fstest.MapFS{"trail.json": {Data: []byte(logFile)}}, "trail.json")
		if status != cli.ExitOK || stderr != "" {
			t.Errorf("exit %d, stderr %q; want 0 and nothing: the endpoint is gone, the other one fixed", status, stderr)
		}
		if strings.Count(stdout, "\n") != 2 || fake.Modifies(vpceID) != 1 || fake.Modifies(other) != 1 {
			t.Errorf("stdout %q, %d and %d writes; want two outcomes and one write each", stdout, fake.Modifies(vpceID), fake.Modifies(other))
		}
	})
}

// shorten shortens a log for a failure message.
func shorten(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "…"
	}
	return s
}
