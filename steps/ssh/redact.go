package ssh

import "strings"

const redacted = "[redacted]"

// redact cleans s with Options.Redact and removes the spec's passwords.
// Passwords shorter than 4 characters are left alone, as the secrets
// package does, so that they do not blank out ordinary text.
func (h *Host) redact(s string) string {
	if s == "" {
		return s
	}
	for _, v := range []string{h.spec.SudoPassword, h.spec.Password} {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, redacted)
		}
	}
	if h.opts.Redact != nil {
		s = h.opts.Redact(s)
	}
	return s
}

// redactErr returns err with its message redacted; errors.Is and As still
// see the original chain.
func (h *Host) redactErr(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := h.redact(msg)
	if clean == msg {
		return err
	}
	return &redactedError{msg: clean, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// output wraps a RunOpts.Output callback so every line is redacted.
func (h *Host) output(fn func(string)) func(string) {
	if fn == nil {
		return nil
	}
	return func(line string) { fn(h.redact(line)) }
}
