package handler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/vpce-guard/vpce-guard/lambda/cloudtrail"
	"github.com/vpce-guard/vpce-guard/lambda/fanout"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
)

// UnitEventName labels the outcomes of a sweep unit.
const UnitEventName = "SweepUnit"

// fanOut is an organization's scheduled sweep: one unit per member account
// and region, on the queue. Listing the accounts or queueing failing fails
// the invocation, so that Lambda retries the schedule's event.
func (h *Handler) fanOut(ctx context.Context, call cloudtrail.Call, summary *Summary) error {
	s := h.sweep
	accounts, err := fanout.Accounts(ctx, s.Organizations, s.Targets)
	if err != nil {
		return fmt.Errorf("organization sweep: %w", err)
	}
	regions := s.Targets.Regions
	if len(regions) == 0 {
		regions = []string{call.Region}
	}
	units := fanout.Plan(accounts, regions)
	sent, err := fanout.Send(ctx, s.Queue, s.QueueURL, units)
	summary.Units += sent
	h.log.LogAttrs(ctx, slog.LevelInfo, "organization sweep queued",
		slog.String("eventId", call.EventID),
		slog.Int("accounts", len(accounts)),
		slog.Any("regions", regions),
		slog.Int("units", sent))
	if err != nil {
		return fmt.Errorf("organization sweep: %w", err)
	}
	return nil
}

// sweepUnits sweeps the account and region of each unit of an SQS event. A
// unit the cutoff stopped queues its continuation; a unit that fails (its
// account cannot be reached or listed) fails the invocation, so that SQS
// retries it and, after a few tries, moves it to the failure queue.
func (h *Handler) sweepUnits(ctx context.Context, messages []fanout.Message, runIn func(region string) remediate.Run, summary *Summary) []error {
	var errs []error
	for _, m := range messages {
		if m.Err != nil {
			h.log.LogAttrs(ctx, slog.LevelError, "sweep unit dropped", slog.String("messageId", m.MessageID), slog.String("error", m.Err.Error()))
			errs = append(errs, m.Err)
			continue
		}
		u := m.Unit
		origin := remediate.Origin{EventID: m.MessageID, EventName: UnitEventName}
		res, err := h.remediator.SweepUnit(ctx, u.Account, u.Region, u.NextToken, origin, runIn(u.Region))
		h.noteStop(ctx, res, m.MessageID, true, summary)
		if err != nil {
			h.log.LogAttrs(ctx, slog.LevelError, "sweep unit failed",
				slog.String("messageId", m.MessageID), slog.String("account", u.Account), slog.String("region", u.Region),
				slog.String("error", err.Error()))
			errs = append(errs, err)
			continue
		}
		if res.Resume {
			h.continueUnit(ctx, u, res.NextToken, summary)
		}
	}
	return errs
}

// continueUnit queues the unit that goes on where u stopped. When it cannot,
// the unit still succeeds: what it did stands, and the next sweep goes on.
func (h *Handler) continueUnit(ctx context.Context, u fanout.Unit, nextToken string, summary *Summary) {
	next, err := u.Continuation(nextToken)
	if err == nil {
		if h.sweep == nil {
			err = errors.New("this function has no sweep queue to continue on")
		} else {
			var sent int
			sent, err = fanout.Send(ctx, h.sweep.Queue, h.sweep.QueueURL, []fanout.Unit{next})
			summary.Units += sent
		}
	}
	if err != nil {
		h.log.LogAttrs(ctx, slog.LevelWarn, "sweep unit not continued; the next sweep goes on",
			slog.String("account", u.Account), slog.String("region", u.Region), slog.String("error", err.Error()))
		return
	}
	h.log.LogAttrs(ctx, slog.LevelInfo, "sweep unit continues",
		slog.String("account", u.Account), slog.String("region", u.Region),
		slog.Int("part", next.Part), slog.String("nextToken", cmp.Or(next.NextToken, "(the first page)")))
}
