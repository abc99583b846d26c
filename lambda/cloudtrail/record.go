package cloudtrail

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vpce-guard/vpce-guard/lambda/config"
)

// object holds the fields of both shapes a JSON object can have, an EventBridge envelope
// and a CloudTrail record, so that one pass over the object tells which shape it is.
// The request and the response stay raw: they are only read for the two calls that matter.
type object struct {
	// EventBridge envelope
	ID         text            `json:"id"`
	DetailType text            `json:"detail-type"`
	Source     text            `json:"source"`
	Account    text            `json:"account"`
	Time       text            `json:"time"`
	Region     text            `json:"region"`
	Detail     json.RawMessage `json:"detail"`

	// CloudTrail record
	EventID            text            `json:"eventID"`
	EventName          text            `json:"eventName"`
	EventSource        text            `json:"eventSource"`
	EventTime          text            `json:"eventTime"`
	AWSRegion          text            `json:"awsRegion"`
	RecipientAccountID text            `json:"recipientAccountId"`
	ErrorCode          text            `json:"errorCode"`
	ErrorMessage       text            `json:"errorMessage"`
	UserAgent          text            `json:"userAgent"`
	UserIdentity       userIdentity    `json:"userIdentity"`
	RequestParameters  json.RawMessage `json:"requestParameters"`
	ResponseElements   json.RawMessage `json:"responseElements"`
}

type userIdentity struct {
	Type           text `json:"type"`
	ARN            text `json:"arn"`
	AccountID      text `json:"accountId"`
	PrincipalID    text `json:"principalId"`
	InvokedBy      text `json:"invokedBy"`
	SessionContext struct {
		SessionIssuer struct {
			ARN text `json:"arn"`
		} `json:"sessionIssuer"`
	} `json:"sessionContext"`
}

func decodeItem(raw json.RawMessage) (Call, error) {
	if !isObject(raw) {
		return Call{}, fmt.Errorf("%w: %s, want an object", ErrMalformed, describeJSON(raw))
	}
	var o object
	if err := json.Unmarshal(raw, &o); err != nil {
		return Call{}, fmt.Errorf("%w: %w", ErrMalformed, rephrase(err))
	}
	switch {
	case o.DetailType != "":
		return fromEnvelope(&o)
	case o.EventName != "" || o.EventSource != "":
		return fromRecord(&o, nil), nil
	}
	return Call{}, fmt.Errorf("%w: neither an EventBridge event (no detail-type) nor a CloudTrail record (no eventName)", ErrMalformed)
}

func fromEnvelope(e *object) (Call, error) {
	c := Call{
		EventID:     string(e.ID),
		EventSource: string(e.Source),
		EventTime:   string(e.Time),
		Account:     string(e.Account),
		Region:      string(e.Region),
	}
	switch {
	case e.DetailType == config.ScheduleDetailType && e.Source == config.ScheduleSource:
		c.Sweep = true
		return c, nil
	case e.DetailType != config.EventDetailType:
		c.SkipReason = fmt.Sprintf("EventBridge event type %s from %s is not handled",
			quote(string(e.DetailType)), quote(string(e.Source)))
		return c, nil
	}
	if !isObject(e.Detail) {
		return Call{}, fmt.Errorf("%w: detail is %s, want an object", ErrMalformed, describeJSON(e.Detail))
	}
	var r object
	if err := json.Unmarshal(e.Detail, &r); err != nil {
		return Call{}, fmt.Errorf("%w: detail: %w", ErrMalformed, rephrase(err))
	}
	return fromRecord(&r, e), nil
}

