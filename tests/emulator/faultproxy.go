package emulator

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fault is what the proxy does to one request instead of, or besides,
// passing it on.
type Fault struct {
	// Name labels the fault in Requests and logs.
	Name string
	// Status and Code, when Status is set, are the HTTP status and EC2 error
	// code of the error answer.
	Status int
	Code   string
	// Delay holds the request back before anything else happens.
	Delay time.Duration
	// Forward passes the request on to the emulator before answering with
	// the error: the call took effect but the caller is told it failed.
	Forward bool
	// Query answers in the error format of the query services other than
	// EC2 (STS, IAM): <ErrorResponse><Error>…</Error></ErrorResponse>.
	Query bool
	// REST answers in the error format of the REST-JSON services (Security
	// Hub): the code in the X-Amzn-Errortype header, a JSON message.
	REST bool
	// Message is the error's message; a default names the proxy.
	Message string
	// Answer, when set, answers the request itself, from its body, instead
	// of the emulator: a stand-in for an action the emulator does not have.
	// Status and Forward are then ignored.
	Answer func(request []byte) (status int, body []byte)
}

// Throttle is EC2's throttling answer: HTTP 503 RequestLimitExceeded, which
// the SDK retries with backoff.
func Throttle() Fault {
	return Fault{Name: "throttle", Status: http.StatusServiceUnavailable, Code: "RequestLimitExceeded"}
}

// ServerError is an HTTP 500 InternalError, which the SDK retries.
func ServerError() Fault {
	return Fault{Name: "server-error", Status: http.StatusInternalServerError, Code: "InternalError"}
}

// LostAnswer applies the call, then answers HTTP 500 InternalError as if the
// answer had been lost on the way back.
func LostAnswer() Fault {
	f := ServerError()
	f.Name, f.Forward = "lost-answer", true
	return f
}

// Slow passes the request on after d.
func Slow(d time.Duration) Fault { return Fault{Name: "slow " + d.String(), Delay: d} }

// FaultProxy is a reverse proxy in front of an emulator that injects faults
// into the requests of chosen actions (the Action parameter of EC2's query
// protocol, the X-Amz-Target of the JSON protocols, the method and path of
// Security Hub's REST-JSON), stands in for actions the emulator lacks, and
// records every request. Point the function's AWS_ENDPOINT_URL_EC2 (or
// AWS_ENDPOINT_URL for every service) at URL.
type FaultProxy struct {
	// URL is the proxy's base URL on 127.0.0.1.
	URL string

	proxy *httputil.ReverseProxy
	mu    sync.Mutex
	rules []*faultRule
	log   []Request
}

type faultRule struct {
	action string
	fault  Fault
	left   int // requests still to fault; negative: all of them
	// decide, when set, chooses the fault for each request of action
	// instead: ok false passes the request on.
	decide func(form url.Values) (Fault, bool)
}

// Request is one request the proxy saw.
type Request struct {
	Action string
	Form   url.Values // the query parameters, e.g. VpcEndpointId.1, PolicyDocument
	Body   []byte     // the request's body, as sent
	Fault  string     // the Fault's Name, "" when passed on untouched
	Status int        // the status answered
}

// restActions name the actions of the REST-JSON services the tests reach
// through the proxy, which their requests say by method and path only.
var restActions = map[string]string{
	"POST /accounts":              "EnableSecurityHub",
	"POST /findings":              "GetFindings",
	"POST /findings/import":       "BatchImportFindings",
	"PATCH /findings/batchupdate": "BatchUpdateFindings",
}

// StartFaultProxy starts a proxy to target (an emulator's base URL) on
// 127.0.0.1, closed when t ends.
func StartFaultProxy(t testing.TB, target string) *FaultProxy {
	t.Helper()
	p, stop, err := LaunchFaultProxy(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return p
}

// LaunchFaultProxy is StartFaultProxy for programs without a testing.TB;
// stop closes it.
func LaunchFaultProxy(target string) (p *FaultProxy, stop func(), err error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, nil, fmt.Errorf("fault proxy target %q: %w", target, err)
	}
	p = &FaultProxy{proxy: &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(u) },
		// Let the client see the emulator's own failures as they are.
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			writeEC2Error(w, http.StatusBadGateway, "ProxyError", err.Error())
		},
	}}
	srv := httptest.NewServer(p)
	p.URL = srv.URL
	return p, srv.Close, nil
}

// Inject faults the next count requests of action (all of them when count is
// negative). Rules for the same action apply one after the other, in the
// order they were added; an action without a rule left is passed on.
func (p *FaultProxy) Inject(action string, f Fault, count int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = append(p.rules, &faultRule{action: action, fault: f, left: count})
}

