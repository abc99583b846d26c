package policy

import (
	"fmt"
	"strings"
	"sync/atomic"
)

// MaxPolicyLength is the most characters AWS accepts in a VPC endpoint policy.
const MaxPolicyLength = 20480

// The policy language versions AWS accepts. Without a Version, AWS reads a
// policy as 2008-10-17, where ${...} is plain text rather than a variable.
const (
	Version2008 = "2008-10-17"
	Version2012 = "2012-10-17"
)

// Effect is Allow or Deny.
type Effect string

// The two effects a statement can have.
const (
	Allow Effect = "Allow"
	Deny  Effect = "Deny"
)

// Document is a parsed IAM policy.
//
// Treat a Document as read-only once parsed: Parse also compiles its
// patterns, once, for every Check that follows.
type Document struct {
	Version    string // as written; empty when absent
	ID         string
	Statements []Statement

	compiled atomic.Pointer[compiledDocument]
}

// Statement is one entry of a policy's Statement element.
type Statement struct {
	Number     int // position in the document, counted from 1
	Sid        string
	Effect     Effect
	Principal  Principal
	Action     Values // Action, or NotAction when Not is set
	Resource   Values // Resource, or NotResource when Not is set
	Conditions []Condition
}

// Values is the list form of Action/NotAction and Resource/NotResource.
type Values struct {
	Not    bool // NotAction / NotResource
	Values []string
}

// Principal is the Principal or NotPrincipal element.
type Principal struct {
	Present bool // the statement names a Principal or NotPrincipal
	Not     bool // NotPrincipal
	// Any is "*" or {"AWS": "*"}: every principal, of every account.
	Any bool
	// AWS holds account IDs and IAM ARNs; Service, Federated and CanonicalUser the other kinds.
	AWS, Service, Federated, CanonicalUser []string
}

// Condition is one key of one operator of a Condition block.
type Condition struct {
	Operator string // as written, e.g. "ForAnyValue:StringLike"
	Key      string
	Values   []string // booleans and numbers in their JSON spelling
}

// label names the statement for people: `statement 2 ("AllowPut")`.
func (s *Statement) label() string {
	if s.Sid != "" {
		return fmt.Sprintf("statement %d (%q)", s.Number, s.Sid)
	}
	return fmt.Sprintf("statement %d", s.Number)
}

// principalString renders the principal element briefly for reasons.
func (p Principal) String() string {
	if !p.Present {
		return "no principal"
	}
	var parts []string
	if p.Any {
		parts = append(parts, "*")
	}
	for _, kind := range []struct {
		name string
		list []string
	}{{"AWS", p.AWS}, {"Service", p.Service}, {"Federated", p.Federated}, {"CanonicalUser", p.CanonicalUser}} {
		for _, v := range kind.list {
			parts = append(parts, kind.name+":"+v)
		}
	}
	s := strings.Join(parts, ", ")
	if p.Not {
		return "every principal except " + s
	}
	return s
}
