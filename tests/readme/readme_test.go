// Package readme_test runs the commands the documentation shows as runnable
// offline, so that every one of them still runs as written.
//
// A fenced code block whose info string is exactly "sh offline" is a bash
// script, run with errexit, nounset and pipefail in an empty directory of
// its own, with the freshly built binary on PATH as vpce-guard: every
// command must succeed, and a command whose non-zero status is the point
// says which status, as in `vpce-guard check ... || test $? -eq 1`. A block
// directly followed by a fenced block whose info string is "output" must
// print exactly that, standard output and standard error together.
// tests/README.md says which blocks may be marked so.
package readme_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpce-guard/vpce-guard/tests/emulator"
)

// documents are the files whose "sh offline" blocks are run, relative to
// the repository's root, which is two levels up from this package.
var documents = []string{"README.md", "tests/README.md"}

const (
	runnable   = "sh offline"
	outputInfo = "output"
	// blockTimeout only stops a block that hangs; a block takes well under a
	// second.
	blockTimeout = 2 * time.Minute
)

// block is a runnable block: where it starts, its script, and the output
// the document says it prints, if it says so.
type block struct {
	file      string
	line      int // of the opening fence, from 1
	script    string
	output    string
	hasOutput bool
}

func (b block) String() string { return fmt.Sprintf("%s:%d", b.file, b.line) }

// fence is one fenced code block of a Markdown document.
type fence struct {
	line     int // of the opening fence, from 1
	end      int // of the closing fence
	info     string
	contents string
}

// fences returns the fenced code blocks of a Markdown document: an opening
// line of three or more backticks (indented or not, inside a list item),
// its info string, and the lines up to a closing line of at least as many
// backticks, with the opening fence's indentation taken off each.
func fences(text string) ([]fence, error) {
	lines := strings.Split(text, "\n")
	var found []fence
	for i := 0; i < len(lines); i++ {
		indent, ticks, info, ok := fenceLine(lines[i])
		if !ok {
			continue
		}
		f := fence{line: i + 1, info: info}
		var body []string
		closed := false
		for i++; i < len(lines); i++ {
			if _, n, rest, ok := fenceLine(lines[i]); ok && n >= ticks && rest == "" {
				closed = true
				break
			}
			body = append(body, strings.TrimPrefix(lines[i], indent))
		}
		if !closed {
			return nil, fmt.Errorf("line %d: the code block is never closed", f.line)
		}
		f.end = i + 1
		f.contents = strings.Join(body, "\n") + "\n"
		found = append(found, f)
	}
	return found, nil
}

// fenceLine reads a line that opens or closes a backtick fence.
func fenceLine(line string) (indent string, ticks int, info string, ok bool) {
	rest := strings.TrimLeft(line, " ")
	indent = line[:len(line)-len(rest)]
	for ticks < len(rest) && rest[ticks] == '`' {
		ticks++
	}
	if ticks < 3 {
		return "", 0, "", false
	}
	return indent, ticks, strings.TrimSpace(rest[ticks:]), true
}

// blocks returns the runnable blocks of a document, each with its output
// block when the next thing after it is one. A block that looks runnable
// but is not marked exactly so, or an output block after anything but a
// runnable block, is an error: it would silently not be checked.
func blocks(file, text string) ([]block, error) {
	all, err := fences(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	lines := strings.Split(text, "\n")
	var found []block
	for i, f := range all {
		switch {
		case f.info == runnable:
			b := block{file: file, line: f.line, script: f.contents}
			if i+1 < len(all) && all[i+1].info == outputInfo && onlyBlank(lines[f.end:all[i+1].line-1]) {
				b.output, b.hasOutput = all[i+1].contents, true
			}
			found = append(found, b)
		case f.info == outputInfo:
			if i == 0 || all[i-1].info != runnable || !onlyBlank(lines[all[i-1].end:f.line-1]) {
				return nil, fmt.Errorf("%s:%d: an %q block that does not follow a %q block", file, f.line, outputInfo, runnable)
			}
		case strings.Contains(f.info, "offline"):
			return nil, fmt.Errorf("%s:%d: info string %q: a runnable block's is exactly %q", file, f.line, f.info, runnable)
		}
	}
	return found, nil
}

func onlyBlank(lines []string) bool {
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			return false
		}
	}
	return true
}