// InjectFunc has decide choose, for every request of action from its
// parameters, the fault to answer with; ok false passes the request on.
func (p *FaultProxy) InjectFunc(action string, decide func(form url.Values) (f Fault, ok bool)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = append(p.rules, &faultRule{action: action, left: -1, decide: decide})
}

// Clear removes the rules not used up yet.
func (p *FaultProxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
}

// Requests returns every request seen so far, in order of arrival.
func (p *FaultProxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.log...)
}

// Count is the number of requests seen for action, and how many of them were
// faulted.
func (p *FaultProxy) Count(action string) (seen, faulted int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.log {
		if r.Action == action {
			seen++
			if r.Fault != "" {
				faulted++
			}
		}
	}
	return seen, faulted
}

// take returns the fault for the next request of action, if any, and
// records the request.
func (p *FaultProxy) take(action string, form url.Values, body []byte) (Fault, bool, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = append(p.log, Request{Action: action, Form: form, Body: body})
	i := len(p.log) - 1
	for _, r := range p.rules {
		if r.action != action || r.left == 0 {
			continue
		}
		fault := r.fault
		if r.decide != nil {
			var ok bool
			if fault, ok = r.decide(form); !ok {
				continue
			}
		}
		if r.left > 0 {
			r.left--
		}
		p.log[i].Fault = fault.Name
		return fault, true, i
	}
	return Fault{}, false, i
}

func (p *FaultProxy) setStatus(i, status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log[i].Status = status
}

func (p *FaultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeEC2Error(w, http.StatusBadRequest, "ProxyError", "read the request: "+err.Error())
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	form, _ := url.ParseQuery(string(body))
	for k, v := range r.URL.Query() {
		if _, ok := form[k]; !ok {
			form[k] = v
		}
	}
	action := form.Get("Action")
	target := r.Header.Get("X-Amz-Target")
	rest, isREST := restActions[r.Method+" "+r.URL.Path]
	if action == "" && (target != "" || isREST) {
		// The JSON protocols (SQS, Organizations) name the action in a header,
		// as Service.Action; the REST-JSON ones by method and path.
		action = rest
		if target != "" {
			action = target[strings.LastIndexByte(target, '.')+1:]
		}
		form = url.Values{}
		var fields map[string]any
		if json.Unmarshal(body, &fields) == nil {
			for k, v := range fields {
				if s, ok := v.(string); ok {
					form.Set(k, s)
				}
			}
		}
	}
	fault, ok, i := p.take(action, form, body)
	if !ok {
		rec := &statusRecorder{ResponseWriter: w}
		p.proxy.ServeHTTP(rec, r)
		p.setStatus(i, rec.status())
		return
	}
	if fault.Delay > 0 {
		select {
		case <-time.After(fault.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if fault.Answer != nil {
		status, answer := fault.Answer(body)
		p.setStatus(i, status)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(answer) // the client went away: nothing to tell it
		return
	}
	if fault.Status == 0 {
		rec := &statusRecorder{ResponseWriter: w}
		p.proxy.ServeHTTP(rec, r)
		p.setStatus(i, rec.status())
		return
	}
	if fault.Forward {
		rec := httptest.NewRecorder()
		p.proxy.ServeHTTP(rec, r)
	}
	p.setStatus(i, fault.Status)
	message := fault.Message
	if message == "" {
		message = fmt.Sprintf("injected by the fault proxy (%s)", fault.Name)
	}
	if fault.Query {
		writeQueryError(w, fault.Status, fault.Code, message)
		return
	}
	if fault.REST {
		writeRESTError(w, fault.Status, fault.Code, message)
		return
	}
	writeEC2Error(w, fault.Status, fault.Code, message)
}

// writeQueryError answers as STS and IAM do.
func writeQueryError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>`,
		xmlEscape(code), xmlEscape(message))
}

// writeRESTError answers as the REST-JSON services do.
func writeRESTError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", code)
	w.WriteHeader(status)
	body, _ := json.Marshal(map[string]string{"Code": code, "Message": message}) // strings always marshal
	_, _ = w.Write(body)
}

// writeEC2Error answers as EC2 does, with its XML error document.
func writeEC2Error(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>fault-proxy-%s</RequestID></Response>`,
		xmlEscape(code), xmlEscape(message), strconv.FormatInt(time.Now().UnixNano(), 36))
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s)) // a bytes.Buffer never fails
	return b.String()
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the real writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *statusRecorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}
