package metrics

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Namespace is vpce-guard's CloudWatch namespace.
const Namespace = "vpce-guard"

// UnitCount is the unit of every counter.
const UnitCount = "Count"

// Value is one metric's value in a record.
type Value struct {
	Name  string
	Value float64
	Unit  string // e.g. UnitCount; empty for none
}

// Dimension is a dimension's name and value.
type Dimension struct{ Name, Value string }

// Writer writes EMF records to an io.Writer, one line each. It is safe for
// concurrent use: a record is written with a single Write call under a lock,
// so lines never interleave with each other.
type Writer struct {
	namespace string
	now       func() time.Time

	mu  sync.Mutex
	out io.Writer
}

// NewWriter returns a Writer for namespace. now may be nil for time.Now.
func NewWriter(out io.Writer, namespace string, now func() time.Time) *Writer {
	if now == nil {
		now = time.Now
	}
	return &Writer{out: out, namespace: namespace, now: now}
}

// Write writes one record holding values under the one set of dimensions.
func (w *Writer) Write(dimensions []Dimension, values []Value) error {
	if len(values) == 0 {
		return errors.New("metrics: a record needs at least one value")
	}
	// EMF puts the dimension and metric values at the top level of the object,
	// next to the _aws metadata that names them.
	record := make(map[string]any, 1+len(dimensions)+len(values))
	names := make([]string, 0, len(dimensions))
	for _, d := range dimensions {
		if err := w.claim(record, d.Name); err != nil {
			return err
		}
		record[d.Name] = d.Value
		names = append(names, d.Name)
	}
	defs := make([]metricDefinition, 0, len(values))
	for _, v := range values {
		if err := w.claim(record, v.Name); err != nil {
			return err
		}
		record[v.Name] = v.Value
		defs = append(defs, metricDefinition{Name: v.Name, Unit: v.Unit})
	}
	record["_aws"] = metadata{
		Timestamp: w.now().UnixMilli(),
		CloudWatchMetrics: []directive{{
			Namespace:  w.namespace,
			Dimensions: [][]string{names},
			Metrics:    defs,
		}},
	}
	line, err := json.Marshal(record)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	line = append(line, '\n')
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err = w.out.Write(line)
	return err
}

// claim refuses a name used twice in a record, which EMF cannot express.
func (w *Writer) claim(record map[string]any, name string) error {
	if name == "" || name == "_aws" {
		return fmt.Errorf("metrics: invalid name %q", name)
	}
	if _, taken := record[name]; taken {
		return fmt.Errorf("metrics: %q is used twice in one record", name)
	}
	return nil
}

type metadata struct {
	Timestamp         int64       `json:"Timestamp"`
	CloudWatchMetrics []directive `json:"CloudWatchMetrics"`
}

type directive struct {
	Namespace  string             `json:"Namespace"`
	Dimensions [][]string         `json:"Dimensions"`
	Metrics    []metricDefinition `json:"Metrics"`
}

type metricDefinition struct {
	Name string `json:"Name"`
	Unit string `json:"Unit,omitempty"`
}
