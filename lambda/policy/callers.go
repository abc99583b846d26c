package policy

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// callerIndex is a Principal element taken apart for lookups in constant
// time, read one way: whom it names, as IAM documents it, or with every
// root ARN read as its bare account ID (iam-simulate's reading).
type callerIndex struct {
	present, not, any bool
	texts             map[string]bool    // AWS entries as written
	bare              map[string]bool    // accounts named in every partition
	roots             map[[2]string]bool // (partition, account) named by a root ARN
	rootAccounts      map[string]bool    // accounts of those roots, for a bare ID as the caller
	roles             map[[3]string]bool // (partition, account, role name): the role's sessions
	others            map[string]bool    // Service, Federated and CanonicalUser names
}

func newCallerIndex(p Principal, rootsAsAccounts bool) *callerIndex {
	x := &callerIndex{present: p.Present, not: p.Not, any: p.Any,
		texts: map[string]bool{}, bare: map[string]bool{}, roots: map[[2]string]bool{},
		rootAccounts: map[string]bool{}, roles: map[[3]string]bool{}, others: map[string]bool{}}
	for _, text := range p.AWS {
		e := readAWSEntry(text)
		x.texts[text] = true
		switch {
		case e.kind == bareAccountEntry, e.kind == rootEntry && rootsAsAccounts:
			x.bare[e.account] = true
		case e.kind == rootEntry:
			x.roots[[2]string{e.partition, e.account}] = true
			x.rootAccounts[e.account] = true
		case e.kind == memberEntry && e.service == "iam" && strings.HasPrefix(e.resource, "role/"):
			x.roles[[3]string{e.partition, e.account, e.resource[strings.LastIndexByte(e.resource, '/')+1:]}] = true
		}
	}
	for _, kind := range otherPrincipalKinds(p) {
		for _, v := range kind.list {
			x.others[v] = true
		}
	}
	return x
}

// applies reports whether the statement applies to the caller, read as
// readAWSEntry reads it; absentMeansNobody reads a statement without a
// Principal as applying to no one instead of everyone.
func (x *callerIndex) applies(caller awsEntry, absentMeansNobody bool) bool {
	if !x.present {
		return !absentMeansNobody
	}
	named := x.any || x.names(caller)
	return named != x.not
}

// names follows awsPrincipalCovers: the caller itself; an account all of
// its identities (a bare ID in any partition, a root ARN in its own); a
// role its sessions, whose STS ARNs drop the role's path.
func (x *callerIndex) names(c awsEntry) bool {
	if c.text == "" {
		return false // anonymous: only "*" names it
	}
	if x.texts[c.text] || x.others[c.text] {
		return true
	}
	if c.kind == bareAccountEntry { // a bare ID as the caller stands for its account in any partition
		return x.bare[c.account] || x.rootAccounts[c.account]
	}
	if c.account != "" && (x.bare[c.account] || x.roots[[2]string{c.partition, c.account}]) {
		return true
	}
	if session, ok := strings.CutPrefix(c.resource, "assumed-role/"); ok && c.kind == memberEntry && c.service == "sts" {
		role, _, _ := strings.Cut(session, "/")
		return x.roles[[3]string{c.partition, c.account, role}]
	}
	return false
}

// witnessName names the principals and resources the check makes up.
const witnessName = "vpce-guard-witness"

// callers are the principals the exact check tries, one at least for each
// class of callers that the Principal elements of both documents tell
// apart: each AWS entry as a caller, a session of each role, a made-up
// identity of each account named (and of one more) in each partition named
// (and in one more), each account as a bare ID, each other name and one
// more, and an anonymous caller. Whatever a caller is, one of these is
// named by exactly the same elements. They are in the order witnesses take
// them: made-up roles of the template's partition first.
type callers struct {
	list []awsEntry
}

func newCallers(partition string, docs ...*Document) *callers {
	var entries []awsEntry
	var names []string // every principal named, as written
	accounts := []string{}
	partitions := []string{cmpOr(partition, "aws"), "aws", "aws-cn", "aws-us-gov"}
	for _, d := range docs {
		for _, st := range d.statements {
			for _, text := range st.Principal.AWS {
				e := readAWSEntry(text)
				entries, names = append(entries, e), append(names, text)
				if e.account != "" {
					accounts = append(accounts, e.account)
				}
				if e.partition != "" {
					partitions = append(partitions, e.partition)
				}
			}
			for _, kind := range otherPrincipalKinds(st.Principal) {
				names = append(names, kind.list...)
			}
		}
	}
	// The made-up names must be named by nothing, or they would stand for
	// no one but themselves.
	named := func(s string) bool {
		for _, n := range names {
			if strings.Contains(n, s) {
				return true
			}
		}
		return false
	}
	name := fresh(witnessName, named)
	account := fresh("999999999999", func(a string) bool { return slices.Contains(accounts, a) })
	accounts = uniqueInOrder(append([]string{account}, accounts...))
	partitions = uniqueInOrder(partitions)
	partitions = append(partitions, fresh("aws-iso", func(p string) bool { return slices.Contains(partitions, p) }))

	seen := map[string]bool{}
	c := &callers{}
	add := func(text string) {
		if !seen[text] {
			seen[text] = true
			c.list = append(c.list, readAWSEntry(text))
		}
	}
	for _, p := range partitions {
		for _, a := range accounts {
			add("arn:" + p + ":iam::" + a + ":role/" + name)
		}
	}
	for _, e := range entries {
		add(e.text)
		if e.kind == memberEntry && e.service == "iam" && strings.HasPrefix(e.resource, "role/") {
			add("arn:" + e.partition + ":sts::" + e.account + ":assumed-role/" + e.resource[strings.LastIndexByte(e.resource, '/')+1:] + "/" + name)
		}
	}
	for _, a := range accounts {
		add(a)
	}
	for _, n := range names {
		add(n)
	}
	add(name + ".amazonaws.com")
	add("")
	return c
}

// fresh is base, or base with a number after it, such that taken is false.
// Numbers keep the shape of an account ID: 999999999999, 999999999998, ...
func fresh(base string, taken func(string) bool) string {
	s := base
	for i := 1; taken(s); i++ {
		if isAccountID(base) {
			s = fmt.Sprintf("%012d", 999999999999-i)
		} else {
			s = fmt.Sprintf("%s-%d", base, i)
		}
	}
	return s
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func uniqueInOrder(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// bitset is a set of small numbers: callers, known actions.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, n/64+1) }

func (b bitset) add(i int)      { b[i/64] |= 1 << (i % 64) }
func (b bitset) has(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }

func (b bitset) and(o bitset) bitset {
	out := slices.Clone(b)
	for i := range out {
		out[i] &= o[i]
	}
	return out
}

func (b bitset) andNot(o bitset) bitset {
	out := slices.Clone(b)
	for i := range out {
		out[i] &^= o[i]
	}
	return out
}

func (b bitset) empty() bool {
	for _, w := range b {
		if w != 0 {
			return false
		}
	}
	return true
}

// first is the smallest member, -1 for none.
func (b bitset) first() int {
	for i, w := range b {
		if w != 0 {
			return i*64 + bits.TrailingZeros64(w)
		}
	}
	return -1
}
