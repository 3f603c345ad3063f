package engine

import (
	"errors"
	"fmt"
)

// HintError carries what the user can do about an error.
type HintError struct {
	Err  error
	Hint string
}

func (e *HintError) Error() string { return e.Err.Error() }
func (e *HintError) Unwrap() error { return e.Err }

// WithHint wraps err with advice for the user; nil stays nil.
func WithHint(err error, hint string, args ...any) error {
	if err == nil {
		return nil
	}
	return &HintError{Err: err, Hint: fmt.Sprintf(hint, args...)}
}

// HintOf returns the first hint found in err's chain, or "".
func HintOf(err error) string {
	var h *HintError
	if errors.As(err, &h) {
		return h.Hint
	}
	return ""
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
