// Package fakesecurityhub is an in-memory Security Hub of one account and
// region for tests: BatchImportFindings and BatchUpdateFindings as AWS
// documents them for findings of the default product, and failures on
// demand.
//
// Like AWS, an import of an existing finding replaces what its provider
// controls but keeps its workflow, which only BatchUpdateFindings changes,
// and an import older than the finding (UpdatedAt) is ignored.
package fakesecurityhub

import (
	"context"
	"fmt"
	"sync"

	"github.com/vpce-guard/vpce-guard/lambda/findings"
	"github.com/vpce-guard/vpce-guard/lambda/securityhub"
)

// Hub is the fake. Set its failure fields before the calls they apply to;
// it is safe for concurrent use.
type Hub struct {
	// ImportErr fails every BatchImportFindings call; UpdateErr every
	// BatchUpdateFindings call.
	ImportErr error
	UpdateErr error
	// Refuse lists finding IDs BatchImportFindings reports failed, with the
	// error code. Unprocessed does the same for BatchUpdateFindings.
	Refuse      map[string]string
	Unprocessed map[string]string

	mu       sync.Mutex
	imports  [][]securityhub.AwsSecurityFinding
	updates  []*securityhub.BatchUpdateFindingsInput
	findings map[string]securityhub.AwsSecurityFinding
}

// New returns an empty Hub.
func New() *Hub { return &Hub{findings: map[string]securityhub.AwsSecurityFinding{}} }

// BatchImportFindings stores the findings it is not told to refuse.
func (h *Hub) BatchImportFindings(_ context.Context, in *securityhub.BatchImportFindingsInput) (*securityhub.BatchImportFindingsOutput, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.imports = append(h.imports, in.Findings)
	if h.ImportErr != nil {
		return nil, h.ImportErr
	}
	out := &securityhub.BatchImportFindingsOutput{}
	for _, f := range in.Findings {
		id := f.ID
		if code, refused := h.Refuse[id]; refused {
			out.FailedFindings = append(out.FailedFindings, securityhub.ImportFindingsError{ID: f.ID, ErrorCode: code, ErrorMessage: "refused by the fake"})
			continue
		}
		if old, ok := h.findings[id]; ok {
			if f.UpdatedAt < old.UpdatedAt {
				continue // AWS ignores an update older than the finding
			}
			f.Workflow = old.Workflow
		} else if f.Workflow == nil {
			f.Workflow = &securityhub.Workflow{Status: securityhub.WorkflowStatusNew}
		}
		h.findings[id] = f
	}
	out.FailedCount = len(out.FailedFindings)
	out.SuccessCount = len(in.Findings) - len(out.FailedFindings)
	return out, nil
}

// BatchUpdateFindings sets the workflow and note of the findings named.
func (h *Hub) BatchUpdateFindings(_ context.Context, in *securityhub.BatchUpdateFindingsInput) (*securityhub.BatchUpdateFindingsOutput, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.updates = append(h.updates, in)
	if h.UpdateErr != nil {
		return nil, h.UpdateErr
	}
	out := &securityhub.BatchUpdateFindingsOutput{}
	for _, ident := range in.FindingIdentifiers {
		id := ident.ID
		f, ok := h.findings[id]
		code, unprocessed := h.Unprocessed[id]
		if !ok && !unprocessed {
			code, unprocessed = "FindingNotFound", true
		}
		if unprocessed {
			out.UnprocessedFindings = append(out.UnprocessedFindings, securityhub.BatchUpdateFindingsUnprocessedFinding{
				FindingIdentifier: &ident, ErrorCode: code, ErrorMessage: "left by the fake"})
			continue
		}
		if in.Workflow != nil {
			f.Workflow = &securityhub.Workflow{Status: in.Workflow.Status}
		}
		if in.Note != nil {
			f.Note = &securityhub.Note{Text: in.Note.Text, UpdatedBy: in.Note.UpdatedBy}
		}
		h.findings[id] = f
		out.ProcessedFindings = append(out.ProcessedFindings, ident)
	}
	return out, nil
}

// Finding returns the stored finding with id.
func (h *Hub) Finding(id string) (securityhub.AwsSecurityFinding, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f, ok := h.findings[id]
	return f, ok
}

// Findings is how many findings are stored.
func (h *Hub) Findings() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.findings)
}

// Imports returns the findings of every BatchImportFindings call, in order.
func (h *Hub) Imports() [][]securityhub.AwsSecurityFinding {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]securityhub.AwsSecurityFinding(nil), h.imports...)
}

// Updates returns every BatchUpdateFindings request, in order.
func (h *Hub) Updates() []*securityhub.BatchUpdateFindingsInput {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*securityhub.BatchUpdateFindingsInput(nil), h.updates...)
}

// Hubs is a hub's view of the member accounts' Security Hubs: a fake per
// "ACCOUNT/REGION"; an account without one has no member role. It
// implements findings.Clients.
type Hubs map[string]*Hub

// SecurityHub is the fake of account in region, or the error of an
// AssumeRole the account refuses.
func (h Hubs) SecurityHub(_ context.Context, account, region string) (findings.Client, error) {
	if hub, ok := h[account+"/"+region]; ok {
		return hub, nil
	}
	return nil, fmt.Errorf("assume the member role of account %s: api error AccessDenied", account)
}