// fromRecord builds the Call for a CloudTrail record; e is its EventBridge envelope, or
// nil for a bare record.
func fromRecord(r, e *object) Call {
	viaEventBridge := e != nil
	if !viaEventBridge {
		e = &object{}
	}
	c := Call{
		EventID:      string(r.EventID),
		EventName:    string(r.EventName),
		EventSource:  string(r.EventSource),
		EventTime:    string(cmp.Or(r.EventTime, e.Time)),
		Account:      string(cmp.Or(r.RecipientAccountID, e.Account)),
		Region:       string(cmp.Or(r.AWSRegion, e.Region)),
		Caller:       r.UserIdentity.caller(string(r.UserAgent)),
		ErrorCode:    string(r.ErrorCode),
		ErrorMessage: string(r.ErrorMessage),
	}
	switch {
	case viaEventBridge && e.Source != config.EventSource:
		// Only AWS can publish as aws.ec2; anyone allowed PutEvents can claim the rest.
		c.SkipReason = fmt.Sprintf("EventBridge source %s is not %s", quote(string(e.Source)), config.EventSource)
	case c.EventSource != config.CloudTrailSource:
		c.SkipReason = fmt.Sprintf("event source %s is not %s", quote(c.EventSource), config.CloudTrailSource)
	case c.EventName != config.EventCreate && c.EventName != config.EventModify:
		c.SkipReason = fmt.Sprintf("event %s is neither %s nor %s", quote(c.EventName), config.EventCreate, config.EventModify)
	case c.ErrorCode != "":
		c.SkipReason = fmt.Sprintf("the call failed with %s", quote(c.ErrorCode))
	default:
		c.readEndpointCall(r)
	}
	return c
}

// readEndpointCall reads the endpoint IDs and policy hints of a successful
// CreateVpcEndpoint or ModifyVpcEndpoint.
func (c *Call) readEndpointCall(r *object) {
	request := unwrap(decodeAny(r.RequestParameters), c.EventName+"Request")
	var ids any
	if c.EventName == config.EventCreate {
		// The ID only exists once the call has succeeded, so it is in the response.
		response := unwrap(decodeAny(r.ResponseElements), c.EventName+"Response")
		ids = lookup(response, "vpcEndpoint", "vpcEndpointId")
	} else {
		ids = lookup(request, "VpcEndpointId")
		c.ResetsPolicy = isTrue(lookup(request, "ResetPolicy"))
	}
	policy := lookup(request, "PolicyDocument")
	c.SetsPolicy = policy != nil && policy != ""
	c.EndpointIDs, c.Warnings = endpointIDs(ids)
	switch {
	case len(c.EndpointIDs) > 0:
	case len(c.Warnings) > 0:
		c.SkipReason = "no valid endpoint ID: " + strings.Join(c.Warnings, "; ")
	default:
		c.SkipReason = "no endpoint ID in the record"
	}
}

// endpointIDs validates the IDs found in a record and reports the ones it drops. EC2 logs
// a list of IDs as a string, as {"tag": 1, "content": id}, as an array of either, or as
// "" when it is empty.
func endpointIDs(v any) (ids, dropped []string) {
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case nil:
		case []any:
			for _, member := range v {
				walk(member)
			}
		case map[string]any:
			if content, ok := v["content"]; ok {
				walk(content)
			} else {
				dropped = append(dropped, "dropped an object without content")
			}
		case string:
			switch {
			case v == "":
			case validEndpointID(v):
				ids = append(ids, v)
			default:
				dropped = append(dropped, fmt.Sprintf("dropped %s: not vpce- followed by 8 or 17 lowercase hex digits", quote(v)))
			}
		default:
			dropped = append(dropped, fmt.Sprintf("dropped %v: not a string", v))
		}
	}
	walk(v)
	slices.Sort(ids)
	return slices.Compact(ids), dropped
}

func validEndpointID(s string) bool {
	hex, ok := strings.CutPrefix(s, "vpce-")
	if !ok || (len(hex) != 8 && len(hex) != 17) {
		return false
	}
	for _, c := range []byte(hex) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// isTrue accepts the forms a boolean request parameter is logged in: true, "true", or
// either one as the content of a {tag, content} object.
func isTrue(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return strings.EqualFold(v, "true")
	case map[string]any:
		return isTrue(v["content"])
	}
	return false
}

// decodeAny decodes a raw value already known to be valid JSON; nil when absent.
func decodeAny(raw json.RawMessage) any {
	var v any
	_ = json.Unmarshal(raw, &v) // only fails on an absent value, which stays nil
	return v
}

// unwrap returns the request or response inside its wrapper object, as EC2 logs it
// ({"ModifyVpcEndpointRequest": {...}}), or v itself when v has no such wrapper.
func unwrap(v any, wrapper string) any {
	if inner := lookup(v, wrapper); inner != nil {
		return inner
	}
	return v
}