// The extraction itself: fences in lists and of four backticks, outputs that
// belong to their block, and the mistakes that would leave a block unchecked.
func TestBlocks(t *testing.T) {
	t.Parallel()
	const doc = "text\n\n```sh offline\necho one\n```\n\n```output\none\n```\n\n" +
		"1. a step\n\n   ```sh offline\n   echo two\n   ```\n\n" +
		"````markdown\n```sh offline\nnot a block of its own\n```\n````\n\n" +
		"```sh\nmake demo\n```\n"
	got, err := blocks("doc.md", doc)
	if err != nil {
		t.Fatal(err)
	}
	want := []block{
		{file: "doc.md", line: 3, script: "echo one\n", output: "one\n", hasOutput: true},
		{file: "doc.md", line: 13, script: "echo two\n"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("blocks =\n%#v\nwant\n%#v", got, want)
	}

	for name, bad := range map[string]string{
		"misspelt info string": "```sh  offline\necho\n```\n",
		"another shell":        "```bash offline\necho\n```\n",
		"output alone":         "```sh\necho\n```\n\n```output\n\n```\n",
		"output after text":    "```sh offline\necho\n```\ntext\n```output\n\n```\n",
		"never closed":         "```sh offline\necho\n",
	} {
		if _, err := blocks("doc.md", bad); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// Every block the documentation marks "sh offline" runs as written.
func TestCommandsRunAsWritten(t *testing.T) {
	t.Parallel()
	var all []block
	for _, file := range documents {
		text, err := os.ReadFile(filepath.Join("..", "..", file))
		if err != nil {
			t.Fatal(err)
		}
		found, err := blocks(file, string(text))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, found...)
	}
	if len(all) == 0 {
		t.Fatalf("no %q block in %v: the test would check nothing", runnable, documents)
	}

	binary, ok, err := emulator.Prebuilt(emulator.EnvBootstrap)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		if os.Getenv(emulator.EnvRequireEmulators) == "1" {
			t.Fatalf("%s is not set (%s=1: these tests must run; make test-binaries builds the binary)", emulator.EnvBootstrap, emulator.EnvRequireEmulators)
		}
		t.Skipf("%s is not set: make test-binaries builds the binary, make test runs this test with it", emulator.EnvBootstrap)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		if os.Getenv(emulator.EnvRequireEmulators) == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	// The binary answers to its name: vpce-guard, first on PATH.
	bin := t.TempDir()
	if err := os.Symlink(binary, filepath.Join(bin, "vpce-guard")); err != nil {
		t.Fatal(err)
	}

	for _, b := range all {
		t.Run(b.String(), func(t *testing.T) {
			t.Parallel()
			out, err := run(t, bash, bin, b.script)
			if err != nil {
				t.Fatalf("%s: %v\nscript:\n%s\noutput:\n%s", b, err, b.script, out)
			}
			if b.hasOutput && out != b.output {
				t.Errorf("%s prints\n%s\nthe output block after it says\n%s", b, out, b.output)
			}
		})
	}
}

// run runs script with bash in a new empty directory, with bin first on
// PATH and no AWS configuration: a command that reached for AWS would fail.
func run(t *testing.T, bash, bin, script string) (string, error) {
	ctx, cancel := context.WithTimeout(t.Context(), blockTimeout)
	defer cancel()
	dir := t.TempDir()
	cmd := exec.CommandContext(ctx, bash, "--noprofile", "--norc", "-e", "-u", "-o", "pipefail", "-c", script)
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + dir,
		"LC_ALL=C.UTF-8",
		"AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL=http://127.0.0.1:9",
	}
	cmd.WaitDelay = 10 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("still running after %v: %w", blockTimeout, ctx.Err())
	}
	return out.String(), err
}
