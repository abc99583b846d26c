package policy

import "strings"

// entryKind is what an AWS principal entry names, read as IAM documents it.
type entryKind uint8

const (
	// unreadableEntry names at most one principal, which this package cannot
	// place: a bogus partition, a region where IAM has none, a wrong shape.
	unreadableEntry  entryKind = iota
	bareAccountEntry           // 111122223333: the whole account, in the policy's partition
	rootEntry                  // arn:P:iam::111122223333:root: the whole account, in partition P
	memberEntry                // arn:P:iam::111122223333:role/x, arn:P:sts::...: one principal of the account
)

// awsEntry is one entry of a Principal's AWS list, taken apart once.
type awsEntry struct {
	text      string
	kind      entryKind
	partition string // of an ARN entry
	account   string
	service   string // iam or sts, for an ARN entry
	resource  string // after the account, for an ARN entry
}

func readAWSEntry(text string) awsEntry {
	e := awsEntry{text: text}
	if isAccountID(text) {
		e.kind, e.account = bareAccountEntry, text
		return e
	}
	parts := strings.SplitN(text, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[3] != "" || !isAccountID(parts[4]) || parts[5] == "" {
		return e
	}
	e.partition, e.service, e.account, e.resource = parts[1], parts[2], parts[4], parts[5]
	switch {
	case e.service == "iam" && e.resource == "root":
		e.kind = rootEntry
	case e.service == "iam" || e.service == "sts":
		e.kind = memberEntry
	}
	return e
}

func readAWSEntries(list []string) []awsEntry {
	out := make([]awsEntry, len(list))
	for i, text := range list {
		out[i] = readAWSEntry(text)
	}
	return out
}

// wholeAccountIn returns the account the entry names in full, read in the
// given partition: only a bare account ID and that partition's root ARN do.
func (e awsEntry) wholeAccountIn(partition string) (string, bool) {
	if e.kind == bareAccountEntry || e.kind == rootEntry && e.partition == partition {
		return e.account, true
	}
	return "", false
}

// accountIn returns the account whose principals are all the entry may
// name, read in the given partition.
func (e awsEntry) accountIn(partition string) (string, bool) {
	if e.kind == bareAccountEntry || e.kind != unreadableEntry && e.partition == partition {
		return e.account, true
	}
	return "", false
}

// principalIndex holds what an outer Principal element (a template Allow's,
// a policy Deny's) surely names, in one partition, for lookups in constant
// time: a policy may list hundreds of principals on both sides.
type principalIndex struct {
	accounts     map[string]bool // named whole in the partition
	bareAccounts map[string]bool // named by a bare ID: whole, in any partition a caller may come from
	entries      map[string]bool // AWS entries placed in the partition, and "Service\x00name" etc.
}

// newPrincipalIndex reads outer narrowly: an AWS entry it cannot place in
// the partition covers nobody.
func newPrincipalIndex(p Principal, entries []awsEntry, partition string) *principalIndex {
	idx := &principalIndex{accounts: map[string]bool{}, bareAccounts: map[string]bool{}, entries: map[string]bool{}}
	for _, e := range entries {
		if account, ok := e.wholeAccountIn(partition); ok {
			idx.accounts[account] = true
		}
		if e.kind == bareAccountEntry {
			idx.bareAccounts[e.account] = true
		}
		if _, ok := e.accountIn(partition); ok {
			idx.entries[e.text] = true
		}
	}
	for _, kind := range otherPrincipalKinds(p) {
		for _, v := range kind.list {
			idx.entries[kind.name+"\x00"+v] = true
		}
	}
	return idx
}

type principalKind struct {
	name string
	list []string
}

func otherPrincipalKinds(p Principal) []principalKind {
	return []principalKind{{"Service", p.Service}, {"Federated", p.Federated}, {"CanonicalUser", p.CanonicalUser}}
}

// takesIn reports, soundly, whether every caller the inner element names is
// named by the indexed one. An inner AWS entry that cannot be placed is
// taken in by "*" only, which the caller has ruled out; a bare account ID,
// which names the account whatever partition the caller is in, only by the
// same bare ID.
func (idx *principalIndex) takesIn(inner Principal, entries []awsEntry, partition string) bool {
	for _, e := range entries {
		if e.kind == bareAccountEntry {
			if !idx.bareAccounts[e.account] {
				return false
			}
			continue
		}
		account, placed := e.accountIn(partition)
		if !placed || !idx.accounts[account] && !idx.entries[e.text] {
			return false
		}
	}
	for _, kind := range otherPrincipalKinds(inner) {
		for _, v := range kind.list {
			if !idx.entries[kind.name+"\x00"+v] {
				return false
			}
		}
	}
	return true
}

// awsPrincipalCovers reports whether a principal entry takes in the caller,
// as IAM documents it: the caller itself; an account (a bare ID, or the root
// ARN of the caller's partition) all of its identities; a role its sessions,
// whose STS ARNs drop the role's path.
func awsPrincipalCovers(entry awsEntry, caller string) bool {
	if entry.text == caller {
		return true
	}
	c := readAWSEntry(caller)
	partition := c.partition
	if c.kind == bareAccountEntry {
		partition = entry.partition // a bare ID as the caller stands for its account in any partition
	}
	if account, ok := entry.wholeAccountIn(partition); ok {
		return c.account == account
	}
	if entry.kind != memberEntry || c.kind != memberEntry || entry.partition != c.partition || entry.account != c.account ||
		entry.service != "iam" || c.service != "sts" {
		return false
	}
	role, isRole := strings.CutPrefix(entry.resource, "role/")
	session, isSession := strings.CutPrefix(c.resource, "assumed-role/")
	if !isRole || !isSession {
		return false
	}
	roleName := role[strings.LastIndexByte(role, '/')+1:]
	sessionRole, _, _ := strings.Cut(session, "/")
	return sessionRole == roleName
}

// documentPartition is the partition every ARN of the document names (its
// resources and principals), or "" when they name none or several; then only
// bare account IDs name a whole account.
func documentPartition(d *Document) string {
	partition := ""
	note := func(arn string) bool {
		parts := strings.SplitN(arn, ":", 3)
		if len(parts) < 3 || parts[0] != "arn" {
			return true
		}
		if partition != "" && parts[1] != partition || strings.ContainsAny(parts[1], "*?$") {
			partition = ""
			return false
		}
		partition = parts[1]
		return true
	}
	for _, st := range d.statements {
		for _, list := range [][]string{st.Resource.Values, st.Principal.AWS} {
			for _, v := range list {
				if !note(v) {
					return ""
				}
			}
		}
	}
	return partition
}
