package fanout

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/vpce-guard/vpce-guard/policytemplates"
)

// Unit is one account and region to sweep, as an SQS message body.
type Unit struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	// NextToken is the DescribeVpcEndpoints page a continuation starts at;
	// "" for the first.
	NextToken string `json:"nextToken,omitempty"`
	// Part counts the continuations: 0 for the unit the sweep queued.
	Part int `json:"part,omitempty"`
}

// MaxParts bounds the continuations of one account and region: at a
// thousand endpoints a page, each unit gets at least through one page, so
// this many are far more than any account needs, and a bug cannot loop.
const MaxParts = 50

// Validate reports a unit that names no account or region it could act in.
func (u Unit) Validate() error {
	switch {
	case !policytemplates.IsAccountID(u.Account):
		return fmt.Errorf("unit account %q: want 12 digits", u.Account)
	case !policytemplates.IsRegion(u.Region):
		return fmt.Errorf("unit region %q: want a region name such as eu-west-1", u.Region)
	case u.Part < 0 || u.Part > MaxParts:
		return fmt.Errorf("unit part %d: at most %d continuations", u.Part, MaxParts)
	}
	return nil
}

// Continuation is the unit that goes on from nextToken.
func (u Unit) Continuation(nextToken string) (Unit, error) {
	next := Unit{Account: u.Account, Region: u.Region, NextToken: nextToken, Part: u.Part + 1}
	if next.Part > MaxParts {
		return Unit{}, fmt.Errorf("account %s in %s: %d continuations, the most allowed; the next sweep goes on", u.Account, u.Region, MaxParts)
	}
	return next, nil
}

// Message is one SQS record of a Lambda event.
type Message struct {
	MessageID string
	Unit      Unit
	Err       error // the body is not a valid unit
}

// ErrNotSQS is returned by ParseSQSEvent for any other event.
var ErrNotSQS = errors.New("not an SQS event")

// ParseSQSEvent reads the units of an SQS event (Lambda's event source
// mapping: {"Records": [{"eventSource": "aws:sqs", "body": ...}]}). It
// returns ErrNotSQS, and nothing else, for every other event, including a
// CloudTrail log file, which also holds "Records".
func ParseSQSEvent(event []byte) ([]Message, error) {
	var e struct {
		Records []struct {
			EventSource string `json:"eventSource"`
			MessageID   string `json:"messageId"`
			Body        string `json:"body"`
		} `json:"Records"`
	}
	if json.Unmarshal(event, &e) != nil || len(e.Records) == 0 {
		return nil, ErrNotSQS
	}
	var messages []Message
	for _, r := range e.Records {
		if r.EventSource != "aws:sqs" {
			return nil, ErrNotSQS
		}
		m := Message{MessageID: r.MessageID}
		if err := json.Unmarshal([]byte(r.Body), &m.Unit); err != nil {
			m.Err = fmt.Errorf("message %s: not a sweep unit: %w", r.MessageID, err)
		} else if err := m.Unit.Validate(); err != nil {
			m.Err = fmt.Errorf("message %s: %w", r.MessageID, err)
		}
		messages = append(messages, m)
	}
	return messages, nil
}
