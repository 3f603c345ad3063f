package site

import (
	"fmt"
	"strings"
)

// Suggest returns the option closest to word when it is close enough to be
// a likely typo, else "".
func Suggest(word string, options []string) string {
	best, bestD := "", 1<<30
	if len(word) > 100 {
		return ""
	}
	w := strings.ToLower(word)
	for _, o := range options {
		d := distance(w, strings.ToLower(o))
		if d < bestD {
			best, bestD = o, d
		}
	}
	limit := len(word)/3 + 1
	if limit > 3 {
		limit = 3
	}
	if bestD <= limit {
		return best
	}
	return ""
}

// didYouMean formats a suggestion as a fix, or lists the options.
func didYouMean(word string, options []string) string {
	if s := Suggest(word, options); s != "" {
		return "did you mean " + s + "?"
	}
	if len(options) > 8 {
		return "use one of: " + strings.Join(options[:8], ", ") + fmt.Sprintf(", … (%d in all)", len(options))
	}
	return "use one of: " + strings.Join(options, ", ")
}

// distance is the Levenshtein edit distance.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