// lookup follows keys through nested objects and returns the value found, or nil. Each
// key also matches with its first letter's case swapped, because EC2 logs requests in
// PascalCase and responses in camelCase, and the ModifyVpcEndpoint shape is inferred.
func lookup(v any, keys ...string) any {
	for _, key := range keys {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		if v, ok = obj[key]; !ok {
			v = obj[swapFirstCase(key)]
		}
	}
	return v
}

func swapFirstCase(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if unicode.IsUpper(r) {
		return string(unicode.ToLower(r)) + s[size:]
	}
	return string(unicode.ToUpper(r)) + s[size:]
}

func (u userIdentity) caller(userAgent string) Caller {
	return Caller{
		UserAgent:        userAgent,
		Type:             string(u.Type),
		ARN:              string(u.ARN),
		AccountID:        string(u.AccountID),
		PrincipalID:      string(u.PrincipalID),
		SessionIssuerARN: string(u.SessionContext.SessionIssuer.ARN),
		InvokedBy:        string(u.InvokedBy),
	}
}

// text decodes any JSON scalar as a string, since CloudTrail logs one field as a string in
// one record and as a number or a boolean in the next. A number or a boolean is kept as
// written and null becomes "".
type text string

func (t *text) UnmarshalJSON(data []byte) error {
	switch data[0] {
	case '"':
		// Most values need no unescaping; skipping json.Unmarshal for them saves an
		// allocation per field.
		if s := data[1 : len(data)-1]; bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
			*t = text(s)
			return nil
		}
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*t = text(s)
	case 'n':
		*t = ""
	case '{', '[':
		return &json.UnmarshalTypeError{Value: describeJSON(data), Type: reflect.TypeFor[string]()}
	default:
		*t = text(data)
	}
	return nil
}

// rephrase words a JSON type error with the input's field names, not Go's type names.
func rephrase(err error) error {
	var typeErr *json.UnmarshalTypeError
	if !errors.As(err, &typeErr) || typeErr.Field == "" {
		return err
	}
	want := "an object"
	switch typeErr.Type.Kind() {
	case reflect.String:
		want = "a string, a number or a boolean"
	case reflect.Slice:
		want = "an array"
	}
	got := typeErr.Value
	if !strings.HasPrefix(got, "a JSON") {
		got = "a JSON " + got // as worded by encoding/json
	}
	return fmt.Errorf("%s is %s, want %s", typeErr.Field, got, want)
}

func isObject(raw json.RawMessage) bool {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	return len(raw) > 0 && raw[0] == '{'
}

// describeJSON names the type of a raw JSON value for a message.
func describeJSON(raw json.RawMessage) string {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return "missing"
	}
	switch raw[0] {
	case '{':
		return "a JSON object"
	case '[':
		return "a JSON array"
	case '"':
		return "a JSON string"
	case 't', 'f':
		return "a JSON boolean"
	case 'n':
		return "JSON null"
	}
	return "a JSON number"
}

// identify reads whatever IDs an undecodable object still shows, so that an error can name
// it. Every field is optional and of any type, so this cannot fail on valid JSON.
func identify(raw json.RawMessage) (eventID, eventName string) {
	var ids struct {
		ID        any             `json:"id"`
		EventID   any             `json:"eventID"`
		EventName any             `json:"eventName"`
		Detail    json.RawMessage `json:"detail"`
	}
	_ = json.Unmarshal(raw, &ids) // best effort: used only to label an error
	var detail struct {
		EventID   any `json:"eventID"`
		EventName any `json:"eventName"`
	}
	_ = json.Unmarshal(ids.Detail, &detail)
	eventID = string(cmp.Or(scalar(detail.EventID), scalar(ids.EventID), scalar(ids.ID)))
	eventName = string(cmp.Or(scalar(detail.EventName), scalar(ids.EventName)))
	return eventID, eventName
}

func scalar(v any) text {
	switch v.(type) {
	case string, float64, bool:
		return text(fmt.Sprint(v))
	}
	return ""
}

// quote quotes a value taken from the input for a message, cut short so that a hostile
// record cannot flood the logs.
func quote(s string) string {
	const limit = 80
	if len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "..."
	}
	return strconv.Quote(s)
}
