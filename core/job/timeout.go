package job

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// DefaultTimeout is what a zero timeout means (LAVA's ACTION_TIMEOUT).
const DefaultTimeout = 30 * time.Second

// MaxTimeout bounds every timeout (job, action, connection, queue), in
// whatever unit it is written: a job cannot hold a board for years.
const MaxTimeout = 30 * 24 * time.Hour

// tooLong is the message for a timeout above MaxTimeout.
func tooLong(d time.Duration) string {
	return fmt.Sprintf("timeout too large: %s is over the limit of %d days", d, int(MaxTimeout/(24*time.Hour)))
}

var unitDuration = map[string]time.Duration{
	"days":    24 * time.Hour,
	"hours":   time.Hour,
	"minutes": time.Minute,
	"seconds": time.Second,
}

// ParseTimeout sums a LAVA timeout mapping ({days|hours|minutes|seconds: N},
// optional skip: bool). A zero sum gives DefaultTimeout (30 s), as LAVA does.
// Values may be int, int64 or integral float64.
func ParseTimeout(node map[string]any) (time.Duration, error) {
	keys := make([]string, 0, len(node))
	for k := range node {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var total time.Duration
	for _, k := range keys {
		if k == "skip" {
			if _, ok := node[k].(bool); !ok && node[k] != nil {
				return 0, fmt.Errorf("timeout: skip: expected a boolean, got %T", node[k])
			}
			continue
		}
		unit, ok := unitDuration[k]
		if !ok {
			return 0, fmt.Errorf("timeout: unknown key %q (expected days, hours, minutes or seconds)", k)
		}
		var n int64
		switch x := node[k].(type) {
		case int:
			n = int64(x)
		case int64:
			n = x
		case float64:
			if x != math.Trunc(x) || math.Abs(x) > math.MaxInt64/2 {
				return 0, fmt.Errorf("timeout: %s: %v is not an integer", k, x)
			}
			n = int64(x)
		default:
			return 0, fmt.Errorf("timeout: %s: expected an integer, got %T", k, node[k])
		}
		if n < 0 {
			return 0, fmt.Errorf("timeout: %s: %d is negative", k, n)
		}
		d, err := mulDuration(n, unit)
		if err != nil {
			return 0, fmt.Errorf("timeout: %s: %w", k, err)
		}
		if total > math.MaxInt64-d {
			return 0, fmt.Errorf("timeout: too large")
		}
		total += d
	}
	if total == 0 {
		return DefaultTimeout, nil
	}
	if total > MaxTimeout {
		return 0, fmt.Errorf("timeout: %s", tooLong(total))
	}
	return total, nil
}

func mulDuration(n int64, unit time.Duration) (time.Duration, error) {
	if n > int64(math.MaxInt64/unit) {
		return 0, fmt.Errorf("%d is too large", n)
	}
	return time.Duration(n) * unit, nil
}
