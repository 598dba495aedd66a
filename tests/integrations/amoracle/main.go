// Command amoracle answers, with Alertmanager's own timeinterval package, whether time
// intervals contain instants: the oracle of tests/integrations/test_timeintervals.py.
//
// Standard input: {"cases": [{"interval": "<YAML of one time interval>",
// "instants": ["<RFC 3339>", ...]}, ...]}. Standard output: {"results": [{"error": "...",
// "contains": [true, ...]}, ...]}, one result per case, in order.
package main

import (
	"encoding/json"
	"os"
	"time"

	"github.com/prometheus/alertmanager/timeinterval"
	"gopkg.in/yaml.v2"
)

type testCase struct {
	Interval string   `json:"interval"`
	Instants []string `json:"instants"`
}

type result struct {
	Error    string `json:"error,omitempty"`
	Contains []bool `json:"contains"`
}

func answer(c testCase) result {
	var ti timeinterval.TimeInterval
	if err := yaml.UnmarshalStrict([]byte(c.Interval), &ti); err != nil {
		return result{Error: err.Error(), Contains: []bool{}}
	}
	out := result{Contains: make([]bool, 0, len(c.Instants))}
	for _, text := range c.Instants {
		t, err := time.Parse(time.RFC3339, text)
		if err != nil {
			return result{Error: err.Error(), Contains: []bool{}}
		}
		out.Contains = append(out.Contains, ti.ContainsTime(t))
	}
	return out
}

func main() {
	var in struct {
		Cases []testCase `json:"cases"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(2)
	}
	results := make([]result, 0, len(in.Cases))
	for _, c := range in.Cases {
		results = append(results, answer(c))
	}
	if err := json.NewEncoder(os.Stdout).Encode(map[string][]result{"results": results}); err != nil {
		os.Exit(2)
	}
}
